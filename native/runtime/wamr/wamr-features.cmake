# The WebAssembly features and WAMR build settings the runtime
# (native/runtime/wamr) and the AOT compiler (native/aotc) share: code the
# compiler emits must match what the runtime supports. Each includer then
# sets what differs (interpreter kind, libc-wasi, the log hook).
set(WAMR_ROOT_DIR "${OCRE_WAMR_DIR}")
string(TOLOWER "${CMAKE_SYSTEM_NAME}" WAMR_BUILD_PLATFORM)
# The target architecture (WAMR's invokeNative assembly and AOT relocations):
# OCRE_WAMR_TARGET overrides it; by default it follows the compiler's target
# (CMAKE_SYSTEM_PROCESSOR, set by a cross toolchain), which WAMR's own default
# would get wrong for 32-bit ARM (it picks X86_32 for every 32-bit build).
set(OCRE_WAMR_TARGET "" CACHE STRING "WAMR_BUILD_TARGET: X86_64, AARCH64, ARMV7_VFP (armhf), ARMV7 (armel); empty: from the compiler")
if(OCRE_WAMR_TARGET)
  set(WAMR_BUILD_TARGET "${OCRE_WAMR_TARGET}")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|amd64|AMD64)$")
  set(WAMR_BUILD_TARGET "X86_64")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(WAMR_BUILD_TARGET "AARCH64")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
  # hard-float ABI (Debian armhf) passes floats in VFP registers
  include(CheckSymbolExists)
  check_symbol_exists(__ARM_PCS_VFP "" OCRE_ARM_HARD_FLOAT)
  if(OCRE_ARM_HARD_FLOAT)
    set(WAMR_BUILD_TARGET "ARMV7_VFP")
  else()
    set(WAMR_BUILD_TARGET "ARMV7")
  endif()
else()
  message(FATAL_ERROR "ocre: unsupported processor ${CMAKE_SYSTEM_PROCESSOR} (x86_64, aarch64 and armv7 are); "
                      "set OCRE_WAMR_TARGET to one of WAMR's WAMR_BUILD_TARGET values to try another")
endif()
set(WAMR_BUILD_INTERP 1)
set(WAMR_BUILD_AOT 1)
set(WAMR_BUILD_JIT 0)
set(WAMR_BUILD_FAST_JIT 0)
set(WAMR_BUILD_LIBC_BUILTIN 0)
set(WAMR_BUILD_LIBC_UVWASI 0)
set(WAMR_BUILD_THREAD_MGR 1)
set(WAMR_BUILD_LIB_PTHREAD 0)
set(WAMR_BUILD_SHARED_MEMORY 0)
set(WAMR_BUILD_REF_TYPES 1)
set(WAMR_BUILD_BULK_MEMORY 1)
set(WAMR_BUILD_TAIL_CALL 1)
set(WAMR_BUILD_SIMD 0)
set(WAMR_BUILD_MULTI_MODULE 0)
set(WAMR_BUILD_MINI_LOADER 0)
set(WAMR_BUILD_CUSTOM_NAME_SECTION 0)
set(WAMR_BUILD_DEBUG_INTERP 0)
set(WAMR_BUILD_DEBUG_AOT 0)
# Bounds checks of wasm memory accesses. On 64-bit targets (x86_64, aarch64)
# by hardware: each linear memory is an 8 GiB reservation whose pages past the
# memory's size are inaccessible, so an out-of-bounds access faults and WAMR's
# SIGSEGV handler (patched to chain to the handler installed before it:
# Node's, V8's trap handler) turns it into a trap; AOT code (compiled by
# native/aotc without bounds checks) then checks nothing per access (the fast
# interpreter keeps its compares: faster, patch 0009). Native stack overflow
# stays checked in software (no guard pages or alternate signal stacks on the
# container threads). 32-bit targets, and builds with OCRE_HW_BOUNDS=OFF,
# keep software checks; so do TSan builds (ThreadSanitizer runs signal
# handlers itself; the longjmp out of one was not verified under it). See
# docs/platform.md "Bounds checks".
# Default ON on x86_64 only: aarch64 supports it (-DOCRE_HW_BOUNDS=ON), but
# many ARM gateway kernels have 39-bit virtual addresses (512 GiB), where 8 GiB
# per running container allows only a few dozen; the arm64 prebuilds keep
# software checks.
if(WAMR_BUILD_TARGET STREQUAL "X86_64")
  set(OCRE_HW_BOUNDS_DEFAULT ON)
else()
  set(OCRE_HW_BOUNDS_DEFAULT OFF)
endif()
option(OCRE_HW_BOUNDS "hardware (guard-region) bounds checks on 64-bit targets" ${OCRE_HW_BOUNDS_DEFAULT})
if(OCRE_HW_BOUNDS AND WAMR_BUILD_TARGET MATCHES "^(X86_64|AARCH64)$" AND NOT OCRE_SANITIZE STREQUAL "thread")
  set(WAMR_DISABLE_HW_BOUND_CHECK 0)
  set(WAMR_DISABLE_STACK_HW_BOUND_CHECK 1)
  # Native stack kept free below the software stack checks' limit (WAMR's
  # default is 1 KiB): an out-of-bounds fault, and every exception AOT code
  # raises (WAMR then touches a guard page to unwind), is a signal delivered
  # on the thread's own stack, whose frame takes up to a few KiB (x86_64
  # with AVX-512: 3.4 KiB; AT_MINSIGSTKSZ).
  add_definitions(-DWASM_STACK_GUARD_SIZE=16384)
  # what an AOT artifact's record says, and what the loader requires (aot.c)
  add_definitions(-DOCRE_AOT_BOUNDS="guard")
else()
  set(WAMR_DISABLE_HW_BOUND_CHECK 1)
  add_definitions(-DOCRE_AOT_BOUNDS="software")
endif()

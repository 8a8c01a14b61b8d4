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
# Software bounds checks: WAMR's guard-page mode installs process-wide SIGSEGV
# handlers per thread, which would fight V8's own trap handler inside Node.
set(WAMR_DISABLE_HW_BOUND_CHECK 1)

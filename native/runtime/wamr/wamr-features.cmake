# The WebAssembly features and WAMR build settings the runtime
# (native/runtime/wamr) and the AOT compiler (native/aotc) share: code the
# compiler emits must match what the runtime supports. Each includer then
# sets what differs (interpreter kind, libc-wasi, the log hook).
set(WAMR_ROOT_DIR "${OCRE_WAMR_DIR}")
string(TOLOWER "${CMAKE_SYSTEM_NAME}" WAMR_BUILD_PLATFORM)
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

/* ocre_build_configuration (<ocre/common.h>): what this build is. CMake
 * passes the commit, the build date and the target. */
#include "internal.h"

#include <ocre/common.h>

#ifndef OCRE_COMMIT_ID
#define OCRE_COMMIT_ID "unknown"
#endif
#ifndef OCRE_BUILD_DATE
#define OCRE_BUILD_DATE "unknown"
#endif
#ifndef OCRE_BUILD_TARGET
#define OCRE_BUILD_TARGET "unknown"
#endif

#if defined(__clang__)
#define OCRE_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define OCRE_COMPILER "gcc " __VERSION__
#else
#define OCRE_COMPILER "unknown compiler"
#endif

const struct ocre_config ocre_build_configuration = {
    .version = OCRE_VERSION,
    .commit_id = OCRE_COMMIT_ID,
    .build_info = OCRE_BUILD_TARGET ", " OCRE_COMPILER,
    .build_date = OCRE_BUILD_DATE,
};

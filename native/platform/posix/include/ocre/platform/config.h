/**
 * @file platform/config.h
 * @brief Build-time configuration of the POSIX platform, as Ocre's
 * <ocre/platform/config.h> (CMake puts this platform's include directory on
 * the path). Every value may be overridden with -D at build time.
 */
#ifndef OCRE_PLATFORM_CONFIG_H
#define OCRE_PLATFORM_CONFIG_H

/* The library's own configuration (CONFIG_OCRE_DEFAULT_WORKING_DIRECTORY,
 * stack and heap sizes, limits), kept beside the POSIX sources. */
#include "../../../config.h"

/* Ocre's names for features this build has (1) or not (0). */
#ifndef CONFIG_OCRE_WAMR_INTERPRETER
#define CONFIG_OCRE_WAMR_INTERPRETER 1
#endif
#ifndef CONFIG_OCRE_WAMR_AOT
#define CONFIG_OCRE_WAMR_AOT 1
#endif
#ifndef CONFIG_OCRE_TIMER
#define CONFIG_OCRE_TIMER 1
#endif
#ifndef CONFIG_OCRE_MAX_TIMERS
#define CONFIG_OCRE_MAX_TIMERS 16 /* per container */
#endif
#ifndef CONFIG_OCRE_NETWORKING
#define CONFIG_OCRE_NETWORKING 1
#endif
#ifndef CONFIG_OCRE_FILESYSTEM
#define CONFIG_OCRE_FILESYSTEM 1
#endif
#ifndef CONFIG_OCRE_CONTAINER_MESSAGING
#define CONFIG_OCRE_CONTAINER_MESSAGING 1
#endif
#ifndef CONFIG_OCRE_MESSAGING_MAX_SUBSCRIPTIONS
#define CONFIG_OCRE_MESSAGING_MAX_SUBSCRIPTIONS 16 /* per container */
#endif
/* The compile-time ceiling of the LOG_* macros (4: all); the run-time level
 * is ocre_log_set_level() / __ocre_log_level. */
#ifndef CONFIG_OCRE_LOG_LEVEL
#define CONFIG_OCRE_LOG_LEVEL 4
#endif

#endif

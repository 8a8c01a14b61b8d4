/**
 * @file platform/log.h
 * @brief Zephyr-style logging with a pluggable sink and a runtime level.
 *
 * In a C file:
 *
 *     #include <ocre/platform/log.h>
 *     LOG_MODULE_REGISTER(container);      // once per module (or LOG_MODULE_DECLARE);
 *                                          // Ocre's (name, level) form is accepted too
 *     ...
 *     LOG_WRN("container %s: %s", id, why);
 *
 * A record below the current level costs one comparison: the arguments are
 * not evaluated into text. Records at or above the level are formatted once
 * (at most OCRE_LOG_MAX_MESSAGE bytes) and handed to the sink.
 */
#ifndef OCRE_PLATFORM_LOG_H
#define OCRE_PLATFORM_LOG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Levels, most severe first (Zephyr numbering). */
typedef enum {
	OCRE_LOG_LEVEL_NONE = 0,
	OCRE_LOG_LEVEL_ERR = 1,
	OCRE_LOG_LEVEL_WRN = 2,
	OCRE_LOG_LEVEL_INF = 3,
	OCRE_LOG_LEVEL_DBG = 4,
} ocre_log_level_t;

#define OCRE_LOG_MAX_MESSAGE 1024

/** One log record. Valid only during the sink call: copy what you keep. */
struct ocre_log_record {
	ocre_log_level_t level;
	const char *module;  /**< the registered module name */
	const char *message; /**< formatted text, no trailing newline */
	uint64_t time_ms;    /**< wall clock, milliseconds since the Unix epoch */
};

/**
 * A sink receives every record at or above the level, on the thread that
 * logged it (often a container thread), possibly while library locks are
 * held: it must not block for long and must not call back into the library.
 */
typedef void (*ocre_log_sink_t)(const struct ocre_log_record *record, void *user_data);

/**
 * Install @p sink (NULL restores the default sink, which writes warnings and
 * errors to stderr). Thread-safe. When it returns, no call of the previous
 * sink is still running, so its user_data may be freed.
 */
void ocre_log_set_sink(ocre_log_sink_t sink, void *user_data);

/**
 * The run-time level (Ocre's name for it): programs may assign it (as Ocre's
 * samples do) or call ocre_log_set_level(); both set the same value. A
 * program may also define it (`int __ocre_log_level = 4;`): the library's
 * definition is weak.
 */
extern int __ocre_log_level;

/** Set the level (records with level > @p level are dropped). Thread-safe. */
void ocre_log_set_level(ocre_log_level_t level);
ocre_log_level_t ocre_log_get_level(void);

/** Whether a record of @p level would be delivered now. */
int ocre_log_enabled(ocre_log_level_t level);

/** Format and deliver a record. Prefer the LOG_* macros. */
void ocre_log_emit(ocre_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Deliver an already formatted message (used by bridges such as WAMR's). */
void ocre_log_emit_text(ocre_log_level_t level, const char *module, const char *message);

/* (name) or Ocre's (name, level): the per-module level is not used (the
 * run-time level applies to every module). */
#define LOG_MODULE_REGISTER(name, ...) static const char *const ocre_log_module_name __attribute__((unused)) = #name
#define LOG_MODULE_DECLARE(name, ...) LOG_MODULE_REGISTER(name)

#define OCRE_LOG_(lvl, ...)                                                                                            \
	do {                                                                                                           \
		if (ocre_log_enabled(lvl))                                                                             \
			ocre_log_emit(lvl, ocre_log_module_name, __VA_ARGS__);                                         \
	} while (0)

#define LOG_ERR(...) OCRE_LOG_(OCRE_LOG_LEVEL_ERR, __VA_ARGS__)
#define LOG_WRN(...) OCRE_LOG_(OCRE_LOG_LEVEL_WRN, __VA_ARGS__)
#define LOG_INF(...) OCRE_LOG_(OCRE_LOG_LEVEL_INF, __VA_ARGS__)
#define LOG_DBG(...) OCRE_LOG_(OCRE_LOG_LEVEL_DBG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif

/* Logging: runtime level, pluggable sink, default sink to stderr. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ocre/platform/log.h>

/* The run-time level, under Ocre's name: an Ocre program sets it directly
 * (or defines it: this definition is weak). */
__attribute__((weak)) int __ocre_log_level = OCRE_LOG_LEVEL_WRN;

static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static ocre_log_sink_t sink_fn;
static void *sink_data;

static const char *const level_names[] = {"none", "err", "wrn", "inf", "dbg"};

static void default_sink(const struct ocre_log_record *r, void *user_data)
{
	(void)user_data;
	if (r->level > OCRE_LOG_LEVEL_WRN)
		return;
	fprintf(stderr, "ocre <%s> %s: %s\n", level_names[r->level], r->module, r->message);
}

void ocre_log_set_sink(ocre_log_sink_t sink, void *user_data)
{
	pthread_rwlock_wrlock(&sink_lock);
	sink_fn = sink;
	sink_data = user_data;
	pthread_rwlock_unlock(&sink_lock);
}

void ocre_log_set_level(ocre_log_level_t level)
{
	if (level < OCRE_LOG_LEVEL_NONE)
		level = OCRE_LOG_LEVEL_NONE;
	if (level > OCRE_LOG_LEVEL_DBG)
		level = OCRE_LOG_LEVEL_DBG;
	__atomic_store_n(&__ocre_log_level, (int)level, __ATOMIC_RELAXED);
}

ocre_log_level_t ocre_log_get_level(void)
{
	return (ocre_log_level_t)__atomic_load_n(&__ocre_log_level, __ATOMIC_RELAXED);
}

int ocre_log_enabled(ocre_log_level_t level)
{
	return level != OCRE_LOG_LEVEL_NONE && (int)level <= __atomic_load_n(&__ocre_log_level, __ATOMIC_RELAXED);
}

void ocre_log_emit_text(ocre_log_level_t level, const char *module, const char *message)
{
	struct ocre_log_record record;
	struct timespec ts;

	if (!ocre_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	record.level = level;
	record.module = module ? module : "?";
	record.message = message ? message : "";
	record.time_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;

	/* A reader lock: sinks run concurrently; set_sink waits for them. */
	pthread_rwlock_rdlock(&sink_lock);
	if (sink_fn)
		sink_fn(&record, sink_data);
	else
		default_sink(&record, NULL);
	pthread_rwlock_unlock(&sink_lock);
}

void ocre_log_emit(ocre_log_level_t level, const char *module, const char *fmt, ...)
{
	char message[OCRE_LOG_MAX_MESSAGE];
	va_list ap;
	size_t len;

	if (!ocre_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	len = strlen(message);
	while (len && message[len - 1] == '\n')
		message[--len] = '\0';
	ocre_log_emit_text(level, module, message);
}

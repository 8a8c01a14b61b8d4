// C log records -> JavaScript, never blocking a C thread.
//
// One process-wide C sink (ocre_log_set_sink, installed once, never removed)
// fans each record out to every registered environment whose level accepts
// it. Each environment owns a ThreadSafeFunction with a bounded queue; the
// sink only makes non-blocking calls: when a queue is full the record is
// dropped and counted, and the environment's JS thread reports
// "N log records dropped" as a warning before its next record.
//
// The registry is the one piece of process-wide mutable state besides
// ocre_initialize(): a plain linked list under a pthread mutex (no static
// destructors, so C threads may log while the process exits).
#include "addon.h"

#include <atomic>
#include <memory>
#include <new>
#include <pthread.h>
#include <sys/time.h>

namespace ocre_node
{

namespace
{

constexpr size_t kLogQueueSize = 1024;

struct LogRecordCopy {
	int level;
	std::string module;
	std::string message;
	uint64_t time_ms;
};

void CallJs(Napi::Env env, Napi::Function fn, LogEnv *ctx, LogRecordCopy *rec);
using LogTsfn = Napi::TypedThreadSafeFunction<LogEnv, LogRecordCopy, CallJs>;

} // namespace

struct LogEnv {
	LogTsfn tsfn;
	std::atomic<int> level{OCRE_LOG_LEVEL_WRN};
	std::atomic<uint64_t> dropped{0};
	LogEnv *next = nullptr; // registry link, under registry_lock
};

namespace
{

pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
LogEnv *registry_head = nullptr;

// The C level is the most verbose level any environment asked for, so that a
// record nobody wants is never formatted. Called with registry_lock held.
void ApplyLevelLocked()
{
	int level = OCRE_LOG_LEVEL_NONE;
	for (LogEnv *e = registry_head; e; e = e->next)
		level = std::max(level, e->level.load(std::memory_order_relaxed));
	ocre_log_set_level((ocre_log_level_t)level);
}

uint64_t NowMs()
{
	struct timeval tv;
	gettimeofday(&tv, nullptr);
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

// Runs on whatever thread logged (often a container thread): never blocks
// on JavaScript, only on registry_lock (held for the fan-out only).
void Sink(const struct ocre_log_record *r, void *)
{
	pthread_mutex_lock(&registry_lock);
	for (LogEnv *e = registry_head; e; e = e->next) {
		if ((int)r->level > e->level.load(std::memory_order_relaxed))
			continue;
		LogRecordCopy *copy = nullptr;
		try {
			copy = new LogRecordCopy{(int)r->level, r->module, r->message, r->time_ms};
		} catch (...) {
			e->dropped.fetch_add(1, std::memory_order_relaxed);
			continue;
		}
		napi_status st = e->tsfn.NonBlockingCall(copy);
		if (st != napi_ok) {
			delete copy;
			if (st == napi_queue_full)
				e->dropped.fetch_add(1, std::memory_order_relaxed);
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

void Deliver(Napi::Env env, Napi::Function fn, int level, const std::string &module, const std::string &message,
             uint64_t time_ms)
{
	napi_value argv[4] = {Napi::Number::New(env, level), Napi::String::New(env, module),
	                      Napi::String::New(env, message), Napi::Number::New(env, (double)time_ms)};
	napi_call_function(env, env.Undefined(), fn, 4, argv, nullptr);
}

void CallJs(Napi::Env env, Napi::Function, LogEnv *ctx, LogRecordCopy *rec)
{
	std::unique_ptr<LogRecordCopy> owned(rec);
	if (env == nullptr || !rec)
		return; // the queue is being emptied at teardown; ctx may be gone
	AddonData *data = AddonData::Get(env);
	if (!data || data->on_log.IsEmpty())
		return;
	Guarded(env, [&] {
		Napi::Function fn = data->on_log.Value();
		uint64_t dropped = ctx->dropped.exchange(0, std::memory_order_relaxed);
		if (dropped)
			Deliver(env, fn, OCRE_LOG_LEVEL_WRN, "ocre", std::to_string(dropped) + " log records dropped",
			        NowMs());
		Deliver(env, fn, rec->level, rec->module, rec->message, rec->time_ms);
	});
}

} // namespace

void LogInstallSinkOnce()
{
	static std::once_flag once;
	std::call_once(once, [] { ocre_log_set_sink(Sink, nullptr); });
}

void LogInitEnv(Napi::Env env, AddonData *data, Napi::Function on_log)
{
	// A second init() (another copy of lib/ in the same environment) only
	// replaces the handler.
	data->on_log = Napi::Persistent(on_log);
	if (data->log)
		return;
	LogEnv *e = new LogEnv();
	e->tsfn =
	    LogTsfn::New(env, "ocre log", kLogQueueSize, 1, e, [](Napi::Env, void *, LogEnv *ctx) { delete ctx; });
	// Log forwarding must never keep the process alive.
	e->tsfn.Unref(env);
	data->log = e;

	pthread_mutex_lock(&registry_lock);
	e->next = registry_head;
	registry_head = e;
	ApplyLevelLocked();
	pthread_mutex_unlock(&registry_lock);
	LogInstallSinkOnce();
}

void LogCleanupEnv(AddonData *data)
{
	LogEnv *e = data->log;
	if (!e)
		return;
	data->log = nullptr;
	pthread_mutex_lock(&registry_lock);
	for (LogEnv **pp = &registry_head; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	ApplyLevelLocked();
	pthread_mutex_unlock(&registry_lock);
	// No sink call can reach e->tsfn any more: release it (its finalizer
	// deletes e once the queue has been emptied).
	e->tsfn.Release();
}

void LogSetLevel(AddonData *data, int level)
{
	if (!data->log)
		return;
	pthread_mutex_lock(&registry_lock);
	data->log->level.store(level, std::memory_order_relaxed);
	ApplyLevelLocked();
	pthread_mutex_unlock(&registry_lock);
}

int LogGetLevel(AddonData *data)
{
	return data->log ? data->log->level.load(std::memory_order_relaxed) : (int)ocre_log_get_level();
}

} // namespace ocre_node

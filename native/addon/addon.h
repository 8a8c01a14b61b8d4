// The ocre Node-API addon: shared declarations.
//
// Layout (one file per role):
//   addon.cc      module init, per-environment data, the environment cleanup
//                 hook, init()/version()/pipe()/shutdown()
//   errors.cc     OcreError objects (built from the constructor handed over
//                 by lib/binding.ts), argument checks
//   log.cc        the process-wide C log sink and its per-environment queues
//   context.cc    ContextWrap: one ocre_context
//   container.cc  ContainerWrap: one ocre_container, its event queue
//
// Threading: every JS-facing function runs on the environment's own thread.
// C threads (container threads, the core's timer thread, libuv pool threads
// running AsyncWorkers) only ever call napi_call_threadsafe_function in
// non-blocking mode. No process-global mutable state except the once-only
// ocre_initialize() and the log sink registry (log.cc).
#ifndef OCRE_ADDON_H
#define OCRE_ADDON_H

#include <napi.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

extern "C" {
#include <ocre/ocre.h>
}

namespace ocre_node
{

class ContextWrap;
class ContainerWrap;
struct LogEnv;

// Per-environment (main thread or worker thread) state.
struct AddonData {
	Napi::FunctionReference error_ctor;     // OcreError, from init()
	Napi::FunctionReference on_log;         // log handler, from init()
	Napi::FunctionReference context_ctor;   // ContextWrap class
	Napi::FunctionReference container_ctor; // ContainerWrap class
	std::set<ContextWrap *> contexts;       // open contexts of this environment
	LogEnv *log = nullptr;                  // this environment's log queue
	bool shut_down = false;                 // shutdown() or the cleanup hook ran
	int dev_null = -1;                      // devNull(): /dev/null for stdio 'ignore'
	std::set<int> child_fds;                // pipe(): containers' ends not yet closed by closeFd()

	static AddonData *Get(Napi::Env env);
};

// ---- errors.cc ----
// An OcreError (or a plain Error before init()) with .code and message.
Napi::Error MakeOcreError(Napi::Env env, const std::string &code, const std::string &message);
// The error of the last failing ocre call on this thread, as an OcreError.
// Must be called right after the failing call, on the same thread.
Napi::Error LastOcreError(Napi::Env env, int err);
// A captured C error (code + message) to turn into an OcreError later, on
// the JS thread (AsyncWorkers capture it on the pool thread).
struct CapturedError {
	int err = OCRE_OK;
	std::string message;
	void Capture(int e); // reads ocre_last_error_message() now
	bool Failed() const
	{
		return err != OCRE_OK;
	}
	Napi::Error ToError(Napi::Env env) const;
};
// Argument checks ("Expected <what> for <name> but received <value>").
std::string DescribeValue(Napi::Value v);
[[noreturn]] void ThrowType(Napi::Env env, const std::string &what, const std::string &name, Napi::Value got);
std::string ArgString(const Napi::CallbackInfo &info, size_t i, const std::string &name);
int64_t ArgInteger(const Napi::CallbackInfo &info, size_t i, const std::string &name, int64_t min, int64_t max);

// AOT records (aot.cc): aotRuntime(), aotSign(), aotInspect().
Napi::Value AotRuntime(const Napi::CallbackInfo &info);
Napi::Value AotSign(const Napi::CallbackInfo &info);
Napi::Value AotInspect(const Napi::CallbackInfo &info);

// Run `f` on the JS thread from a callback that must not let a C++
// exception escape (ThreadSafeFunction calls, AsyncWorker completions):
// a JS exception is rethrown into JavaScript when that is still possible
// and dropped when the environment is going away.
template <typename F> void Guarded(napi_env env, F &&f)
{
	try {
		f();
	} catch (const Napi::Error &e) {
		if (env && !e.IsEmpty())
			napi_throw(env, e.Value()); // status ignored: nothing more to do
	} catch (...) {
	}
}

// An AsyncWorker settling a promise. Execute() runs on a pool thread (short
// work only); Complete() on the JS thread. Completions never let a C++
// exception escape (they may run while the environment goes away).
class PromiseWorker : public Napi::AsyncWorker
{
      public:
	PromiseWorker(Napi::Env env, const char *name)
	    : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env))
	{
	}
	Napi::Promise Promise()
	{
		return deferred_.Promise();
	}

      protected:
	virtual void Complete() = 0;
	void OnOK() final
	{
		Guarded(Env(), [&] { Complete(); });
	}
	void OnError(const Napi::Error &e) final
	{
		Guarded(Env(), [&] { deferred_.Reject(e.Value()); });
	}
	Napi::Promise::Deferred deferred_;
};

// Images up to this size are loaded and instantiated inline on the JS thread
// (create/start/remove run there without a pool round trip): loading such a
// module and creating its instance takes microseconds. Larger images, and
// removing a container with a private directory, use the pool.
constexpr long long kInlineImageMax = 64 * 1024;

// ---- log.cc ----
void LogInitEnv(Napi::Env env, AddonData *data, Napi::Function on_log);
void LogCleanupEnv(AddonData *data);
void LogSetLevel(AddonData *data, int level);
int LogGetLevel(AddonData *data);
void LogInstallSinkOnce();

// ---- context.cc / container.cc ----
Napi::Function InitContextClass(Napi::Env env);
Napi::Function InitContainerClass(Napi::Env env);
// Synchronous kill + join + free of everything a context owns (env cleanup,
// process exit). Safe to call twice.
void ShutdownContext(ContextWrap *ctx);

} // namespace ocre_node

#endif

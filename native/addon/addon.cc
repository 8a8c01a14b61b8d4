// Module entry point: per-environment data, process-wide initialisation,
// the environment cleanup hook, and the small free functions of the binding.
#include "addon.h"
#include "context.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ocre_node
{

AddonData *AddonData::Get(Napi::Env env)
{
	return env.GetInstanceData<AddonData>();
}

namespace
{

// ocre_initialize() once per process, never undone: several environments
// (worker threads) share the library, and a deinitialize would destroy the
// contexts of the others.
struct InitResult {
	int err = OCRE_OK;
	std::string message;
};

// Node unloads an addon when the last environment that loaded it ends (a
// worker that required it, with the main thread never having done so). The
// library's own threads (its timer thread, parked pool threads, a run that
// outlived a bounded ocre_destroy_context()) would then return into unmapped
// code: the addon is pinned for the life of the process instead.
void PinAddon()
{
	Dl_info info;
	if (dladdr(reinterpret_cast<void *>(&PinAddon), &info) && info.dli_fname)
		dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE); // a reference never closed
}

const InitResult &InitializeOnce()
{
	static std::once_flag once;
	static InitResult *result = new InitResult(); // never freed: no static destructor
	std::call_once(once, [] {
		PinAddon();
		// The sink goes in before anything can log, so that no record reaches
		// the C default sink (stderr) once the addon is loaded.
		LogInstallSinkOnce();
		int err = ocre_initialize(nullptr);
		if (err != OCRE_OK && err != OCRE_ERR_EXISTS) {
			result->err = err;
			result->message = ocre_last_error_message();
		}
	});
	return *result;
}

// Kill, join and free every container and context of one environment.
// Synchronous; idempotent. Runs from the environment cleanup hook (worker
// exit, main thread teardown) and from shutdown() (process 'exit').
void ShutdownEnv(AddonData *data)
{
	while (!data->contexts.empty())
		ShutdownContext(*data->contexts.begin());
	data->shut_down = true;
}

void CleanupHook(void *arg)
{
	AddonData *data = static_cast<AddonData *>(arg);
	ShutdownEnv(data);
	LogCleanupEnv(data);
	// No start is in flight any more: runs have their own duplicates.
	if (data->dev_null >= 0) {
		close(data->dev_null);
		data->dev_null = -1;
	}
	for (int fd : data->child_fds)
		close(fd);
	data->child_fds.clear();
}

// init({ OcreError, onLog }): called once by lib/binding.ts.
Napi::Value Init(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	AddonData *data = AddonData::Get(env);
	if (!info[0].IsObject())
		ThrowType(env, "an object", "options", info[0]);
	Napi::Object opts = info[0].As<Napi::Object>();
	Napi::Value ctor = opts.Get("OcreError");
	Napi::Value on_log = opts.Get("onLog");
	if (!ctor.IsFunction())
		ThrowType(env, "a function", "options.OcreError", ctor);
	if (!on_log.IsFunction())
		ThrowType(env, "a function", "options.onLog", on_log);
	// Another copy of lib/ in this environment may call init() again: the
	// last one wins (its OcreError class, its log handler).
	data->error_ctor = Napi::Persistent(ctor.As<Napi::Function>());
	LogInitEnv(env, data, on_log.As<Napi::Function>());
	return env.Undefined();
}

Napi::Value Version(const Napi::CallbackInfo &info)
{
	return Napi::String::New(info.Env(), ocre_version());
}

// pipe(childEnd): [readFd, writeFd], both close-on-exec, both blocking
// (libuv makes its own end non-blocking when it opens it; the container's
// end stays blocking, which the engine expects). The container's end
// (childEnd: 0 read, 1 write) stays this environment's until closeFd(): the
// cleanup hook closes it if the environment goes first (a worker terminated
// while a start() was in flight never gets to close it).
Napi::Value Pipe(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int child = (int)ArgInteger(info, 0, "childEnd", 0, 1);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		throw MakeOcreError(env, "ERR_OCRE_IO", std::string("pipe2: ") + strerror(errno));
	AddonData::Get(env)->child_fds.insert(fds[child]);
	Napi::Array out = Napi::Array::New(env, 2);
	out.Set(0u, Napi::Number::New(env, fds[0]));
	out.Set(1u, Napi::Number::New(env, fds[1]));
	return out;
}

// devNull(): this environment's /dev/null fd (read-write, close-on-exec),
// opened once, for stdio 'ignore'. The core gives every run its own
// duplicates at start, so one fd serves every container; it is closed by the
// environment cleanup hook. Not an fd of Node's fs: nothing to unregister.
Napi::Value DevNull(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	AddonData *data = AddonData::Get(env);
	if (data->dev_null < 0) {
		data->dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (data->dev_null < 0)
			throw MakeOcreError(env, "ERR_OCRE_IO", std::string("/dev/null: ") + strerror(errno));
	}
	return Napi::Number::New(env, data->dev_null);
}

// fileIdentity(dir, name, out: Float64Array(5)): whether <dir>/<name> is a
// regular file (stat(2), following symlinks, like fs.statSync); then out =
// [dev, ino, size, mtime seconds, mtime nanoseconds]. The image gate's
// cache key (lib/images/gate.ts), without a Stats object per create.
Napi::Value FileIdentity(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string file = ArgString(info, 0, "dir");
	std::string name = ArgString(info, 1, "name");
	if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
	    info[2].As<Napi::TypedArray>().ElementLength() < 5)
		ThrowType(env, "a Float64Array of 5 elements", "out", info[2]);
	if (file.empty() || file.back() != '/')
		file += '/';
	file += name;
	struct stat st;
	if (stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
		return Napi::Boolean::New(env, false);
	double *out = info[2].As<Napi::Float64Array>().Data();
	out[0] = (double)st.st_dev;
	out[1] = (double)st.st_ino;
	out[2] = (double)st.st_size;
	out[3] = (double)st.st_mtim.tv_sec;
	out[4] = (double)st.st_mtim.tv_nsec;
	return Napi::Boolean::New(env, true);
}

// closeFd(fd): close an fd made by pipe() that is not a stream's.
Napi::Value CloseFd(const Napi::CallbackInfo &info)
{
	int fd = (int)ArgInteger(info, 0, "fd", 0, INT32_MAX);
	AddonData::Get(info.Env())->child_fds.erase(fd);
	close(fd);
	return info.Env().Undefined();
}

Napi::Value SetLogLevel(const Napi::CallbackInfo &info)
{
	int level = (int)ArgInteger(info, 0, "level", OCRE_LOG_LEVEL_NONE, OCRE_LOG_LEVEL_DBG);
	LogSetLevel(AddonData::Get(info.Env()), level);
	return info.Env().Undefined();
}

Napi::Value GetLogLevel(const Napi::CallbackInfo &info)
{
	return Napi::Number::New(info.Env(), LogGetLevel(AddonData::Get(info.Env())));
}

// shutdown(): synchronous kill + join of everything in this environment
// (lib/ calls it from process.on('exit'), where cleanup hooks do not run
// for process.exit() on the main thread).
Napi::Value Shutdown(const Napi::CallbackInfo &info)
{
	ShutdownEnv(AddonData::Get(info.Env()));
	return info.Env().Undefined();
}

// An ocre log record from JavaScript (tests use it to exercise the queue).
Napi::Value EmitLog(const Napi::CallbackInfo &info)
{
	int level = (int)ArgInteger(info, 0, "level", OCRE_LOG_LEVEL_ERR, OCRE_LOG_LEVEL_DBG);
	std::string module = ArgString(info, 1, "module");
	std::string message = ArgString(info, 2, "message");
	int64_t count = info.Length() > 3 ? ArgInteger(info, 3, "count", 1, 10000000) : 1;
	for (int64_t i = 0; i < count; i++)
		ocre_log_emit_text((ocre_log_level_t)level, module.c_str(), message.c_str());
	return info.Env().Undefined();
}

class OpenWorker : public PromiseWorker
{
      public:
	OpenWorker(Napi::Env env, bool has_workdir, std::string workdir)
	    : PromiseWorker(env, "ocre:open"), has_workdir_(has_workdir), workdir_(std::move(workdir))
	{
	}

	void Execute() override
	{
		ctx_ = ocre_create_context(has_workdir_ ? workdir_.c_str() : nullptr);
		if (!ctx_)
			error_.Capture(OCRE_OK);
	}
	void Complete() override
	{
		Napi::Env env = Env();
		if (error_.Failed()) {
			deferred_.Reject(error_.ToError(env).Value());
			return;
		}
		AddonData *data = AddonData::Get(env);
		if (data->shut_down) {
			ocre_destroy_context(ctx_);
			ctx_ = nullptr;
			deferred_.Reject(
			    MakeOcreError(env, "ERR_OCRE_STATE", "the environment is shutting down").Value());
			return;
		}
		Napi::Object obj = data->context_ctor.New({Napi::External<ocre_context>::New(env, ctx_)});
		handed_over_ = true;
		deferred_.Resolve(obj);
	}
	~OpenWorker() override
	{
		// Never leave a context behind (it would hold its workdir until the
		// process ends), e.g. when the environment went away meanwhile.
		if (ctx_ && !handed_over_) {
			bool owned = false;
			if (AddonData *data = AddonData::Get(Env()))
				for (ContextWrap *w : data->contexts)
					owned = owned || w->ctx() == ctx_;
			if (!owned)
				ocre_destroy_context(ctx_);
		}
	}

      private:
	bool has_workdir_;
	std::string workdir_;
	ocre_context *ctx_ = nullptr;
	bool handed_over_ = false;
	CapturedError error_;
};

// openContext(workdir: string | null): Promise<NativeContext>
Napi::Value OpenContext(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	const InitResult &init = InitializeOnce();
	if (init.err != OCRE_OK)
		throw MakeOcreError(env, ocre_error_code(init.err), "ocre_initialize failed: " + init.message);
	bool has_workdir = !info[0].IsNull() && !info[0].IsUndefined();
	std::string workdir = has_workdir ? ArgString(info, 0, "workdir") : std::string();
	if (has_workdir && (workdir.empty() || workdir[0] != '/'))
		ThrowType(env, "an absolute path", "workdir", info[0]);
	auto *w = new OpenWorker(env, has_workdir, workdir);
	Napi::Promise p = w->Promise();
	w->Queue();
	return p;
}

Napi::Object ModuleInit(Napi::Env env, Napi::Object exports)
{
	AddonData *data = new AddonData();
	env.SetInstanceData<AddonData>(data);
	// Kill and join this environment's containers when it goes away (worker
	// exit, main thread teardown). Registered before any ThreadSafeFunction of
	// this environment, so it runs after their own hooks in the same drain,
	// while their memory is still valid.
	napi_add_env_cleanup_hook(env, CleanupHook, data);

	const InitResult &init = InitializeOnce();
	(void)init; // reported by openContext()

	data->context_ctor = Napi::Persistent(InitContextClass(env));
	data->container_ctor = Napi::Persistent(InitContainerClass(env));

	exports.Set("init", Napi::Function::New(env, Init, "init"));
	exports.Set("version", Napi::Function::New(env, Version, "version"));
	exports.Set("aotRuntime", Napi::Function::New(env, AotRuntime, "aotRuntime"));
	exports.Set("aotSign", Napi::Function::New(env, AotSign, "aotSign"));
	exports.Set("aotInspect", Napi::Function::New(env, AotInspect, "aotInspect"));
	exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
	exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
	exports.Set("devNull", Napi::Function::New(env, DevNull, "devNull"));
	exports.Set("fileIdentity", Napi::Function::New(env, FileIdentity, "fileIdentity"));
	exports.Set("setLogLevel", Napi::Function::New(env, SetLogLevel, "setLogLevel"));
	exports.Set("getLogLevel", Napi::Function::New(env, GetLogLevel, "getLogLevel"));
	exports.Set("emitLog", Napi::Function::New(env, EmitLog, "emitLog"));
	exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
	exports.Set("openContext", Napi::Function::New(env, OpenContext, "openContext"));
	exports.Set("NativeContext", data->context_ctor.Value());
	exports.Set("NativeContainer", data->container_ctor.Value());
	return exports;
}

} // namespace

} // namespace ocre_node

// Our own registration instead of NODE_API_MODULE: a worker thread may be
// terminated while it loads the addon, and no C++ exception may escape then.
NAPI_MODULE_INIT()
{
	napi_value result = exports;
	ocre_node::Guarded(env, [&] { result = ocre_node::ModuleInit(Napi::Env(env), Napi::Object(env, exports)); });
	return result;
}

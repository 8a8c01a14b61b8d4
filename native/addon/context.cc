// NativeContext: one ocre_context.
#include "context.h"

#include <cstdlib>
#include <limits>
#include <memory>
#include <vector>

namespace ocre_node
{

Napi::Function InitContextClass(Napi::Env env)
{
	return ContextWrap::DefineClass(
	    env, "NativeContext",
	    {
		ContextWrap::InstanceAccessor<&ContextWrap::GetWorkdir>("workdir"),
		ContextWrap::InstanceMethod<&ContextWrap::CreateContainer>("createContainer"),
		ContextWrap::InstanceMethod<&ContextWrap::Close>("close"),
		ContextWrap::InstanceMethod<&ContextWrap::Count>("count"),
		ContextWrap::InstanceMethod<&ContextWrap::SetContainerNice>("setContainerNice"),
		ContextWrap::InstanceMethod<&ContextWrap::Publish>("publish"),
		ContextWrap::InstanceMethod<&ContextWrap::Subscribe>("subscribe"),
		ContextWrap::InstanceMethod<&ContextWrap::Unsubscribe>("unsubscribe"),
		ContextWrap::InstanceMethod<&ContextWrap::SubscriptionDropped>("subscriptionDropped"),
		ContextWrap::InstanceMethod<&ContextWrap::RegisterSensor>("registerSensor"),
		ContextWrap::InstanceMethod<&ContextWrap::RegisterRandomSensor>("registerRandomSensor"),
		ContextWrap::InstanceMethod<&ContextWrap::RegisterGpio>("registerGpio"),
		ContextWrap::InstanceMethod<&ContextWrap::GpioChanged>("gpioChanged"),
	    });
}

ContextWrap::ContextWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<ContextWrap>(info)
{
	data_ = AddonData::Get(info.Env());
	if (info.Length() != 1 || !info[0].IsExternal())
		throw Napi::TypeError::New(info.Env(), "NativeContext cannot be constructed directly; use open()");
	ctx_ = info[0].As<Napi::External<ocre_context>>().Data();
	const char *wd = ocre_context_get_working_directory(ctx_);
	workdir_ = wd ? wd : "";
	data_->contexts.insert(this);
}

ContextWrap::~ContextWrap()
{
	// Only reached with an open context at environment teardown or if
	// lib/ lost track of it: never leave a context (and its threads) behind.
	ShutdownContext(this);
	for (ContainerWrap *w : containers_)
		w->ClearOwner();
	containers_.clear();
}

bool ContextWrap::Enter()
{
	std::lock_guard<std::mutex> lock(mu_);
	if (closing_ || !ctx_)
		return false;
	busy_++;
	return true;
}

void ContextWrap::Leave()
{
	std::lock_guard<std::mutex> lock(mu_);
	if (--busy_ == 0)
		cv_.notify_all();
}

int ContextWrap::Destroy(CapturedError *error)
{
	std::unique_lock<std::mutex> lock(mu_);
	closing_ = true;
	while (busy_ > 0 || destroying_)
		cv_.wait(lock);
	if (destroyed_ || !ctx_)
		return OCRE_OK;
	destroying_ = true;
	ocre_context *ctx = ctx_;
	lock.unlock();
	CancelSubscriptions(); // the bus goes with the context
	int err = ocre_destroy_context(ctx);
	ReleaseProviders(); // no container can call them any more
	if (err != OCRE_OK && error)
		error->Capture(err);
	lock.lock();
	destroying_ = false;
	destroyed_ = true;
	cv_.notify_all();
	return err;
}

void ContextWrap::FinishClose()
{
	ctx_ = nullptr;
	for (ContainerWrap *w : containers_) {
		w->Detach();
		w->MarkRemoved();
	}
	containers_.clear();
	data_->contexts.erase(this);
}

void ShutdownContext(ContextWrap *w)
{
	if (!w->ctx_) {
		w->data_->contexts.erase(w);
		return;
	}
	// No exit events are wanted any more: detach first, then kill and join.
	for (ContainerWrap *cw : w->containers_)
		cw->Detach();
	w->Destroy(nullptr);
	w->FinishClose();
}

Napi::Value ContextWrap::GetWorkdir(const Napi::CallbackInfo &info)
{
	return Napi::String::New(info.Env(), workdir_);
}

Napi::Value ContextWrap::Count(const Napi::CallbackInfo &info)
{
	return Napi::Number::New(info.Env(), ctx_ ? ocre_context_get_container_count(ctx_) : 0);
}

// setContainerNice(nice): the niceness of containers created from now on.
Napi::Value ContextWrap::SetContainerNice(const Napi::CallbackInfo &info)
{
	int64_t nice = ArgInteger(info, 0, "nice", 0, OCRE_NICE_MAX);
	int rc = ctx_ ? ocre_context_set_container_nice(ctx_, (int)nice) : OCRE_ERR_STATE;
	if (rc != OCRE_OK)
		throw LastOcreError(info.Env(), rc);
	return info.Env().Undefined();
}

static Napi::Error ClosedError(Napi::Env env)
{
	return MakeOcreError(env, "ERR_OCRE_STATE", "the context is closed");
}

// ---- createContainer ----

namespace
{

std::vector<std::string> StringArray(Napi::Env env, Napi::Object opts, const char *key)
{
	std::vector<std::string> out;
	Napi::Value v = opts.Get(key);
	if (v.IsUndefined() || v.IsNull())
		return out;
	if (!v.IsArray())
		ThrowType(env, "an array of strings", std::string("options.") + key, v);
	Napi::Array a = v.As<Napi::Array>();
	for (uint32_t i = 0; i < a.Length(); i++) {
		Napi::Value e = a.Get(i);
		if (!e.IsString())
			ThrowType(env, "a string", std::string("options.") + key + "[" + std::to_string(i) + "]", e);
		std::string s = e.As<Napi::String>().Utf8Value();
		if (s.find('\0') != std::string::npos)
			ThrowType(env, "a string without NUL characters",
			          std::string("options.") + key + "[" + std::to_string(i) + "]", e);
		out.push_back(std::move(s));
	}
	return out;
}

bool OptionalString(Napi::Env env, Napi::Object opts, const char *key, std::string &out)
{
	Napi::Value v = opts.Get(key);
	if (v.IsUndefined() || v.IsNull())
		return false;
	if (!v.IsString())
		ThrowType(env, "a string", std::string("options.") + key, v);
	out = v.As<Napi::String>().Utf8Value();
	if (out.find('\0') != std::string::npos)
		ThrowType(env, "a string without NUL characters", std::string("options.") + key, v);
	return true;
}

struct CStrings {
	std::vector<const char *> ptrs;
	explicit CStrings(const std::vector<std::string> &v)
	{
		for (const auto &s : v)
			ptrs.push_back(s.c_str());
		ptrs.push_back(nullptr);
	}
	const char **get()
	{
		return ptrs.data();
	}
};

// What createContainer() asked for, and its creation: Execute() on a pool
// thread or inline; Finish() on the JS thread.
class CreateJob
{
      public:
	explicit CreateJob(ContextWrap *owner) : owner_(owner)
	{
	}

	std::string image, runtime, id;
	bool has_runtime = false, has_id = false, detached = false, restore_directory = false;
	std::vector<std::string> argv, envp, caps, mounts;
	double memory_limit = 0;
	int nice = -1; // -1: the context's
	unsigned max_open_files = 0;
	size_t stack_size = 0;
	size_t output_limit = 0;  // 0: the core's default
	std::string image_sha256; // empty: none
	ocre_tier_t tier = OCRE_TIER_AUTO;
	bool small_image = false;

	void Execute()
	{
		if (!owner_->Enter()) {
			error_.err = OCRE_ERR_STATE;
			error_.message = "the context is closed";
			return;
		}
		CStrings a(argv), e(envp), k(caps), m(mounts);
		struct ocre_container_args args = {};
		args.argv = a.get();
		args.envp = e.get();
		args.capabilities = k.get();
		args.mounts = m.get();
		args.tier = tier;
		args.max_open_files = max_open_files;
		args.stack_size = stack_size;
		args.output_limit = output_limit;
		args.image_sha256 = image_sha256.empty() ? nullptr : image_sha256.c_str();
		args.restore_directory = restore_directory;
		ocre_container *c =
		    ocre_context_create_container(owner_->ctx(), image.c_str(), has_runtime ? runtime.c_str() : nullptr,
		                                  has_id ? id.c_str() : nullptr, detached, &args, -1, -1, -1);
		if (!c) {
			error_.Capture(OCRE_OK);
		} else {
			if ((memory_limit > 0 && ocre_container_set_memory_limit(c, (size_t)memory_limit) != OCRE_OK) ||
			    (nice >= 0 && ocre_container_set_nice(c, nice) != OCRE_OK)) {
				// arguments that do not fit the limit (the niceness is checked
				// on the JS thread already): nothing was created
				error_.Capture(OCRE_OK);
				ocre_context_remove_container(owner_->ctx(), c);
			} else {
				ocre_container_retain(c); // ours, released by the wrap (or below)
				c_ = c;
			}
		}
		owner_->Leave();
	}

	// The NativeContainer for the created container; throws on failure.
	Napi::Object Finish(Napi::Env env, Napi::Object owner_obj, Napi::Function on_event)
	{
		if (error_.Failed())
			throw error_.ToError(env);
		if (!owner_->ctx()) {
			// Shut down while we were away: the context removed the container.
			ocre_container_release(c_);
			throw ClosedError(env);
		}
		AddonData *data = owner_->data();
		try {
			Napi::Object obj = data->container_ctor.New(
			    {Napi::External<ocre_container>::New(env, c_), owner_obj, on_event});
			ContainerWrap *cw = ContainerWrap::Unwrap(obj);
			bool has_dir = false;
			for (const auto &cap : caps)
				has_dir = has_dir || cap == "filesystem";
			cw->inline_start = small_image;
			cw->inline_remove = small_image && !has_dir;
			return obj;
		} catch (const Napi::Error &) {
			// The wrap did not take the reference: undo the creation.
			ocre_context_remove_container(owner_->ctx(), c_);
			ocre_container_release(c_);
			throw;
		}
	}

      private:
	ContextWrap *owner_;
	ocre_container *c_ = nullptr;
	CapturedError error_;
};

// A creation on the pool (large images), settling a promise.
class CreateWorker : public PromiseWorker
{
      public:
	CreateWorker(Napi::Env env, std::unique_ptr<CreateJob> job, Napi::Object owner_obj, Napi::Function on_event)
	    : PromiseWorker(env, "ocre:create"), job_(std::move(job))
	{
		owner_ref_ = Napi::Persistent(owner_obj);
		on_event_ = Napi::Persistent(on_event);
	}

	void Execute() override
	{
		job_->Execute();
	}

	void Complete() override
	{
		try {
			deferred_.Resolve(job_->Finish(Env(), owner_ref_.Value(), on_event_.Value()));
		} catch (const Napi::Error &err) {
			deferred_.Reject(err.Value());
		}
	}

      private:
	std::unique_ptr<CreateJob> job_;
	Napi::ObjectReference owner_ref_;
	Napi::FunctionReference on_event_;
};

} // namespace

// An optional integer option in [0, max] (absent or null: 0).
static double OptionalCount(Napi::Env env, Napi::Object opts, const char *name, double max)
{
	Napi::Value v = opts.Get(name);
	if (v.IsUndefined() || v.IsNull())
		return 0;
	if (!v.IsNumber())
		ThrowType(env, "a number", std::string("options.") + name, v);
	double d = v.As<Napi::Number>().DoubleValue();
	if (!(d >= 0 && d <= max) || d != (double)(uint64_t)d)
		throw Napi::RangeError::New(env, std::string("Expected an integer from 0 to ") +
		                                     std::to_string((uint64_t)max) + " for options." + name +
		                                     " but received " + DescribeValue(v));
	return d;
}

// createContainer(options, onEvent): NativeContainer | Promise<NativeContainer>.
// A small image (see kInlineImageMax) is loaded at once: the container is
// returned, or the error thrown, synchronously; otherwise on the pool.
// options: { image, runtime?, id?, detached?, args?, env? ("K=V" strings),
//            capabilities?, mounts? ("/src:/dst[:ro]"), memoryLimit?,
//            tier? ("auto" | "aot" | "interpreter"), maxOpenFiles?, stackSize?,
//            imageSha256? (content the caller validated), restoreDirectory?,
//            nice? (0..19; absent: the context's),
//            outputLimit? (bytes kept per captured stream, >= 1 or Infinity) }
Napi::Value ContextWrap::CreateContainer(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (!info[0].IsObject())
		ThrowType(env, "an object", "options", info[0]);
	if (!info[1].IsFunction())
		ThrowType(env, "a function", "onEvent", info[1]);
	if (!open())
		throw ClosedError(env);
	Napi::Object opts = info[0].As<Napi::Object>();
	auto w = std::make_unique<CreateJob>(this);
	{
		if (!OptionalString(env, opts, "image", w->image))
			ThrowType(env, "a string", "options.image", opts.Get("image"));
		w->has_runtime = OptionalString(env, opts, "runtime", w->runtime);
		w->has_id = OptionalString(env, opts, "id", w->id);
		Napi::Value det = opts.Get("detached");
		if (!det.IsUndefined() && !det.IsBoolean())
			ThrowType(env, "a boolean", "options.detached", det);
		w->detached = det.IsBoolean() && det.As<Napi::Boolean>().Value();
		Napi::Value restore = opts.Get("restoreDirectory");
		if (!restore.IsUndefined() && !restore.IsBoolean())
			ThrowType(env, "a boolean", "options.restoreDirectory", restore);
		w->restore_directory = restore.IsBoolean() && restore.As<Napi::Boolean>().Value();
		w->argv = StringArray(env, opts, "args");
		w->envp = StringArray(env, opts, "env");
		w->caps = StringArray(env, opts, "capabilities");
		w->mounts = StringArray(env, opts, "mounts");
		std::string tier;
		if (OptionalString(env, opts, "tier", tier)) {
			if (tier == "aot")
				w->tier = OCRE_TIER_AOT;
			else if (tier == "interpreter")
				w->tier = OCRE_TIER_INTERPRETER;
			else if (tier != "auto")
				throw Napi::RangeError::New(
				    env, "Expected 'auto', 'aot' or 'interpreter' for options.tier but "
					 "received " +
					     DescribeValue(opts.Get("tier")));
		}
		w->max_open_files = (unsigned)OptionalCount(env, opts, "maxOpenFiles", 1u << 20);
		w->stack_size = (size_t)OptionalCount(env, opts, "stackSize", 256u << 20);
		Napi::Value nv = opts.Get("nice");
		if (!nv.IsUndefined() && !nv.IsNull())
			w->nice = (int)OptionalCount(env, opts, "nice", OCRE_NICE_MAX);
		// the SHA-256 of the bytes the V8 gate validated (lib/images/gate.ts)
		if (OptionalString(env, opts, "imageSha256", w->image_sha256) && w->image_sha256.size() != 64)
			throw Napi::RangeError::New(env,
			                            "Expected 64 hex digits for options.imageSha256 but received " +
			                                DescribeValue(opts.Get("imageSha256")));
		Napi::Value ol = opts.Get("outputLimit");
		if (!ol.IsUndefined() && !ol.IsNull()) {
			if (!ol.IsNumber())
				ThrowType(env, "a number", "options.outputLimit", ol);
			double d = ol.As<Napi::Number>().DoubleValue();
			if (d == std::numeric_limits<double>::infinity())
				w->output_limit = SIZE_MAX;
			else if (d >= 1 && d <= 9007199254740991.0 && d == (double)(uint64_t)d)
				w->output_limit = d >= (double)SIZE_MAX ? SIZE_MAX : (size_t)d;
			else
				throw Napi::RangeError::New(
				    env, "Expected a positive integer or Infinity for options.outputLimit "
					 "but received " +
					     DescribeValue(ol));
		}
		Napi::Value ml = opts.Get("memoryLimit");
		if (!ml.IsUndefined() && !ml.IsNull()) {
			if (!ml.IsNumber())
				ThrowType(env, "a number", "options.memoryLimit", ml);
			double d = ml.As<Napi::Number>().DoubleValue();
			if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(uint64_t)d)
				throw Napi::RangeError::New(env,
				                            "Expected a non-negative integer for options.memoryLimit "
				                            "but received " +
				                                DescribeValue(ml));
			w->memory_limit = d;
		}
	}
	// A small image (or none: the error comes at once) is loaded inline:
	// the container, or an error thrown in the caller's stack; no promise
	// or async resource.
	long long size = ocre_context_get_image_size(ctx_, w->image.c_str());
	ocre_clear_error(); // a missing image is reported by the create itself
	w->small_image = size <= kInlineImageMax;
	if (w->small_image) {
		w->Execute();
		return w->Finish(env, Value(), info[1].As<Napi::Function>());
	}
	auto *worker = new CreateWorker(env, std::move(w), Value(), info[1].As<Napi::Function>());
	Napi::Promise p = worker->Promise();
	worker->Queue();
	return p;
}

// ---- close ----

namespace
{

class CloseWorker : public PromiseWorker
{
      public:
	CloseWorker(Napi::Env env, ContextWrap *owner, Napi::Object owner_obj)
	    : PromiseWorker(env, "ocre:close"), owner_(owner)
	{
		owner_ref_ = Napi::Persistent(owner_obj);
	}

	void Execute() override
	{
		// Waits for in-flight pool work (short), then kills, joins and
		// removes whatever is left (lib/ has normally removed everything).
		owner_->Destroy(&error_);
	}
	void Complete() override
	{
		if (owner_->ctx())
			owner_->FinishClose();
		if (error_.Failed())
			deferred_.Reject(error_.ToError(Env()).Value());
		else
			deferred_.Resolve(Env().Undefined());
	}

      private:
	ContextWrap *owner_;
	Napi::ObjectReference owner_ref_;
	CapturedError error_;
};

} // namespace

// close(): Promise<void>. Idempotent: resolves at once when already closed;
// a second call during a close resolves when the first destroy is done.
Napi::Value ContextWrap::Close(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (!ctx_) {
		auto d = Napi::Promise::Deferred::New(env);
		d.Resolve(env.Undefined());
		return d.Promise();
	}
	{
		std::lock_guard<std::mutex> lock(mu_);
		closing_ = true; // no new work from now on
	}
	auto *w = new CloseWorker(env, this, Value());
	Napi::Promise p = w->Promise();
	w->Queue();
	return p;
}

} // namespace ocre_node

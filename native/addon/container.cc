// NativeContainer: one ocre_container.
//
// Events: the C core calls OnEvent on the thread that changed the status
// (a container thread, a pool thread running start, or the JS thread). It
// only queues the status on this container's ThreadSafeFunction (unbounded
// queue, non-blocking call); ContainerEventCallJs then runs on the JS thread,
// reads the current state (status, exit information) and calls lib/'s
// handler with it as plain numbers (no object per event: see StateArgs).
// The snapshot, not the queued status, is the truth: events from different
// threads may arrive out of order (see docs/api.md).
//
// Pool threads only run short calls (start, remove); waits for an exit never
// happen in native code: lib/ awaits the 'exit' event. For small images
// start and remove run inline on the JS thread (see kInlineImageMax) and
// return (or throw) synchronously: no promise and no async work object.
#include "context.h"

#include <memory>

namespace ocre_node
{

namespace
{

// The container whose state this (JS) thread is about to report to lib/
// itself: an inline start (lib/ reads the state right after it) or a
// state read (an observer's STOPPED, fired while reading, is in what is
// read). Events it fires meanwhile need no delivery of their own: each
// would cost an event-loop wake-up and a call into JavaScript for a state
// lib/ already has.
thread_local const ContainerWrap *reporting = nullptr;

struct Reporting {
	explicit Reporting(const ContainerWrap *w) : previous(reporting)
	{
		reporting = w;
	}
	~Reporting()
	{
		reporting = previous;
	}
	const ContainerWrap *previous;
};

// The exit reason as lib/container.ts numbers it: 0 none, 1 exit, 2 killed, 3 trap.
int ReasonCode(ocre_exit_reason_t r)
{
	switch (r) {
	case OCRE_EXIT_REASON_EXIT:
		return 1;
	case OCRE_EXIT_REASON_KILLED:
		return 2;
	case OCRE_EXIT_REASON_TRAP:
		return 3;
	default:
		return 0;
	}
}

} // namespace

Napi::Function InitContainerClass(Napi::Env env)
{
	return ContainerWrap::DefineClass(
	    env, "NativeContainer",
	    {
		ContainerWrap::InstanceMethod<&ContainerWrap::Start>("start"),
		ContainerWrap::InstanceMethod<&ContainerWrap::Remove>("remove"),
		ContainerWrap::InstanceMethod<&ContainerWrap::Kill>("kill"),
		ContainerWrap::InstanceMethod<&ContainerWrap::Stop>("stop"),
		ContainerWrap::InstanceMethod<&ContainerWrap::Pause>("pause"),
		ContainerWrap::InstanceMethod<&ContainerWrap::Unpause>("unpause"),
		ContainerWrap::InstanceMethod<&ContainerWrap::ProbeWait>("probeWait"),
		ContainerWrap::InstanceMethod<&ContainerWrap::GetSnapshot>("snapshot"),
		ContainerWrap::InstanceMethod<&ContainerWrap::SetRef>("setRef"),
		ContainerWrap::InstanceMethod<&ContainerWrap::SetMemoryLimit>("setMemoryLimit"),
		ContainerWrap::InstanceMethod<&ContainerWrap::GetInfo>("info"),
		ContainerWrap::InstanceMethod<&ContainerWrap::EventsDropped>("eventsDropped"),
		ContainerWrap::InstanceMethod<&ContainerWrap::TakeOutput>("takeOutput"),
	    });
}

void ContainerEventCallJs(Napi::Env env, Napi::Function fn, EventSink *sink, void *data)
{
	if (env == nullptr || fn.IsEmpty())
		return; // the queue is emptied at teardown: nothing to do
	ContainerWrap *w = sink ? sink->w : nullptr;
	if (w == nullptr)
		return; // the container's wrap has been collected: nobody listens
	// `data` is the status that was queued: the current state is the truth
	(void)data;
	Guarded(env, [&] {
		napi_value argv[5];
		w->StateArgs(env, argv);
		// `this`: the NativeContainer (lib/ finds its Container there)
		Napi::Value self = w->Value();
		// A listener that throws leaves the exception pending: Node reports
		// it as uncaught, as for any callback.
		napi_call_function(env, self.IsEmpty() ? env.Undefined() : self, fn, 5, argv, nullptr);
	});
}

ContainerWrap::ContainerWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<ContainerWrap>(info)
{
	Napi::Env env = info.Env();
	if (info.Length() != 3 || !info[0].IsExternal() || !info[1].IsObject() || !info[2].IsFunction())
		throw Napi::TypeError::New(env, "NativeContainer cannot be constructed directly; use Context.create()");
	Napi::Object owner_obj = info[1].As<Napi::Object>();
	owner_ = ContextWrap::Unwrap(owner_obj);
	if (!owner_)
		throw Napi::TypeError::New(env, "NativeContainer needs a NativeContext");
	owner_ref_ = Napi::Persistent(owner_obj);
	auto sink = std::make_unique<EventSink>(EventSink{this});
	tsfn_ =
	    EventTsfn::New(env, info[2].As<Napi::Function>(), "ocre container events", 0, 1, sink.get(), SinkFinalized);
	sink_ = sink.release();
	tsfn_.Unref(env); // lib/ refs it while the container runs
	c_ = info[0].As<Napi::External<ocre_container>>().Data();
	attached_ = true;
	ocre_container_set_event_callback(c_, OnEvent, this);
	owner_->containers().insert(this);
}

void ContainerWrap::SinkFinalized(Napi::Env, void *, EventSink *sink)
{
	if (sink->w)
		sink->w->sink_ = nullptr;
	delete sink;
}

ContainerWrap::~ContainerWrap()
{
	Detach();
	if (sink_)
		sink_->w = nullptr; // events still queued find nobody
	if (owner_)
		owner_->containers().erase(this);
	if (c_)
		ocre_container_release(c_);
}

void ContainerWrap::OnEvent(ocre_container *, ocre_container_status_t status, void *user_data)
{
	ContainerWrap *w = static_cast<ContainerWrap *>(user_data);
	if (reporting == w)
		return; // this thread reports the new state to lib/ itself
	// Never blocks (unbounded queue); fails only while the function closes,
	// when nobody listens any more.
	w->tsfn_.NonBlockingCall(reinterpret_cast<void *>(static_cast<intptr_t>(status)));
}

void ContainerWrap::Detach()
{
	if (!attached_)
		return;
	attached_ = false;
	// Returns once no call of OnEvent is running: then nothing can reach
	// tsfn_ any more. Events already queued are still delivered.
	ocre_container_set_event_callback(c_, nullptr, nullptr);
	tsfn_.Release();
}

void ContainerWrap::MarkRemoved()
{
	removed_ = true;
	owner_ = nullptr;
}

void ContainerWrap::StateArgs(Napi::Env env, napi_value argv[5])
{
	Reporting quiet(this);
	ocre_container_status_t st = ocre_container_get_status(c_);
	struct ocre_exit_info exit_info;
	ocre_container_get_exit(c_, &exit_info);
	// EXITED is transient (the next observer makes it STOPPED); JS never
	// sees it.
	if (st == OCRE_CONTAINER_STATUS_EXITED)
		st = OCRE_CONTAINER_STATUS_STOPPED;
	// Small integers: no allocation on the JS heap.
	napi_create_int32(env, (int32_t)st, &argv[0]);
	napi_create_uint32(env, exit_info.runs, &argv[1]);
	napi_create_int32(env, exit_info.status, &argv[2]);
	napi_create_int32(env, ReasonCode(exit_info.reason), &argv[3]);
	if (exit_info.message[0])
		napi_create_string_utf8(env, exit_info.message, NAPI_AUTO_LENGTH, &argv[4]);
	else
		napi_get_undefined(env, &argv[4]);
}

// snapshot(onState): calls onState(status, runs, exitCode, reason, message)
// with the current state, synchronously, like an event delivery (`this`:
// this NativeContainer).
Napi::Value ContainerWrap::GetSnapshot(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (!info[0].IsFunction())
		ThrowType(env, "a function", "onState", info[0]);
	napi_value argv[5];
	StateArgs(env, argv);
	return info[0].As<Napi::Function>().Call(info.This(), 5, argv);
}

Napi::Value ContainerWrap::GetInfo(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object o = Napi::Object::New(env);
	o.Set("id", Napi::String::New(env, ocre_container_get_id(c_)));
	o.Set("image", Napi::String::New(env, ocre_container_get_image(c_)));
	const char *rt = ocre_container_get_runtime(c_);
	o.Set("runtime", Napi::String::New(env, rt ? rt : ""));
	const char *tier = ocre_container_get_tier(c_);
	o.Set("tier", Napi::String::New(env, tier ? tier : "interpreter"));
	o.Set("detached", Napi::Boolean::New(env, ocre_container_is_detached(c_)));
	o.Set("memoryLimit", Napi::Number::New(env, (double)ocre_container_get_memory_limit(c_)));
	o.Set("nice", Napi::Number::New(env, ocre_container_get_nice(c_)));
	// start()/remove() settle inline, so their errors carry the caller's stack
	o.Set("inlineStart", Napi::Boolean::New(env, inline_start));
	o.Set("inlineRemove", Napi::Boolean::New(env, inline_remove));
	return o;
}

// ---- start ----

namespace
{

// Set the stdio of the next run and start it (any thread); fills `error` on
// failure.
void DoStart(ContainerWrap *w, ContextWrap *owner, const int fds[3], CapturedError &error)
{
	if (!owner || !owner->Enter()) {
		error.err = OCRE_ERR_STATE;
		error.message = "the context is closed";
		return;
	}
	{
		// One start at a time per container: two racing starts must not
		// swap each other's stdio.
		std::lock_guard<std::mutex> lock(w->start_mu);
		int rc = ocre_container_set_stdio(w->c(), fds[0], fds[1], fds[2]);
		if (rc == OCRE_OK)
			rc = ocre_container_start_async(w->c());
		if (rc != OCRE_OK)
			error.Capture(rc);
	}
	owner->Leave();
}

// Remove the container from its context (any thread). False when the
// context is closing (it removes every container itself); fills `error` on
// failure.
bool DoRemove(ContainerWrap *w, ContextWrap *owner, CapturedError &error)
{
	if (!owner->Enter())
		return false;
	int rc = ocre_context_remove_container(owner->ctx(), w->c());
	if (rc != OCRE_OK)
		error.Capture(rc);
	owner->Leave();
	return true;
}

// After a successful removal (JS thread).
void FinishRemove(ContainerWrap *w)
{
	w->Detach();
	if (w->owner())
		w->owner()->containers().erase(w);
	w->MarkRemoved();
}

class StartWorker : public PromiseWorker
{
      public:
	StartWorker(Napi::Env env, ContainerWrap *w, Napi::Object obj, int in, int out, int err)
	    : PromiseWorker(env, "ocre:start"), w_(w), owner_(w->owner()), fds_{in, out, err}
	{
		ref_ = Napi::Persistent(obj);
	}

	void Execute() override
	{
		DoStart(w_, owner_, fds_, error_);
	}
	void Complete() override
	{
		if (error_.Failed())
			deferred_.Reject(error_.ToError(Env()).Value());
		else
			deferred_.Resolve(Env().Undefined());
	}

      private:
	ContainerWrap *w_;
	ContextWrap *owner_;
	Napi::ObjectReference ref_;
	int fds_[3];
	CapturedError error_;
};

class RemoveWorker : public PromiseWorker
{
      public:
	RemoveWorker(Napi::Env env, ContainerWrap *w, Napi::Object obj)
	    : PromiseWorker(env, "ocre:remove"), w_(w), owner_(w->owner())
	{
		ref_ = Napi::Persistent(obj);
	}

	void Execute() override
	{
		// Deletes the private directory: file-system work, hence the pool.
		removed_ = DoRemove(w_, owner_, error_);
	}
	void Complete() override
	{
		if (error_.Failed()) {
			deferred_.Reject(error_.ToError(Env()).Value());
			return;
		}
		if (removed_)
			FinishRemove(w_);
		deferred_.Resolve(Env().Undefined());
	}

      private:
	ContainerWrap *w_;
	ContextWrap *owner_;
	Napi::ObjectReference ref_;
	bool removed_ = false;
	CapturedError error_;
};

} // namespace

// start(stdinFd, stdoutFd, stderrFd): undefined when started inline (small
// image), else Promise<void> (pool work); read the state with snapshot().
// fds < 0: the process's own. The caller keeps its fds open until start
// has returned or its promise settled (the run has its own duplicates by
// then) and closes them afterwards.
Napi::Value ContainerWrap::Start(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	// OCRE_STDIO_IGNORE (-2): discarded, no host fd; OCRE_STDIO_CAPTURE (-3,
	// stdout/stderr): kept in memory (takeOutput); -1: the process's own
	int in = (int)ArgInteger(info, 0, "stdin fd", OCRE_STDIO_IGNORE, INT32_MAX);
	int out = (int)ArgInteger(info, 1, "stdout fd", OCRE_STDIO_CAPTURE, INT32_MAX);
	int err = (int)ArgInteger(info, 2, "stderr fd", OCRE_STDIO_CAPTURE, INT32_MAX);
	if (removed_ || !owner_) {
		// The C core gives the exact error (removed: ERR_OCRE_NOT_FOUND).
		int rc = ocre_container_start_async(c_);
		if (rc != OCRE_OK)
			throw LastOcreError(env, rc);
	}
	if (inline_start) {
		// Microseconds of work: now, in the caller's stack (which its errors
		// carry), without a pool round trip, promise or async resource.
		int fds[3] = {in, out, err};
		CapturedError error;
		{
			Reporting quiet(this); // lib/ reads the state right after
			DoStart(this, owner_, fds, error);
		}
		if (error.Failed())
			throw error.ToError(env);
		return env.Undefined();
	}
	auto *w = new StartWorker(env, this, Value(), in, out, err);
	Napi::Promise p = w->Promise();
	w->Queue();
	return p;
}

// remove(): undefined when done inline (small image, no private directory)
// or already removed, else Promise<void> (pool work).
Napi::Value ContainerWrap::Remove(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (removed_ || !owner_)
		return env.Undefined();
	if (inline_remove) {
		CapturedError error;
		bool removed = DoRemove(this, owner_, error);
		if (error.Failed())
			throw error.ToError(env);
		if (removed)
			FinishRemove(this);
		return env.Undefined();
	}
	auto *w = new RemoveWorker(env, this, Value());
	Napi::Promise p = w->Promise();
	w->Queue();
	return p;
}

// ---- short, synchronous calls (flag changes in the core: microseconds) ----

Napi::Value ContainerWrap::Kill(const Napi::CallbackInfo &info)
{
	int rc = ocre_container_kill(c_);
	if (rc != OCRE_OK)
		throw LastOcreError(info.Env(), rc);
	return info.Env().Undefined();
}

Napi::Value ContainerWrap::Stop(const Napi::CallbackInfo &info)
{
	unsigned grace = (unsigned)ArgInteger(info, 0, "timeout", 0, UINT32_MAX);
	int rc = ocre_container_stop_async(c_, grace);
	if (rc != OCRE_OK)
		throw LastOcreError(info.Env(), rc);
	return info.Env().Undefined();
}

Napi::Value ContainerWrap::Pause(const Napi::CallbackInfo &info)
{
	int rc = ocre_container_pause(c_);
	if (rc != OCRE_OK)
		throw LastOcreError(info.Env(), rc);
	return info.Env().Undefined();
}

Napi::Value ContainerWrap::Unpause(const Napi::CallbackInfo &info)
{
	int rc = ocre_container_unpause(c_);
	if (rc != OCRE_OK)
		throw LastOcreError(info.Env(), rc);
	return info.Env().Undefined();
}

// probeWait(): true while the container runs (lib/ then awaits the 'exit'
// event), false when it has stopped; throws ERR_OCRE_STATE for a container
// that never ran (created, error) and ERR_OCRE_NOT_FOUND once removed.
// A wait with a zero timeout: never blocks.
Napi::Value ContainerWrap::ProbeWait(const Napi::CallbackInfo &info)
{
	int rc = ocre_container_wait_timeout(c_, nullptr, 0);
	if (rc == OCRE_ERR_TIMEOUT)
		return Napi::Boolean::New(info.Env(), true);
	if (rc != OCRE_OK)
		throw LastOcreError(info.Env(), rc);
	return Napi::Boolean::New(info.Env(), false);
}

// setRef(bool): whether this container's event queue keeps the event loop
// alive (lib/ refs it while the container runs, unless unref()'d).
Napi::Value ContainerWrap::SetRef(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (!info[0].IsBoolean())
		ThrowType(env, "a boolean", "ref", info[0]);
	bool want = info[0].As<Napi::Boolean>().Value();
	if (attached_ && want != refed_) {
		if (want)
			tsfn_.Ref(env);
		else
			tsfn_.Unref(env);
	}
	refed_ = want;
	return env.Undefined();
}

Napi::Value ContainerWrap::SetMemoryLimit(const Napi::CallbackInfo &info)
{
	int64_t bytes = ArgInteger(info, 0, "memoryLimit", 0, INT64_C(9007199254740991));
	int rc = ocre_container_set_memory_limit(c_, (size_t)bytes);
	if (rc != OCRE_OK)
		throw LastOcreError(info.Env(), rc);
	return info.Env().Undefined();
}

// takeOutput(stream): { data: Buffer, truncated: boolean }, what the last run
// wrote to captured stream 1 or 2 (OCRE_STDIO_CAPTURE), or null when that is
// nothing (not truncated): no object or Buffer to make for a silent stream.
// The next call gets null. Throws ERR_OCRE_STATE while running.
Napi::Value ContainerWrap::TakeOutput(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int stream = (int)ArgInteger(info, 0, "stream", 1, 2);
	void *data = nullptr;
	size_t size = 0;
	bool truncated = false;
	int rc = ocre_container_take_output(c_, stream, &data, &size, &truncated);
	if (rc != OCRE_OK)
		throw LastOcreError(env, rc);
	if (size == 0 && !truncated)
		return env.Null(); // (data is NULL)
	Napi::Object result = Napi::Object::New(env);
	if (size == 0) {
		result.Set("data", Napi::Buffer<uint8_t>::New(env, 0));
	} else {
		// The core's malloc'd bytes become the Buffer's (or are copied where
		// external buffers are not allowed); freed with it.
		result.Set("data", Napi::Buffer<uint8_t>::NewOrCopy(env, static_cast<uint8_t *>(data), size,
		                                                    [](Napi::Env, uint8_t *p) { free(p); }));
	}
	result.Set("truncated", Napi::Boolean::New(env, truncated));
	return result;
}

// eventsDropped(): Ocre API events this container lost to a full queue.
Napi::Value ContainerWrap::EventsDropped(const Napi::CallbackInfo &info)
{
	return Napi::Number::New(info.Env(), (double)ocre_container_get_events_dropped(c_));
}

} // namespace ocre_node

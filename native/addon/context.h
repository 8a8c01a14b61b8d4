// ContextWrap (one ocre_context) and ContainerWrap (one ocre_container).
#ifndef OCRE_ADDON_CONTEXT_H
#define OCRE_ADDON_CONTEXT_H

#include "addon.h"

#include <map>
#include <vector>

namespace ocre_node
{

struct Subscription;   // messaging.cc
struct DeviceProvider; // devices.cc

// JS class NativeContext. Created by openContext(); lib/context.ts wraps it.
class ContextWrap : public Napi::ObjectWrap<ContextWrap>
{
      public:
	explicit ContextWrap(const Napi::CallbackInfo &info);
	~ContextWrap() override;

	// Pool work that touches ctx_ or its containers registers itself, so that
	// close/shutdown never destroy the context under it. Enter() fails once
	// the context is closing.
	bool Enter();
	void Leave();

	ocre_context *ctx() const
	{
		return ctx_;
	}
	bool open() const
	{
		return ctx_ != nullptr && !closing_;
	}
	AddonData *data() const
	{
		return data_;
	}
	std::set<ContainerWrap *> &containers()
	{
		return containers_;
	}

	// Mark closing, wait for in-flight pool work (short), then
	// ocre_destroy_context() once, whichever thread gets here first (a
	// concurrent caller waits for the first). Any thread.
	int Destroy(CapturedError *error);
	// JS thread, after Destroy(): forget ctx_, detach every container.
	void FinishClose();

      private:
	friend void ShutdownContext(ContextWrap *ctx);
	friend Napi::Function InitContextClass(Napi::Env env);
	Napi::Value GetWorkdir(const Napi::CallbackInfo &info);
	Napi::Value CreateContainer(const Napi::CallbackInfo &info);
	Napi::Value Close(const Napi::CallbackInfo &info);
	Napi::Value Count(const Napi::CallbackInfo &info);
	Napi::Value SetContainerNice(const Napi::CallbackInfo &info);
	// messaging.cc
	Napi::Value Publish(const Napi::CallbackInfo &info);
	Napi::Value Subscribe(const Napi::CallbackInfo &info);
	Napi::Value Unsubscribe(const Napi::CallbackInfo &info);
	Napi::Value SubscriptionDropped(const Napi::CallbackInfo &info);
	// Cancel every subscription (before the C context goes). Any thread.
	void CancelSubscriptions();
	// devices.cc
	Napi::Value RegisterSensor(const Napi::CallbackInfo &info);
	Napi::Value RegisterRandomSensor(const Napi::CallbackInfo &info);
	Napi::Value RegisterGpio(const Napi::CallbackInfo &info);
	Napi::Value GpioChanged(const Napi::CallbackInfo &info);
	DeviceProvider *BeginProvider(const Napi::CallbackInfo &info, const char *list_what, const char *list_name,
	                              void (*add)(DeviceProvider *, Napi::Value));
	Napi::Value AdoptProvider(Napi::Env env, DeviceProvider *p, int r);
	// Release the JS providers (after the C context is gone). Any thread.
	void ReleaseProviders();

	AddonData *data_;
	ocre_context *ctx_ = nullptr;
	std::string workdir_;
	std::set<ContainerWrap *> containers_; // not yet removed; JS thread only

	std::mutex mu_;
	std::condition_variable cv_;
	int busy_ = 0;
	bool closing_ = false;
	bool destroying_ = false;
	bool destroyed_ = false;

	// under mu_
	std::map<uint32_t, Subscription *> subs_;
	uint32_t next_sub_ = 1;
	std::vector<DeviceProvider *> providers_;
};

// The context of a container's event queue. Events still queued when the
// wrap goes are delivered to nobody: `w` is cleared by the wrap's
// destructor, and the wrap's `sink_` by the queue's finalizer (which deletes
// the sink), whichever comes first. JS thread only.
struct EventSink {
	ContainerWrap *w;
};
void ContainerEventCallJs(Napi::Env env, Napi::Function fn, EventSink *sink, void *data);
using EventTsfn = Napi::TypedThreadSafeFunction<EventSink, void, ContainerEventCallJs>;

// JS class NativeContainer. Created by NativeContext.createContainer();
// lib/container.ts wraps it. Holds a reference on the C container (so
// getters stay valid after removal) and, until removal, a ThreadSafeFunction
// that carries the C event callback to JavaScript.
class ContainerWrap : public Napi::ObjectWrap<ContainerWrap>
{
      public:
	explicit ContainerWrap(const Napi::CallbackInfo &info);
	~ContainerWrap() override;

	ocre_container *c() const
	{
		return c_;
	}
	ContextWrap *owner() const
	{
		return owner_;
	}
	void ClearOwner()
	{
		owner_ = nullptr;
	}
	// Stop event delivery (waits for a running C callback) and release the
	// ThreadSafeFunction. Idempotent. JS thread only.
	void Detach();
	void MarkRemoved();
	// The current state as lib/'s handler takes it: status (ocre_container_status_t,
	// EXITED reported as STOPPED), runs, exit status, reason (see ReasonCode),
	// message (undefined when empty).
	void StateArgs(Napi::Env env, napi_value argv[5]);

	std::mutex start_mu; // set_stdio + start as one step
	// start/remove may run inline on the JS thread (small image; remove:
	// no private directory to delete). Set once, at creation.
	bool inline_start = false;
	bool inline_remove = false;

      private:
	friend Napi::Function InitContainerClass(Napi::Env env);
	static void OnEvent(ocre_container *c, ocre_container_status_t status, void *user_data);
	// The event queue is finalized: its sink goes.
	static void SinkFinalized(Napi::Env env, void *, EventSink *sink);

	Napi::Value Start(const Napi::CallbackInfo &info);
	Napi::Value Remove(const Napi::CallbackInfo &info);
	Napi::Value Kill(const Napi::CallbackInfo &info);
	Napi::Value Stop(const Napi::CallbackInfo &info);
	Napi::Value Pause(const Napi::CallbackInfo &info);
	Napi::Value Unpause(const Napi::CallbackInfo &info);
	Napi::Value ProbeWait(const Napi::CallbackInfo &info);
	Napi::Value GetSnapshot(const Napi::CallbackInfo &info);
	Napi::Value SetRef(const Napi::CallbackInfo &info);
	Napi::Value SetMemoryLimit(const Napi::CallbackInfo &info);
	Napi::Value GetInfo(const Napi::CallbackInfo &info);
	Napi::Value EventsDropped(const Napi::CallbackInfo &info);
	Napi::Value TakeOutput(const Napi::CallbackInfo &info);

	ocre_container *c_ = nullptr;
	ContextWrap *owner_ = nullptr;
	Napi::ObjectReference owner_ref_; // keeps the context object alive
	EventTsfn tsfn_;
	EventSink *sink_ = nullptr; // tsfn_'s context, until the queue is finalized
	bool attached_ = false;
	bool refed_ = false;
	bool removed_ = false;
};

} // namespace ocre_node

#endif

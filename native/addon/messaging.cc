// ctx.messaging: publish into and subscribe to a context's message bus
// (<ocre/messaging.h>).
//
// A subscription's C handler runs on the publisher's thread (often a
// container thread) and never waits for JavaScript: it copies the message
// into a bounded queue, and when the queue was empty it schedules one
// ThreadSafeFunction call that hands the whole batch to JavaScript. A full
// queue drops the message and counts it (the publisher sees it as not taken).
#include "context.h"

#include <atomic>
#include <deque>
#include <vector>

namespace ocre_node
{

struct MessageCopy {
	std::string topic;
	std::string content_type;
	std::vector<uint8_t> payload;
	std::string from;
	bool has_from;
};

static void DeliverBatch(Napi::Env env, Napi::Function fn, Subscription *s, void *);
using MessageTsfn = Napi::TypedThreadSafeFunction<Subscription, void, DeliverBatch>;

struct Subscription {
	ocre_subscription *sub = nullptr;
	MessageTsfn tsfn;
	std::mutex mu;
	std::deque<MessageCopy> queue; // under mu
	size_t capacity = 0;
	bool scheduled = false; // under mu: a batch call is pending
	std::atomic<uint64_t> dropped{0};
};

// Publisher's thread, bus lock held.
static bool OnMessage(void *user, const struct ocre_message *m)
{
	Subscription *s = static_cast<Subscription *>(user);
	bool schedule;
	{
		std::lock_guard<std::mutex> lock(s->mu);
		if (s->queue.size() >= s->capacity) {
			s->dropped.fetch_add(1, std::memory_order_relaxed);
			return false;
		}
		try {
			const uint8_t *p = static_cast<const uint8_t *>(m->payload);
			s->queue.push_back(MessageCopy{m->topic, m->content_type,
			                               std::vector<uint8_t>(p, p + m->payload_len),
			                               m->from ? m->from : "", m->from != nullptr});
		} catch (...) {
			s->dropped.fetch_add(1, std::memory_order_relaxed);
			return false;
		}
		schedule = !s->scheduled;
		s->scheduled = true;
	}
	if (schedule && s->tsfn.NonBlockingCall() != napi_ok) {
		// released: the subscription is being cancelled; nothing will read it
		std::lock_guard<std::mutex> lock(s->mu);
		s->scheduled = false;
	}
	return true;
}

// JS thread: hand the batch over as one flat array [topic, type, payload, from, ...].
static void DeliverBatch(Napi::Env env, Napi::Function fn, Subscription *s, void *)
{
	std::deque<MessageCopy> batch;
	{
		std::lock_guard<std::mutex> lock(s->mu);
		batch.swap(s->queue);
		s->scheduled = false;
	}
	if (env == nullptr || batch.empty())
		return;
	Guarded(env, [&] {
		Napi::Array a = Napi::Array::New(env, batch.size() * 4);
		uint32_t i = 0;
		for (MessageCopy &m : batch) {
			a.Set(i++, Napi::String::New(env, m.topic));
			a.Set(i++, Napi::String::New(env, m.content_type));
			a.Set(i++, Napi::Buffer<uint8_t>::Copy(env, m.payload.data(), m.payload.size()));
			a.Set(i++, m.has_from ? Napi::Value(Napi::String::New(env, m.from)) : env.Null());
		}
		fn.Call({a});
	});
}

static Napi::Error ClosedContext(Napi::Env env)
{
	return MakeOcreError(env, "ERR_OCRE_STATE", "the context is closed");
}

// publish(topic, contentType, payload: Uint8Array): number of subscribers that took it.
Napi::Value ContextWrap::Publish(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string topic = ArgString(info, 0, "topic");
	std::string type = ArgString(info, 1, "contentType");
	if (info.Length() < 3 || !info[2].IsTypedArray() ||
	    info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
		ThrowType(env, "a Buffer or Uint8Array", "payload", info[2]);
	Napi::Uint8Array payload = info[2].As<Napi::Uint8Array>();
	if (!Enter())
		throw ClosedContext(env);
	int n = ocre_context_publish(ctx_, nullptr, topic.c_str(), type.c_str(), payload.Data(), payload.ByteLength());
	if (n < 0) {
		Napi::Error e = LastOcreError(env, -n);
		Leave();
		throw e;
	}
	Leave();
	return Napi::Number::New(env, n);
}

// subscribe(prefix, queueSize, onBatch): a subscription id.
Napi::Value ContextWrap::Subscribe(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string prefix = ArgString(info, 0, "prefix");
	int64_t capacity = ArgInteger(info, 1, "queueSize", 1, 1 << 20);
	if (info.Length() < 3 || !info[2].IsFunction())
		ThrowType(env, "a function", "handler", info[2]);
	if (!Enter())
		throw ClosedContext(env);
	Subscription *s = new Subscription();
	s->capacity = (size_t)capacity;
	s->tsfn = MessageTsfn::New(env, info[2].As<Napi::Function>(), "ocre messages", 0, 1, s,
	                           [](Napi::Env, void *, Subscription *sub) { delete sub; });
	s->tsfn.Unref(env); // a subscription alone does not keep the process alive
	s->sub = ocre_context_subscribe(ctx_, prefix.c_str(), OnMessage, s);
	if (!s->sub) {
		Napi::Error e = LastOcreError(env, ocre_last_error());
		s->tsfn.Release();
		Leave();
		throw e;
	}
	uint32_t id;
	{
		std::lock_guard<std::mutex> lock(mu_);
		id = next_sub_++;
		subs_[id] = s;
	}
	Leave();
	return Napi::Number::New(env, id);
}

static void Cancel(Subscription *s)
{
	ocre_subscription_cancel(s->sub); // OnMessage is not running and never runs again
	s->sub = nullptr;
	s->tsfn.Release(); // the finalizer deletes s after the pending batch
}

// unsubscribe(id): idempotent.
Napi::Value ContextWrap::Unsubscribe(const Napi::CallbackInfo &info)
{
	uint32_t id = (uint32_t)ArgInteger(info, 0, "id", 0, UINT32_MAX);
	Subscription *s = nullptr;
	{
		std::lock_guard<std::mutex> lock(mu_);
		auto it = subs_.find(id);
		if (it != subs_.end()) {
			s = it->second;
			subs_.erase(it);
		}
	}
	if (s)
		Cancel(s);
	return info.Env().Undefined();
}

// subscriptionDropped(id): messages dropped so far (0 once closed).
Napi::Value ContextWrap::SubscriptionDropped(const Napi::CallbackInfo &info)
{
	uint32_t id = (uint32_t)ArgInteger(info, 0, "id", 0, UINT32_MAX);
	uint64_t n = 0;
	std::lock_guard<std::mutex> lock(mu_);
	auto it = subs_.find(id);
	if (it != subs_.end())
		n = it->second->dropped.load(std::memory_order_relaxed);
	return Napi::Number::New(info.Env(), (double)n);
}

void ContextWrap::CancelSubscriptions()
{
	std::map<uint32_t, Subscription *> all;
	{
		std::lock_guard<std::mutex> lock(mu_);
		all.swap(subs_);
	}
	for (auto &e : all)
		Cancel(e.second);
}

} // namespace ocre_node

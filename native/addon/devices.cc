// ctx.sensors / ctx.gpio: JavaScript sensor and GPIO providers for the Ocre
// application API (<ocre/devices.h>).
//
// The C library calls a provider on a container thread with a call object
// to complete. Here each call becomes one non-blocking ThreadSafeFunction
// call to the provider's JS dispatcher, which is given a `done(result,
// value)` function; the container waits (killable) until it is called. A
// call that cannot reach JavaScript (the context is closing) completes at
// once with -ENODEV.
#include "context.h"

#include <cerrno>
#include <vector>

namespace ocre_node
{

struct DeviceRequest {
	ocre_device_call *call;
	int op; // enum ocre_device_op
	unsigned index;
	int arg;
};

static void Dispatch(Napi::Env env, Napi::Function fn, DeviceProvider *p, DeviceRequest *req);
using DeviceTsfn = Napi::TypedThreadSafeFunction<DeviceProvider, DeviceRequest, Dispatch>;

struct DeviceProvider {
	DeviceTsfn tsfn;
	std::string name;
	std::vector<int> channel_types;
	std::vector<std::string> pin_names;
	std::vector<const char *> pin_name_ptrs;
};

static void Post(DeviceProvider *p, int op, unsigned index, int arg, ocre_device_call *call)
{
	DeviceRequest *req = new (std::nothrow) DeviceRequest{call, op, index, arg};
	if (!req || p->tsfn.NonBlockingCall(req) != napi_ok) {
		delete req;
		ocre_device_call_complete(call, -ENODEV, 0);
	}
}

static void SensorRead(void *user, unsigned channel, ocre_device_call *call)
{
	Post(static_cast<DeviceProvider *>(user), OCRE_DEVICE_SENSOR_READ, channel, 0, call);
}
static void GpioConfigure(void *user, unsigned pin, int direction, ocre_device_call *call)
{
	Post(static_cast<DeviceProvider *>(user), OCRE_DEVICE_GPIO_CONFIGURE, pin, direction, call);
}
static void GpioSet(void *user, unsigned pin, int state, ocre_device_call *call)
{
	Post(static_cast<DeviceProvider *>(user), OCRE_DEVICE_GPIO_SET, pin, state, call);
}
static void GpioGet(void *user, unsigned pin, ocre_device_call *call)
{
	Post(static_cast<DeviceProvider *>(user), OCRE_DEVICE_GPIO_GET, pin, 0, call);
}

// JS thread: dispatcher(op, index, arg, done).
static void Dispatch(Napi::Env env, Napi::Function fn, DeviceProvider *, DeviceRequest *req)
{
	if (env == nullptr) { // the environment is going away
		ocre_device_call_complete(req->call, -ENODEV, 0);
		delete req;
		return;
	}
	Guarded(env, [&] {
		// done(result, value): the first call completes; the request lives until then.
		Napi::Function done = Napi::Function::New(
		    env,
		    [](const Napi::CallbackInfo &info) {
			    DeviceRequest *r = static_cast<DeviceRequest *>(info.Data());
			    if (!r->call)
				    return;
			    int result = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -EIO;
			    double value = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
			    ocre_device_call_complete(r->call, result > 0 ? -EIO : result, value);
			    r->call = nullptr;
		    },
		    "done", req);
		// the request is freed with the function
		napi_add_finalizer(
		    env, done, req, [](napi_env, void *data, void *) { delete (DeviceRequest *)data; }, nullptr,
		    nullptr);
		fn.Call({Napi::Number::New(env, req->op), Napi::Number::New(env, req->index),
		         Napi::Number::New(env, req->arg), done});
	});
}

static Napi::Error ClosedContext(Napi::Env env)
{
	return MakeOcreError(env, "ERR_OCRE_STATE", "the context is closed");
}

// @p call between Enter() and Leave(): its result as a number; a negative
// errno throws the library's error for it.
template <typename Call> static Napi::Value CallEntered(ContextWrap *w, Napi::Env env, Call call)
{
	if (!w->Enter())
		throw ClosedContext(env);
	int r = call();
	if (r < 0) {
		Napi::Error e = LastOcreError(env, -r);
		w->Leave();
		throw e;
	}
	w->Leave();
	return Napi::Number::New(env, r);
}

static DeviceProvider *NewProvider(Napi::Env env, const std::string &name, Napi::Function dispatcher)
{
	DeviceProvider *p = new DeviceProvider();
	p->name = name;
	p->tsfn = DeviceTsfn::New(env, dispatcher, "ocre device", 0, 1, p,
	                          [](Napi::Env, void *, DeviceProvider *prov) { delete prov; });
	p->tsfn.Unref(env);
	return p;
}

// The start of a registration (name, list, dispatcher): checks the arguments,
// enters the context and makes the provider, giving it each element of the
// list through @p add.
DeviceProvider *ContextWrap::BeginProvider(const Napi::CallbackInfo &info, const char *list_what, const char *list_name,
                                           void (*add)(DeviceProvider *, Napi::Value))
{
	Napi::Env env = info.Env();
	std::string name = ArgString(info, 0, "name");
	if (!info[1].IsArray())
		ThrowType(env, list_what, list_name, info[1]);
	if (!info[2].IsFunction())
		ThrowType(env, "a function", "dispatcher", info[2]);
	Napi::Array list = info[1].As<Napi::Array>();
	if (!Enter())
		throw ClosedContext(env);
	DeviceProvider *p = NewProvider(env, name, info[2].As<Napi::Function>());
	for (uint32_t i = 0; i < list.Length(); i++)
		add(p, list.Get(i));
	return p;
}

// The end of a registration (Enter() held): keep the provider on success
// (released after the context is destroyed), drop it and throw on failure.
Napi::Value ContextWrap::AdoptProvider(Napi::Env env, DeviceProvider *p, int r)
{
	if (r < 0) {
		Napi::Error e = LastOcreError(env, -r);
		p->tsfn.Release();
		Leave();
		throw e;
	}
	{
		std::lock_guard<std::mutex> lock(mu_);
		providers_.push_back(p);
	}
	Leave();
	return Napi::Number::New(env, r);
}

// registerSensor(name, channelTypes: number[], dispatcher): the sensor's index.
Napi::Value ContextWrap::RegisterSensor(const Napi::CallbackInfo &info)
{
	DeviceProvider *p =
	    BeginProvider(info, "an array of integers", "channels", [](DeviceProvider *d, Napi::Value v) {
		    d->channel_types.push_back(v.As<Napi::Number>().Int32Value());
	    });
	ocre_sensor_provider sp = {};
	sp.name = p->name.c_str();
	sp.channels = (unsigned)p->channel_types.size();
	sp.channel_types = p->channel_types.data();
	sp.read = SensorRead;
	sp.user = p;
	return AdoptProvider(info.Env(), p, ocre_context_register_sensor(ctx_, &sp));
}

Napi::Value ContextWrap::RegisterRandomSensor(const Napi::CallbackInfo &info)
{
	return CallEntered(this, info.Env(), [&] { return ocre_context_register_random_sensor(ctx_); });
}

// registerGpio(name, pinNames: (string|null)[], dispatcher): the port number.
Napi::Value ContextWrap::RegisterGpio(const Napi::CallbackInfo &info)
{
	DeviceProvider *p = BeginProvider(info, "an array", "pins", [](DeviceProvider *d, Napi::Value v) {
		d->pin_names.push_back(v.IsString() ? v.As<Napi::String>().Utf8Value() : "");
	});
	for (const std::string &n : p->pin_names)
		p->pin_name_ptrs.push_back(n.empty() ? nullptr : n.c_str());
	ocre_gpio_provider gp = {};
	gp.name = p->name.c_str();
	gp.pins = (unsigned)p->pin_names.size();
	gp.pin_names = p->pin_name_ptrs.data();
	gp.configure = GpioConfigure;
	gp.set = GpioSet;
	gp.get = GpioGet;
	gp.user = p;
	return AdoptProvider(info.Env(), p, ocre_context_register_gpio(ctx_, &gp));
}

// gpioChanged(port, pin, state): containers notified.
Napi::Value ContextWrap::GpioChanged(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	unsigned port = (unsigned)ArgInteger(info, 0, "port", 0, OCRE_GPIO_PORTS_MAX - 1);
	unsigned pin = (unsigned)ArgInteger(info, 1, "pin", 0, OCRE_GPIO_PINS_MAX - 1);
	int state = (int)ArgInteger(info, 2, "state", 0, 1);
	return CallEntered(this, env, [&] { return ocre_context_gpio_changed(ctx_, port, pin, state); });
}

void ContextWrap::ReleaseProviders()
{
	std::vector<DeviceProvider *> all;
	{
		std::lock_guard<std::mutex> lock(mu_);
		all.swap(providers_);
	}
	for (DeviceProvider *p : all)
		p->tsfn.Release(); // the finalizer deletes p once its queue is empty
}

} // namespace ocre_node

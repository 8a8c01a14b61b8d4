// OcreError construction and argument checks.
//
// lib/binding.ts hands the OcreError class to init(); every C failure becomes
// `new OcreError(code, message)` with code = ocre_error_code(err) and message
// = ocre_last_error_message() read on the failing thread right after the call.
#include "addon.h"

#include <cmath>

namespace ocre_node
{

Napi::Error MakeOcreError(Napi::Env env, const std::string &code, const std::string &message)
{
	AddonData *data = AddonData::Get(env);
	if (data && !data->error_ctor.IsEmpty()) {
		Napi::Object obj =
		    data->error_ctor.New({Napi::String::New(env, code), Napi::String::New(env, message)});
		return Napi::Error(env, obj);
	}
	// Before init(): a plain Error with a code (lib/binding.ts always calls init()).
	Napi::Error e = Napi::Error::New(env, message);
	e.Set("code", Napi::String::New(env, code));
	return e;
}

static std::string MessageFor(int err, const char *detail)
{
	if (detail && *detail)
		return detail;
	return ocre_strerror(err);
}

Napi::Error LastOcreError(Napi::Env env, int err)
{
	if (err == OCRE_OK)
		err = ocre_last_error();
	if (err == OCRE_OK)
		err = OCRE_ERR_RUNTIME;
	return MakeOcreError(env, ocre_error_code(err), MessageFor(err, ocre_last_error_message()));
}

void CapturedError::Capture(int e)
{
	if (e == OCRE_OK)
		e = ocre_last_error();
	if (e == OCRE_OK)
		e = OCRE_ERR_RUNTIME;
	err = e;
	message = MessageFor(e, ocre_last_error_message());
}

Napi::Error CapturedError::ToError(Napi::Env env) const
{
	return MakeOcreError(env, ocre_error_code(err), message);
}

std::string DescribeValue(Napi::Value v)
{
	switch (v.Type()) {
	case napi_undefined:
		return "undefined";
	case napi_null:
		return "null";
	case napi_boolean:
		return v.As<Napi::Boolean>().Value() ? "true" : "false";
	case napi_number:
		return v.ToString().Utf8Value();
	case napi_bigint:
		return v.ToString().Utf8Value() + "n";
	case napi_string: {
		std::string s = v.As<Napi::String>().Utf8Value();
		if (s.size() > 40)
			s = s.substr(0, 37) + "...";
		return "'" + s + "'";
	}
	case napi_symbol:
		return "a symbol";
	case napi_function:
		return "a function";
	default:
		return v.IsArray() ? "an array" : "an object";
	}
}

void ThrowType(Napi::Env env, const std::string &what, const std::string &name, Napi::Value got)
{
	throw Napi::TypeError::New(env, "Expected " + what + " for " + name + " but received " + DescribeValue(got));
}

std::string ArgString(const Napi::CallbackInfo &info, size_t i, const std::string &name)
{
	if (!info[i].IsString())
		ThrowType(info.Env(), "a string", name, info[i]);
	std::string s = info[i].As<Napi::String>().Utf8Value();
	if (s.find('\0') != std::string::npos)
		ThrowType(info.Env(), "a string without NUL characters", name, info[i]);
	return s;
}

int64_t ArgInteger(const Napi::CallbackInfo &info, size_t i, const std::string &name, int64_t min, int64_t max)
{
	if (!info[i].IsNumber())
		ThrowType(info.Env(), "an integer", name, info[i]);
	double d = info[i].As<Napi::Number>().DoubleValue();
	if (!std::isfinite(d) || std::trunc(d) != d)
		ThrowType(info.Env(), "an integer", name, info[i]);
	if (d < (double)min || d > (double)max)
		throw Napi::RangeError::New(info.Env(), "Expected an integer from " + std::to_string(min) + " to " +
		                                            std::to_string(max) + " for " + name + " but received " +
		                                            DescribeValue(info[i]));
	return (int64_t)d;
}

} // namespace ocre_node

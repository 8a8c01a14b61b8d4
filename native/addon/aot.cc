// The AOT records of the image store, through the engine that owns their
// format (<ocre/runtime/wamr.h>): lib/aot.ts signs and reads records only
// through these functions.
#include "addon.h"

#include <vector>

#include <ocre/runtime/wamr.h>

namespace ocre_node
{

namespace
{

const char *VerdictName(enum ocre_aot_verdict v)
{
	switch (v) {
	case OCRE_AOT_OK:
		return "ok";
	case OCRE_AOT_STALE:
		return "stale";
	case OCRE_AOT_REJECTED:
		return "rejected";
	case OCRE_AOT_NONE:
		break;
	}
	return "none";
}

} // namespace

// aotRuntime(): { wamr, machine, target, bounds }: what the image store records with
// an AOT artifact and what the engine checks it against.
Napi::Value AotRuntime(const Napi::CallbackInfo &info)
{
	Napi::Object o = Napi::Object::New(info.Env());
	o.Set("wamr", Napi::String::New(info.Env(), ocre_wamr_version()));
	o.Set("machine", Napi::String::New(info.Env(), ocre_aot_machine_fingerprint()));
	o.Set("target", Napi::String::New(info.Env(), ocre_aot_target()));
	o.Set("bounds", Napi::String::New(info.Env(), ocre_aot_bounds()));
	return o;
}

// aotSign(values, key): the record of `values` (an object with a string for
// each record field) signed with the 32-byte store key `key`.
Napi::Value AotSign(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBuffer())
		throw Napi::TypeError::New(env, "aotSign(values: object, key: Buffer)");
	Napi::Object values = info[0].As<Napi::Object>();
	Napi::Buffer<uint8_t> key = info[1].As<Napi::Buffer<uint8_t>>();
	if (key.Length() != OCRE_AOT_KEY_SIZE)
		throw Napi::RangeError::New(env, "the store key must be 32 bytes");
	std::vector<std::string> strings;
	for (size_t i = 0; ocre_aot_record_fields[i]; i++) {
		Napi::Value v = values.Get(ocre_aot_record_fields[i]);
		if (!v.IsString())
			throw Napi::TypeError::New(env, std::string("AOT record field '") + ocre_aot_record_fields[i] +
			                                    "' must be a string");
		strings.push_back(v.As<Napi::String>().Utf8Value());
	}
	std::vector<const char *> pointers;
	for (const std::string &s : strings)
		pointers.push_back(s.c_str());
	pointers.push_back(nullptr);
	std::vector<char> out(OCRE_AOT_RECORD_MAX);
	if (ocre_aot_record_sign(pointers.data(), key.Data(), out.data()) < 0)
		throw Napi::RangeError::New(env,
		                            "an AOT record field is empty, has a newline, or the record is too long");
	return Napi::String::New(env, out.data());
}

// aotInspect(imagePath, imageSha256 | null): { verdict, reason, fields }:
// the engine's judgement of the image's artifact (all but hashing its bytes;
// verdict 'none' and no judgement without a digest) and the record's fields
// ({} if there is no readable record naming an artifact).
Napi::Value AotInspect(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string path = ArgString(info, 0, "imagePath");
	std::string sha;
	bool judge = info.Length() > 1 && !info[1].IsNull() && !info[1].IsUndefined();
	if (judge)
		sha = ArgString(info, 1, "imageSha256");
	std::vector<char> record(OCRE_AOT_RECORD_MAX);
	char why[256], value[OCRE_AOT_RECORD_MAX];
	enum ocre_aot_verdict verdict =
	    ocre_aot_inspect(path.c_str(), judge ? sha.c_str() : nullptr, record.data(), why, sizeof(why));
	Napi::Object fields = Napi::Object::New(env);
	for (size_t i = 0; record[0] && ocre_aot_record_fields[i]; i++)
		if (ocre_aot_record_get(record.data(), ocre_aot_record_fields[i], value, sizeof(value)))
			fields.Set(ocre_aot_record_fields[i], Napi::String::New(env, value));
	Napi::Object o = Napi::Object::New(env);
	o.Set("verdict", Napi::String::New(env, VerdictName(verdict)));
	o.Set("reason", Napi::String::New(env, verdict == OCRE_AOT_OK ? "" : why));
	o.Set("fields", fields);
	return o;
}

} // namespace ocre_node

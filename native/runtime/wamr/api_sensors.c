/* The Ocre application API: sensors, served by the context's sensor
 * providers (<ocre/devices.h>). A sensor's handle is its index. Without a
 * provider the calls return -ENODEV. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "engine.h"

#define ENTER(exec_env)                                                                                                \
	struct ocre_api *api;                                                                                          \
	int err;                                                                                                       \
	if (!(api = ocre_api_enter(exec_env, &err)))                                                                   \
	return err

static int sensors_init(wasm_exec_env_t exec_env)
{
	ENTER(exec_env);
	return 0;
}

/* The number of sensors. */
static int sensors_discover(wasm_exec_env_t exec_env)
{
	ENTER(exec_env);
	return ocre_context_sensor_count(api->context);
}

static int sensor_info(struct ocre_api *api, int handle, struct ocre_sensor_info *info)
{
	return ocre_context_sensor_info(api->context, handle, info) ? 0 : -ENODEV;
}

static int sensors_open(wasm_exec_env_t exec_env, int handle)
{
	struct ocre_sensor_info info;
	ENTER(exec_env);
	return sensor_info(api, handle, &info);
}

static int sensors_get_handle(wasm_exec_env_t exec_env, int index)
{
	struct ocre_sensor_info info;
	ENTER(exec_env);
	return sensor_info(api, index, &info) ? -ENODEV : index;
}

static int channel_count(struct ocre_api *api, int handle)
{
	struct ocre_sensor_info info;
	return sensor_info(api, handle, &info) ? -ENODEV : (int)info.channels;
}

static int sensors_get_channel_count(wasm_exec_env_t exec_env, int handle)
{
	ENTER(exec_env);
	return channel_count(api, handle);
}

static int channel_type(struct ocre_api *api, int handle, int channel)
{
	struct ocre_sensor_info info;
	if (sensor_info(api, handle, &info))
		return -ENODEV;
	if (channel < 0 || (unsigned)channel >= info.channels)
		return -EINVAL;
	return info.channel_types[channel];
}

static int sensors_get_channel_type(wasm_exec_env_t exec_env, int handle, int channel)
{
	ENTER(exec_env);
	return channel_type(api, handle, channel);
}

/* The reading, or a negative errno as a double (Ocre's convention). */
static double read_sensor(struct ocre_api *api, wasm_exec_env_t exec_env, int handle, int channel)
{
	double value = 0;
	int r;

	if (handle < 0 || channel < 0)
		return handle < 0 ? -ENODEV : -EINVAL;
	r = ocre_api_device_call(api, exec_env, OCRE_DEVICE_SENSOR_READ, (unsigned)handle, (unsigned)channel, 0,
	                         &value);
	return r ? (double)r : value;
}

static double sensors_read(wasm_exec_env_t exec_env, int handle, int channel)
{
	ENTER(exec_env);
	return read_sensor(api, exec_env, handle, channel);
}

static int by_name(struct ocre_api *api, const char *name)
{
	int i;
	if (!ocre_api_valid_name(name))
		return -EINVAL;
	i = ocre_context_sensor_find(api->context, name);
	return i < 0 ? -ENODEV : i;
}

static int sensors_open_by_name(wasm_exec_env_t exec_env, const char *name)
{
	int h;
	ENTER(exec_env);
	h = by_name(api, name);
	return h < 0 ? h : 0;
}

static int sensors_get_handle_by_name(wasm_exec_env_t exec_env, const char *name)
{
	ENTER(exec_env);
	return by_name(api, name);
}

static int sensors_get_channel_count_by_name(wasm_exec_env_t exec_env, const char *name)
{
	int h;
	ENTER(exec_env);
	h = by_name(api, name);
	return h < 0 ? h : channel_count(api, h);
}

static int sensors_get_channel_type_by_name(wasm_exec_env_t exec_env, const char *name, int channel)
{
	int h;
	ENTER(exec_env);
	h = by_name(api, name);
	return h < 0 ? h : channel_type(api, h, channel);
}

static double sensors_read_by_name(wasm_exec_env_t exec_env, const char *name, int channel)
{
	int h;
	ENTER(exec_env);
	h = by_name(api, name);
	return h < 0 ? (double)h : read_sensor(api, exec_env, h, channel);
}

/* ocre_sensors_get_list(buffer, size): the sensor names, comma-separated and
 * NUL-terminated, into the guest's buffer of @p size bytes (it must hold a
 * string, e.g. "", to pass WAMR's '$' check). The number of sensors, or
 * -ENOSPC when the list does not fit. */
static int sensors_get_list(wasm_exec_env_t exec_env, char *buffer, int size)
{
	struct ocre_sensor_info info;
	size_t used = 0;
	int i, n;
	ENTER(exec_env);

	if (size <= 0 || !ocre_api_native_range(wasm_runtime_get_module_inst(exec_env), buffer, (uint32_t)size))
		return -EINVAL;
	n = ocre_context_sensor_count(api->context);
	buffer[0] = '\0';
	for (i = 0; i < n && ocre_context_sensor_info(api->context, i, &info); i++) {
		size_t len = strlen(info.name) + (i ? 1 : 0);
		if (used + len + 1 > (size_t)size)
			return -ENOSPC;
		snprintf(buffer + used, (size_t)size - used, "%s%s", i ? "," : "", info.name);
		used += len;
	}
	return n;
}

static NativeSymbol natives[] = {
    {"ocre_sensors_init", (void *)sensors_init, "()i", NULL},
    {"ocre_sensors_discover", (void *)sensors_discover, "()i", NULL},
    {"ocre_sensors_open", (void *)sensors_open, "(i)i", NULL},
    {"ocre_sensors_get_handle", (void *)sensors_get_handle, "(i)i", NULL},
    {"ocre_sensors_get_channel_count", (void *)sensors_get_channel_count, "(i)i", NULL},
    {"ocre_sensors_get_channel_type", (void *)sensors_get_channel_type, "(ii)i", NULL},
    {"ocre_sensors_read", (void *)sensors_read, "(ii)F", NULL},
    {"ocre_sensors_open_by_name", (void *)sensors_open_by_name, "($)i", NULL},
    {"ocre_sensors_get_handle_by_name", (void *)sensors_get_handle_by_name, "($)i", NULL},
    {"ocre_sensors_get_channel_count_by_name", (void *)sensors_get_channel_count_by_name, "($)i", NULL},
    {"ocre_sensors_get_channel_type_by_name", (void *)sensors_get_channel_type_by_name, "($i)i", NULL},
    {"ocre_sensors_get_list", (void *)sensors_get_list, "($i)i", NULL},
    {"ocre_sensors_read_by_name", (void *)sensors_read_by_name, "($i)F", NULL},
};

bool ocre_api_sensors_register(void)
{
	return wasm_runtime_register_natives("env", natives, sizeof(natives) / sizeof(natives[0]));
}

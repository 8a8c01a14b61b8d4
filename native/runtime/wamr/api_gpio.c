/* The Ocre application API: GPIO, served by the context's GPIO providers
 * (<ocre/devices.h>); port = provider index. A registered callback turns
 * each reported change of the pin into a GPIO event (id = pin, port, state).
 * Without a provider the calls return -ENODEV. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "engine.h"

#define ENTER(exec_env)                                                                                                \
	struct ocre_api *api;                                                                                          \
	int err;                                                                                                       \
	if (!(api = ocre_api_enter(exec_env, &err)))                                                                   \
	return err

static int pin_check(struct ocre_api *api, int port, int pin)
{
	if (port < 0 || port >= ocre_context_gpio_port_count(api->context))
		return -ENODEV;
	if (pin < 0 || (unsigned)pin >= ocre_context_gpio_pins(api->context, (unsigned)port))
		return -EINVAL;
	return 0;
}

static int call(struct ocre_api *api, wasm_exec_env_t exec_env, enum ocre_device_op op, int port, int pin, int arg)
{
	double value = 0;
	int r = pin_check(api, port, pin);

	if (r)
		return r;
	r = ocre_api_device_call(api, exec_env, op, (unsigned)port, (unsigned)pin, arg, &value);
	if (r || op != OCRE_DEVICE_GPIO_GET)
		return r;
	return value != 0 ? 1 : 0;
}

static int gpio_init(wasm_exec_env_t exec_env)
{
	ENTER(exec_env);
	return 0;
}

static int configure(struct ocre_api *api, wasm_exec_env_t exec_env, int port, int pin, int direction)
{
	if (direction != 0 && direction != 1)
		return -EINVAL;
	return call(api, exec_env, OCRE_DEVICE_GPIO_CONFIGURE, port, pin, direction);
}

static int toggle(struct ocre_api *api, wasm_exec_env_t exec_env, int port, int pin)
{
	int v = call(api, exec_env, OCRE_DEVICE_GPIO_GET, port, pin, 0);
	return v < 0 ? v : call(api, exec_env, OCRE_DEVICE_GPIO_SET, port, pin, !v);
}

/* Watch handler (reporting thread): queue a GPIO event. */
static bool changed(void *user, unsigned port, unsigned pin, int state)
{
	struct ocre_api_event ev = {.type = OCRE_API_RESOURCE_GPIO, .id = pin, .port = port, .state = (uint32_t)state};
	return ocre_api_post(user, &ev);
}

static int watch_index(struct ocre_api *api, int port, int pin)
{
	unsigned i;
	for (i = 0; i < api->nwatches; i++)
		if (api->watch_port[i] == (unsigned)port && api->watch_pin[i] == (unsigned)pin)
			return (int)i;
	return -1;
}

/* Only the container thread changes the watch list. */
static int register_callback(struct ocre_api *api, int port, int pin)
{
	struct ocre_gpio_watch *w;
	int r = pin_check(api, port, pin);

	if (r)
		return r;
	if (watch_index(api, port, pin) >= 0)
		return 0;
	if (api->nwatches == OCRE_API_GPIO_CALLBACKS)
		return -ENOSPC;
	w = ocre_context_gpio_watch(api->context, (unsigned)port, (unsigned)pin, changed, api);
	if (!w)
		return -ENOMEM;
	api->watches[api->nwatches] = w;
	api->watch_port[api->nwatches] = (unsigned)port;
	api->watch_pin[api->nwatches] = (unsigned)pin;
	api->nwatches++;
	return 0;
}

static int unregister_callback(struct ocre_api *api, int port, int pin)
{
	int r = pin_check(api, port, pin), i;

	if (r)
		return r;
	if ((i = watch_index(api, port, pin)) < 0)
		return -ENOENT;
	ocre_gpio_watch_cancel(api->watches[i]);
	api->nwatches--;
	api->watches[i] = api->watches[api->nwatches];
	api->watch_port[i] = api->watch_port[api->nwatches];
	api->watch_pin[i] = api->watch_pin[api->nwatches];
	return 0;
}

void ocre_api_gpio_release(struct ocre_api *api)
{
	while (api->nwatches > 0)
		ocre_gpio_watch_cancel(api->watches[--api->nwatches]);
}

static int gpio_configure(wasm_exec_env_t exec_env, int port, int pin, int direction)
{
	ENTER(exec_env);
	return configure(api, exec_env, port, pin, direction);
}

static int gpio_pin_set(wasm_exec_env_t exec_env, int port, int pin, int state)
{
	ENTER(exec_env);
	return call(api, exec_env, OCRE_DEVICE_GPIO_SET, port, pin, state != 0);
}

static int gpio_pin_get(wasm_exec_env_t exec_env, int port, int pin)
{
	ENTER(exec_env);
	return call(api, exec_env, OCRE_DEVICE_GPIO_GET, port, pin, 0);
}

static int gpio_pin_toggle(wasm_exec_env_t exec_env, int port, int pin)
{
	ENTER(exec_env);
	return toggle(api, exec_env, port, pin);
}

static int gpio_register_callback(wasm_exec_env_t exec_env, int port, int pin)
{
	ENTER(exec_env);
	return register_callback(api, port, pin);
}

static int gpio_unregister_callback(wasm_exec_env_t exec_env, int port, int pin)
{
	ENTER(exec_env);
	return unregister_callback(api, port, pin);
}

/* ---- by name: a pin name, or "PORT/PIN" ---- */

static int find(struct ocre_api *api, const char *name, int *port, int *pin)
{
	unsigned p, n;
	if (!ocre_api_valid_name(name))
		return -EINVAL;
	if (!ocre_context_gpio_find(api->context, name, &p, &n))
		return -ENODEV;
	*port = (int)p;
	*pin = (int)n;
	return 0;
}

#define BY_NAME(exec_env, name)                                                                                        \
	int port, pin;                                                                                                 \
	ENTER(exec_env);                                                                                               \
	if ((err = find(api, name, &port, &pin)) != 0)                                                                 \
	return err

static int gpio_configure_by_name(wasm_exec_env_t exec_env, const char *name, int direction)
{
	BY_NAME(exec_env, name);
	return configure(api, exec_env, port, pin, direction);
}

static int gpio_set_by_name(wasm_exec_env_t exec_env, const char *name, int state)
{
	BY_NAME(exec_env, name);
	return call(api, exec_env, OCRE_DEVICE_GPIO_SET, port, pin, state != 0);
}

static int gpio_get_by_name(wasm_exec_env_t exec_env, const char *name)
{
	BY_NAME(exec_env, name);
	return call(api, exec_env, OCRE_DEVICE_GPIO_GET, port, pin, 0);
}

static int gpio_toggle_by_name(wasm_exec_env_t exec_env, const char *name)
{
	BY_NAME(exec_env, name);
	return toggle(api, exec_env, port, pin);
}

static int gpio_register_callback_by_name(wasm_exec_env_t exec_env, const char *name)
{
	BY_NAME(exec_env, name);
	return register_callback(api, port, pin);
}

static int gpio_unregister_callback_by_name(wasm_exec_env_t exec_env, const char *name)
{
	BY_NAME(exec_env, name);
	return unregister_callback(api, port, pin);
}

static NativeSymbol natives[] = {
    {"ocre_gpio_init", (void *)gpio_init, "()i", NULL},
    {"ocre_gpio_configure", (void *)gpio_configure, "(iii)i", NULL},
    {"ocre_gpio_pin_set", (void *)gpio_pin_set, "(iii)i", NULL},
    {"ocre_gpio_pin_get", (void *)gpio_pin_get, "(ii)i", NULL},
    {"ocre_gpio_pin_toggle", (void *)gpio_pin_toggle, "(ii)i", NULL},
    {"ocre_gpio_register_callback", (void *)gpio_register_callback, "(ii)i", NULL},
    {"ocre_gpio_unregister_callback", (void *)gpio_unregister_callback, "(ii)i", NULL},
    {"ocre_gpio_configure_by_name", (void *)gpio_configure_by_name, "($i)i", NULL},
    {"ocre_gpio_set_by_name", (void *)gpio_set_by_name, "($i)i", NULL},
    {"ocre_gpio_get_by_name", (void *)gpio_get_by_name, "($)i", NULL},
    {"ocre_gpio_toggle_by_name", (void *)gpio_toggle_by_name, "($)i", NULL},
    {"ocre_gpio_register_callback_by_name", (void *)gpio_register_callback_by_name, "($)i", NULL},
    {"ocre_gpio_unregister_callback_by_name", (void *)gpio_unregister_callback_by_name, "($)i", NULL},
};

bool ocre_api_gpio_register(void)
{
	return wasm_runtime_register_natives("env", natives, sizeof(natives) / sizeof(natives[0]));
}

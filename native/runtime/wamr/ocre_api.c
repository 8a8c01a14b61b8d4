/* The Ocre application API (module "env", SPEC §9): uname() and ocre_sleep(),
 * which need no capability, and the registration of every group (events,
 * timers, messaging, sensors, GPIO: api_*.c), which need `ocre:api`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "api.h"
#include "engine.h"

#define OCRE_UTS_FIELD 65

/* The guest's struct utsname as the Ocre SDK declares it: five 65-byte fields. */
struct ocre_guest_utsname {
	char sysname[OCRE_UTS_FIELD];
	char nodename[OCRE_UTS_FIELD];
	char release[OCRE_UTS_FIELD];
	char version[OCRE_UTS_FIELD];
	char machine[OCRE_UTS_FIELD];
};

/* Park while paused; false once killed (the killed exception is set). */
static bool checkpoint(wasm_exec_env_t exec_env, struct wamr_container *wc)
{
	if (wc && !ocre_wasi_checkpoint(wc)) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
		return false;
	}
	return true;
}

static int api_uname(wasm_exec_env_t exec_env, struct ocre_guest_utsname *name)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	struct utsname info;

	if (!checkpoint(exec_env, ocre_wamr_from_exec_env(exec_env)))
		return -EINTR;
	if (!ocre_api_native_range(inst, name, sizeof(*name)))
		return -EFAULT;
	if (uname(&info) != 0)
		return -errno;
	memset(name, 0, sizeof(*name));
	snprintf(name->sysname, OCRE_UTS_FIELD, "ocre-node (%.50s)", info.sysname);
	snprintf(name->nodename, OCRE_UTS_FIELD, "%s", info.nodename);
	snprintf(name->release, OCRE_UTS_FIELD, "%s", info.release);
	snprintf(name->version, OCRE_UTS_FIELD, "%s", info.version);
	snprintf(name->machine, OCRE_UTS_FIELD, "%s", info.machine);
	return 0;
}

static int api_sleep(wasm_exec_env_t exec_env, int milliseconds)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);

	if (!checkpoint(exec_env, wc))
		return -EINTR;
	if (milliseconds <= 0)
		return 0;
	if (!wc)
		return -EFAULT;
	if (!ocre_wasi_sleep_ms(wc, (unsigned)milliseconds)) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
		return -EINTR;
	}
	return 0;
}

static NativeSymbol natives[] = {
    {"uname", (void *)api_uname, "(*)i", NULL},
    {"ocre_sleep", (void *)api_sleep, "(i)i", NULL},
};

bool ocre_api_register(void)
{
	return wasm_runtime_register_natives("env", natives, sizeof(natives) / sizeof(natives[0])) &&
	       ocre_api_events_register() && ocre_api_timers_register() && ocre_api_messaging_register() &&
	       ocre_api_sensors_register() && ocre_api_gpio_register();
}

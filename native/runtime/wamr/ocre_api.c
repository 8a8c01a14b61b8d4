/* The Ocre host API (module "env"), for containers with the `ocre:api`
 * capability: uname() and ocre_sleep(). A container without the capability
 * that calls them traps with a message saying so. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "engine.h"

#define OCRE_UTS_FIELD 65

/* The guest's struct utsname as Ocre's SDK declares it: six 65-byte fields. */
struct ocre_guest_utsname {
	char sysname[OCRE_UTS_FIELD];
	char nodename[OCRE_UTS_FIELD];
	char release[OCRE_UTS_FIELD];
	char version[OCRE_UTS_FIELD];
	char machine[OCRE_UTS_FIELD];
	char domainname[OCRE_UTS_FIELD];
};

static bool granted(wasm_exec_env_t exec_env)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);
	if (!wc->ocre_api) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env),
		                           "the Ocre API needs the ocre:api capability");
		return false;
	}
	if (!ocre_wasi_checkpoint(wc)) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
		return false;
	}
	return true;
}

static int api_uname(wasm_exec_env_t exec_env, struct ocre_guest_utsname *name)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	struct utsname info;

	if (!granted(exec_env))
		return -1;
	if (!wasm_runtime_validate_native_addr(inst, name, sizeof(*name)) || uname(&info) != 0)
		return -1;
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
	if (!granted(exec_env))
		return -1;
	if (milliseconds <= 0)
		return 0;
	if (!ocre_wasi_sleep_ms(ocre_wamr_from_exec_env(exec_env), (unsigned)milliseconds)) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
		return -1;
	}
	return 0;
}

static NativeSymbol ocre_api_natives[] = {
    {"uname", (void *)api_uname, "(*)i", NULL},
    {"ocre_sleep", (void *)api_sleep, "(i)i", NULL},
};

bool ocre_api_register(void)
{
	return wasm_runtime_register_natives("env", ocre_api_natives,
	                                     sizeof(ocre_api_natives) / sizeof(ocre_api_natives[0]));
}

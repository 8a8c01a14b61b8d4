/* The guest's entry points, called in the container's own exec env.
 *
 * WAMR 1.1.2 runs guest code inside wasm_runtime_instantiate(): the module's
 * start function, and the exports `__post_instantiate` and (for modules
 * without WASI imports) `__wasm_call_ctors`. It does so in an exec env of its
 * own that carries no user data and that nothing outside WAMR can reach: host
 * calls made there could not find their container, a busy loop there could
 * not be killed, and it ran under the image's lock (other containers of the
 * image waited). It also skips a start function that is an import, and calls
 * an exported import through the wrong union member under AOT.
 *
 * So at load, ocre_wamr_entry_detach() takes these entry points off the
 * (shared, read-only afterwards) module: the start function index is cleared
 * and the two hook exports are renamed to names no valid module can export
 * (WebAssembly names are UTF-8; 0xff never is). The run then calls each by
 * function index in its own exec env, after instantiation: the same order as
 * WAMR (post-instantiate, start, constructors, then _start), but killable,
 * with the container reachable from every host call, and outside the image
 * lock. Imports are called through WAMR's native-call path, so an imported
 * start function or _start behaves alike in both tiers. */
#include <string.h>

#include "aot_runtime.h"
#include "engine.h"
#include "wasm_exec_env.h"
#include "wasm_runtime.h"

#define HIDDEN_POST_INST                                                                                               \
	"\xff"                                                                                                         \
	"ocre:__post_instantiate"
#define HIDDEN_CTORS                                                                                                   \
	"\xff"                                                                                                         \
	"ocre:__wasm_call_ctors"

static uint32_t import_count(const struct wamr_module *m)
{
	return m->aot ? ((AOTModule *)m->module)->import_func_count : ((WASMModule *)m->module)->import_function_count;
}

/* The type of function @p index, or NULL if there is no such function. */
static const WASMType *func_type(const struct wamr_module *m, uint32_t index)
{
	uint32_t imports = import_count(m);

	if (m->aot) {
		AOTModule *am = (AOTModule *)m->module;
		if (index < imports)
			return am->import_funcs[index].func_type;
		if (index - imports >= am->func_count)
			return NULL;
		return am->func_types[am->func_type_indexes[index - imports]];
	} else {
		WASMModule *wm = (WASMModule *)m->module;
		if (index < imports)
			return wm->import_functions[index].u.function.func_type;
		if (index - imports >= wm->function_count)
			return NULL;
		return wm->functions[index - imports]->func_type;
	}
}

static bool is_void_to_void(const struct wamr_module *m, uint32_t index)
{
	const WASMType *t = func_type(m, index);
	return t && t->param_count == 0 && t->result_count == 0;
}

/* Find function export @p name; rename it to @p hidden (if not NULL). */
static uint32_t take_export(struct wamr_module *m, const char *name, const char *hidden)
{
	WASMExport *exports;
	uint32_t n, i;

	if (m->aot) {
		exports = ((AOTModule *)m->module)->exports;
		n = ((AOTModule *)m->module)->export_count;
	} else {
		exports = ((WASMModule *)m->module)->exports;
		n = ((WASMModule *)m->module)->export_count;
	}
	for (i = 0; i < n; i++) {
		if (exports[i].kind != EXPORT_KIND_FUNC || strcmp(exports[i].name, name) != 0)
			continue;
		if (hidden)
			exports[i].name = (char *)hidden; /* the loader's string stays owned by the module */
		return exports[i].index;
	}
	return OCRE_WAMR_NO_FUNC;
}

void ocre_wamr_entry_detach(struct wamr_module *m)
{
	uint32_t f;
	bool wasi;

	if (m->aot) {
		AOTModule *am = (AOTModule *)m->module;
		m->entry.start = am->start_func_index;
		am->start_func_index = (uint32_t)-1;
		am->start_function = NULL;
		wasi = am->import_wasi_api;
	} else {
		WASMModule *wm = (WASMModule *)m->module;
		m->entry.start = wm->start_function;
		wm->start_function = (uint32_t)-1;
		wasi = wm->import_wasi_api;
	}
	/* WAMR calls the hooks only when their type is () -> (); so do we */
	f = take_export(m, "__post_instantiate", HIDDEN_POST_INST);
	m->entry.post_inst = f != OCRE_WAMR_NO_FUNC && is_void_to_void(m, f) ? f : OCRE_WAMR_NO_FUNC;
	f = take_export(m, "__wasm_call_ctors", HIDDEN_CTORS);
	m->entry.ctors = f != OCRE_WAMR_NO_FUNC && !wasi && is_void_to_void(m, f) ? f : OCRE_WAMR_NO_FUNC;
	f = take_export(m, "_start", NULL);
	m->entry.main = f;
	m->entry.main_ok = f != OCRE_WAMR_NO_FUNC && is_void_to_void(m, f);
}

bool ocre_wamr_entry_call(const struct wamr_module *m, wasm_exec_env_t exec_env, wasm_module_inst_t inst,
                          uint32_t index)
{
	uint32_t imports = import_count(m), argv[2] = {0, 0};

	if (!m->aot)
		return wasm_runtime_call_wasm(exec_env, &((WASMModuleInstance *)inst)->e->functions[index], 0, argv);
	if (index < imports) {
		/* what AOT code does to call an import (unlinked: an exception) */
		wasm_exec_env_set_thread_info(exec_env);
		return aot_invoke_native(exec_env, index, 0, argv) && !wasm_runtime_get_exception(inst);
	} else {
		AOTModule *am = (AOTModule *)m->module;
		AOTFunctionInstance fi;

		memset(&fi, 0, sizeof(fi));
		fi.func_name = "";
		fi.func_index = index;
		fi.is_import_func = false;
		fi.u.func.func_type = am->func_types[am->func_type_indexes[index - imports]];
		fi.u.func.func_ptr = am->func_ptrs[index - imports];
		return wasm_runtime_call_wasm(exec_env, &fi, 0, argv);
	}
}

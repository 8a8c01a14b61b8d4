/**
 * @file library.h
 * @brief Library initialisation and the engine registry.
 */
#ifndef OCRE_LIBRARY_H
#define OCRE_LIBRARY_H

#include <ocre/runtime/vtable.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Initialise the library once per process: registers the built-in engines
 * (<ocre/runtime/builtin.h>; the first, "wamr/wasip1", is the default), then
 * each engine in @p vtable (a NULL-terminated
 * array, may be NULL). The vtables must stay valid until ocre_deinitialize().
 * @return 0; OCRE_ERR_EXISTS if already initialised or on a duplicate engine
 *         name; OCRE_ERR_INVALID_ARGUMENT for an engine without a name or
 *         without create/destroy/thread_execute; OCRE_ERR_RUNTIME if an
 *         engine's init() fails.
 */
int ocre_initialize(const struct ocre_runtime_vtable *const vtable[]);

/** Destroy every context (see ocre_destroy_context()) and deinit the engines. */
void ocre_deinitialize(void);

/** Whether ocre_initialize() has succeeded and ocre_deinitialize() not run. */
int ocre_is_initialized(void);

/** Library version string with the default engine's product, e.g. "0.1.0 (WAMR 1.1.2)". Static storage. */
const char *ocre_version(void);

#ifdef __cplusplus
}
#endif
#endif

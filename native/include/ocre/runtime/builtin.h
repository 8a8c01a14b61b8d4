/**
 * @file runtime/builtin.h
 * @brief The table of built-in engines, which the build supplies
 *        (native/runtime/engines.c) and ocre_initialize() registers before
 *        the caller's. The core names no engine: adding one is its folder
 *        under native/runtime/ plus one line in that table.
 */
#ifndef OCRE_RUNTIME_BUILTIN_H
#define OCRE_RUNTIME_BUILTIN_H

#include <ocre/runtime/vtable.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ocre_builtin_engine {
	/** The engine (its runtime_name is what containers ask for). */
	const struct ocre_runtime_vtable *vtable;
	/** What it is built on, for ocre_version(), e.g. "WAMR". */
	const char *product;
	/** That product's version, e.g. "1.1.2" (static storage). */
	const char *(*product_version)(void);
};

/** The built-in engines, the default one first; ends with a NULL vtable. */
extern const struct ocre_builtin_engine ocre_builtin_engines[];

#ifdef __cplusplus
}
#endif
#endif

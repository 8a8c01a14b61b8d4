/* The built-in engines (<ocre/runtime/builtin.h>): one line each, the
 * default first. An engine is a folder of native/runtime/ whose
 * CMakeLists.txt adds its objects to OCRE_ENGINE_OBJECTS, and a line here. */
#include <ocre/runtime/builtin.h>
#include <ocre/runtime/wamr.h>

const struct ocre_builtin_engine ocre_builtin_engines[] = {
    {&ocre_wamr_engine, "WAMR", ocre_wamr_version}, /* "wamr/wasip1": native/runtime/wamr/ */
    {NULL, NULL, NULL},
};

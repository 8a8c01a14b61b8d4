/* The library's own sources include "config.h": the POSIX platform's
 * configuration is the public <ocre/platform/config.h> of this directory. */
#include <ocre/platform/config.h>

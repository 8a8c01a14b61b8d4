/* ocre-oci: process.terminal. A pseudo-terminal is opened; its master is
 * sent over the --console-socket (a unix socket, SCM_RIGHTS, as runc does:
 * conmon and containerd's shim then own it) and the slave becomes the
 * container's stdin, stdout and stderr. */
#ifndef OCRE_OCI_CONSOLE_H
#define OCRE_OCI_CONSOLE_H

#include "config.h"

/** Open a pty, send its master to @p socket_path, return the slave fd; -1 with @p err. */
int oci_console_open(const char *socket_path, char *err);

#endif

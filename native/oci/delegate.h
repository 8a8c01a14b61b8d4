/* ocre-oci: native images handed to another OCI runtime.
 *
 * When OCRE_OCI_DELEGATE names a runtime (crun, runc) and `create` finds that
 * process.args[0] is not WebAssembly (e.g. the pause container of a
 * Kubernetes pod), ROOT/ID/delegate records that runtime and every command on
 * that container runs it with the same command line, global options
 * included, but with --root ROOT/.delegate. */
#ifndef OCRE_OCI_DELEGATE_H
#define OCRE_OCI_DELEGATE_H

#include <stdbool.h>

#include "args.h"

/** The delegate recorded for container @p id (malloc'd), or NULL if it is ours. */
char *oci_delegate_of(const char *root, const char *id);

/** Record @p delegate for @p id (creates ROOT/ID). 0, or -1 after printing the error. */
int oci_delegate_mark(const char *root, const char *id, const char *delegate);

/**
 * Run @p delegate with this invocation's command line (@p argv as parsed into
 * @p a) and wait for it. Returns its exit status (1 if it could not run).
 */
int oci_delegate_run(const struct oci_args *a, int argc, char **argv, const char *delegate);

#endif

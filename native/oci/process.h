/* ocre-oci: the container process, forked by `create`.
 *
 * It loads the module into an ocre container (so a bad module fails
 * `create`), reports "ok" or the error on @p sync_fd, then waits until
 * `start` writes to STATE_DIR/exec.fifo. It then runs the container on the
 * ocre library's thread and exits with its status (0-255; 137 killed, 134
 * trapped). SIGTERM, SIGINT, SIGHUP and SIGQUIT ask the container to stop
 * (its stdin sees end-of-file; ocre:api apps get a stop event) and it is
 * killed after the grace period (annotation run.ocre.stop-grace-ms; by
 * default none: the engine sends SIGKILL when its own timeout expires, as
 * `podman stop -t` does). Before start, those signals end the process at once.
 */
#ifndef OCRE_OCI_PROCESS_H
#define OCRE_OCI_PROCESS_H

#include "config.h"

/** Never returns. @p console_slave: the pty slave for a terminal, or -1. */
void oci_container_process(const struct oci_config *cfg, const char *state_dir, int sync_fd, int console_slave)
    __attribute__((noreturn));

#endif

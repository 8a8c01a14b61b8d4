/* ocre-oci: a container's state under --root: ROOT/ID/state.json (written
 * once by create, atomically) and ROOT/ID/exec.fifo (present from create
 * until start). The status is derived, never stored: the container process
 * alive (same pid and start time) with the fifo -> created, without -> running;
 * otherwise stopped. */
#ifndef OCRE_OCI_STATE_H
#define OCRE_OCI_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

struct oci_state {
	char *id;
	char *dir; /**< ROOT/ID */
	char *bundle;
	char *rootfs;
	char *created;     /**< RFC 3339 UTC */
	char *annotations; /**< compact JSON object */
	pid_t pid;
	unsigned long long starttime; /**< /proc/PID/stat field 22, guards against pid reuse */
};

/** "ROOT/ID" (malloc'd) or NULL. */
char *oci_state_dir(const char *root, const char *id);
/** The fifo path of @p dir (malloc'd). */
char *oci_state_fifo(const char *dir);

/** Write DIR/state.json atomically (temp file + rename). 0 or -1 with @p err. */
int oci_state_save(const struct oci_state *st, char *err);
/** Read ROOT/ID/state.json. 0; -1 with @p err ("container ID does not exist" when missing). */
int oci_state_load(const char *root, const char *id, struct oci_state *st, char *err);
void oci_state_free(struct oci_state *st);

/** "created", "running" or "stopped". */
const char *oci_state_status(const struct oci_state *st);
/** Whether the container process (pid + start time) still runs (zombies do not). */
bool oci_process_alive(pid_t pid, unsigned long long starttime);
/** Start time of @p pid from /proc, 0 if unknown. */
unsigned long long oci_process_starttime(pid_t pid);

/** The state JSON of the OCI runtime spec (malloc'd), for `state`. */
char *oci_state_json(const struct oci_state *st);

/** rm -rf @p path without following symlinks (the rootfs link stays untouched). */
int oci_remove_tree(const char *path);

#endif

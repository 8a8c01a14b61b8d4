/* ocre-oci: the command line, as runc's (see docs/oci.md for the table).
 *
 *   ocre-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup]
 *            [--debug] COMMAND [OPTIONS] ID [ARGS]
 *
 * Options take "--opt VALUE" or "--opt=VALUE"; a single dash works as well
 * ("-root"), as with runc's argument parser. */
#ifndef OCRE_OCI_ARGS_H
#define OCRE_OCI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define OCI_DEFAULT_ROOT "/run/ocre-oci"

enum oci_command {
	OCI_CMD_NONE = 0,
	OCI_CMD_CREATE,
	OCI_CMD_START,
	OCI_CMD_STATE,
	OCI_CMD_KILL,
	OCI_CMD_DELETE,
	OCI_CMD_FEATURES,
	OCI_CMD_PS,
	OCI_CMD_LIST,
	OCI_CMD_VERSION,
	OCI_CMD_HELP,
};

/** Pointers into argv: valid as long as argv is. */
struct oci_args {
	const char *root; /**< --root, default oci_default_root() */
	const char *log;  /**< --log */
	bool log_json;    /**< --log-format json */
	enum oci_command command;
	const char *id;
	const char *bundle;         /**< create --bundle/-b (default ".") */
	const char *pid_file;       /**< create --pid-file */
	const char *console_socket; /**< create --console-socket */
	const char *signal;         /**< kill: the signal (default "TERM") */
	bool force;                 /**< delete --force/-f */
	bool json;                  /**< ps/list --format json */
	int command_index;          /**< argv index of the command (global options before it) */
	char root_buf[4096];        /**< holds a default root built from $XDG_RUNTIME_DIR */
};

/**
 * Whether $XDG_RUNTIME_DIR holds the state, as runc decides it: for a user
 * other than root, and for root of a user namespace (rootless Podman runs
 * its runtime as the namespace's root) that owns that directory.
 * @p uid_map is /proc/self/uid_map's text (NULL: unreadable), @p xdg_owner
 * the owner of $XDG_RUNTIME_DIR (-1: none).
 */
bool oci_use_xdg_runtime_dir(unsigned euid, const char *uid_map, long xdg_owner);

/**
 * The state directory when --root is not given: $XDG_RUNTIME_DIR/ocre-oci
 * when @p use_xdg, that variable is an absolute path and the result fits
 * in @p buf; else OCI_DEFAULT_ROOT. Returns @p buf or OCI_DEFAULT_ROOT.
 */
const char *oci_default_root(bool use_xdg, const char *xdg_runtime_dir, char *buf, size_t size);

/** Parse argv (argv[0] the program). 0, or -1 with a usage error in @p err. */
int oci_args_parse(int argc, char **argv, struct oci_args *out, char *err);

/**
 * A signal name or number ("TERM", "SIGTERM", "15", "kill") -> its number;
 * -1 if unknown.
 */
int oci_signal_number(const char *name);

#endif

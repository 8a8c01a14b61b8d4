/* ocre-oci: command-line parsing (see args.h). */
#include "args.h"

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"

/* One option: its long name, short alias (or NULL), whether it takes a value,
 * and where the value (or "1" for a flag) goes; NULL target = accepted and ignored. */
struct opt {
	const char *name;
	const char *alias;
	bool value;
	int field;
};

enum { F_IGNORE, F_ROOT, F_LOG, F_LOG_FORMAT, F_BUNDLE, F_PID_FILE, F_CONSOLE, F_FORCE, F_FORMAT };

static const struct opt global_opts[] = {
    {"root", NULL, true, F_ROOT},
    {"log", NULL, true, F_LOG},
    {"log-format", NULL, true, F_LOG_FORMAT},
    {"systemd-cgroup", NULL, false, F_IGNORE},
    {"debug", NULL, false, F_IGNORE},
    {"rootless", NULL, true, F_IGNORE},
    {"criu", NULL, true, F_IGNORE},
    {NULL, NULL, false, 0},
};
static const struct opt create_opts[] = {
    {"bundle", "b", true, F_BUNDLE},           {"pid-file", NULL, true, F_PID_FILE},
    {"console-socket", NULL, true, F_CONSOLE}, {"no-pivot", NULL, false, F_IGNORE},
    {"no-new-keyring", NULL, false, F_IGNORE}, {"preserve-fds", NULL, true, F_IGNORE},
    {"notify-socket", NULL, true, F_IGNORE},   {NULL, NULL, false, 0},
};
static const struct opt kill_opts[] = {{"all", "a", false, F_IGNORE}, {NULL, NULL, false, 0}};
static const struct opt delete_opts[] = {{"force", "f", false, F_FORCE}, {NULL, NULL, false, 0}};
static const struct opt format_opts[] = {
    {"format", "f", true, F_FORMAT}, {"quiet", "q", false, F_IGNORE}, {NULL, NULL, false, 0}};
static const struct opt no_opts[] = {{NULL, NULL, false, 0}};

struct command {
	const char *name;
	enum oci_command cmd;
	const struct opt *opts;
	int min_args, max_args; /* positional: ID [SIGNAL] */
};

static const struct command commands[] = {
    {"create", OCI_CMD_CREATE, create_opts, 1, 1}, {"start", OCI_CMD_START, no_opts, 1, 1},
    {"state", OCI_CMD_STATE, no_opts, 1, 1},       {"kill", OCI_CMD_KILL, kill_opts, 1, 2},
    {"delete", OCI_CMD_DELETE, delete_opts, 1, 1}, {"features", OCI_CMD_FEATURES, no_opts, 0, 0},
    {"ps", OCI_CMD_PS, format_opts, 1, 1},         {"list", OCI_CMD_LIST, format_opts, 0, 0},
    {"help", OCI_CMD_HELP, no_opts, 0, 1},         {NULL, OCI_CMD_NONE, NULL, 0, 0},
};

/* Commands of runc that a wasm runtime does not offer: a clear refusal. */
static const char *const unsupported[] = {"exec", "pause",  "resume", "update", "checkpoint", "restore",
                                          "run",  "events", "spec",   "ps-all", NULL};

static int set_field(struct oci_args *a, int field, const char *value, const char *name, char *err)
{
	switch (field) {
	case F_ROOT:
		if (value[0] != '/')
			return oci_errf(err, "--root must be an absolute path, not \"%s\"", value);
		a->root = value;
		break;
	case F_LOG:
		a->log = value;
		break;
	case F_LOG_FORMAT:
		if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0)
			return oci_errf(err, "--log-format must be text or json, not \"%s\"", value);
		a->log_json = strcmp(value, "json") == 0;
		break;
	case F_BUNDLE:
		a->bundle = value;
		break;
	case F_PID_FILE:
		a->pid_file = value;
		break;
	case F_CONSOLE:
		a->console_socket = value;
		break;
	case F_FORCE:
		a->force = true;
		break;
	case F_FORMAT:
		if (strcmp(value, "json") != 0 && strcmp(value, "table") != 0)
			return oci_errf(err, "--%s must be table or json, not \"%s\"", name, value);
		a->json = strcmp(value, "json") == 0;
		break;
	default:
		break;
	}
	return 0;
}

/* argv[*i] is an option ("-x", "--xx", "--xx=v"): consume it (and its value). */
static int take_option(const struct opt *opts, int argc, char **argv, int *i, struct oci_args *a, const char *where,
                       char *err)
{
	const char *arg = argv[*i], *name = arg + (arg[1] == '-' ? 2 : 1), *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct opt *o;

	for (o = opts; o->name; o++) {
		if (!((strlen(o->name) == len && strncmp(o->name, name, len) == 0) ||
		      (o->alias && strlen(o->alias) == len && strncmp(o->alias, name, len) == 0)))
			continue;
		if (!o->value) {
			if (eq && strcmp(eq + 1, "true") != 0 && strcmp(eq + 1, "false") != 0)
				return oci_errf(err, "option --%s takes no value", o->name);
			return eq && strcmp(eq + 1, "false") == 0 ? 0 : set_field(a, o->field, "1", o->name, err);
		}
		if (eq)
			return set_field(a, o->field, eq + 1, o->name, err);
		if (*i + 1 >= argc)
			return oci_errf(err, "option --%s needs a value", o->name);
		*i += 1;
		return set_field(a, o->field, argv[*i], o->name, err);
	}
	return oci_errf(err, "unknown option %.*s%s", (int)(len + (size_t)(name - arg)), arg, where);
}

bool oci_use_xdg_runtime_dir(unsigned euid, const char *uid_map, long xdg_owner)
{
	unsigned long inside, outside, count;

	if (euid != 0)
		return true;
	/* the initial namespace maps everything: one line "0 0 4294967295" */
	if (!uid_map || (sscanf(uid_map, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
	                 outside == 0 && count == 4294967295UL))
		return false;
	return xdg_owner == (long)euid;
}

const char *oci_default_root(bool use_xdg, const char *xdg_runtime_dir, char *buf, size_t size)
{
	int n;

	if (!use_xdg || !xdg_runtime_dir || xdg_runtime_dir[0] != '/')
		return OCI_DEFAULT_ROOT;
	n = snprintf(buf, size, "%s/ocre-oci", xdg_runtime_dir);
	return n > 0 && (size_t)n < size ? buf : OCI_DEFAULT_ROOT;
}

/** The default root of this process (its euid, user namespace and $XDG_RUNTIME_DIR). */
static const char *default_root(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char map[256] = "";
	struct stat st;
	FILE *f;
	long owner = -1;
	bool readable = false;

	if ((f = fopen("/proc/self/uid_map", "re"))) {
		readable = fgets(map, sizeof map, f) != NULL;
		fclose(f);
	}
	if (xdg && stat(xdg, &st) == 0)
		owner = (long)st.st_uid;
	return oci_default_root(oci_use_xdg_runtime_dir((unsigned)geteuid(), readable ? map : NULL, owner), xdg, buf,
	                        size);
}

int oci_args_parse(int argc, char **argv, struct oci_args *a, char *err)
{
	const struct command *cmd;
	const char *positional[2];
	int i = 1, n = 0, k;

	memset(a, 0, sizeof(*a));
	a->root = default_root(a->root_buf, sizeof a->root_buf);
	a->bundle = ".";
	a->signal = "TERM";
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
			a->command = OCI_CMD_VERSION;
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			a->command = OCI_CMD_HELP;
			return 0;
		}
		if (take_option(global_opts, argc, argv, &i, a, " (global options go before the command)", err) != 0)
			return -1;
	}
	if (i >= argc)
		return oci_errf(err, "no command given (try ocre-oci --help)");
	for (k = 0; unsupported[k]; k++)
		if (strcmp(argv[i], unsupported[k]) == 0)
			return oci_errf(err,
			                "\"%s\" is not supported by ocre-oci: a WebAssembly container has one process, "
			                "no cgroup and no checkpoint (supported: create, start, state, kill, delete, "
			                "ps, list, features)",
			                argv[i]);
	for (cmd = commands; cmd->name && strcmp(cmd->name, argv[i]) != 0; cmd++)
		;
	if (!cmd->name)
		return oci_errf(err, "unknown command \"%s\" (try ocre-oci --help)", argv[i]);
	a->command = cmd->cmd;
	a->command_index = i;
	for (i++; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++) {
				if (n >= cmd->max_args)
					return oci_errf(err, "%s: too many arguments", cmd->name);
				positional[n++] = argv[i];
			}
			break;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				a->command = OCI_CMD_HELP;
				return 0;
			}
			if (take_option(cmd->opts, argc, argv, &i, a, "", err) != 0)
				return -1;
			continue;
		}
		if (n >= cmd->max_args)
			return oci_errf(err, "%s: too many arguments (\"%s\")", cmd->name, argv[i]);
		positional[n++] = argv[i];
	}
	if (n < cmd->min_args)
		return oci_errf(err, "%s: a container id is required", cmd->name);
	if (n >= 1) {
		a->id = positional[0];
		if (cmd->cmd != OCI_CMD_HELP && !oci_valid_id(a->id))
			return oci_errf(
			    err, "invalid container id \"%s\": use 1-1024 characters of A-Z a-z 0-9 _ + - .", a->id);
	}
	if (n == 2) {
		a->signal = positional[1];
		if (oci_signal_number(a->signal) < 0)
			return oci_errf(err, "unknown signal \"%s\"", a->signal);
	}
	return 0;
}

int oci_signal_number(const char *name)
{
	static const struct {
		const char *name;
		int num;
	} table[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
	             {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"WINCH", SIGWINCH},
	             {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {NULL, 0}};
	char *end;
	long v;
	int i;

	if (!name || !*name)
		return -1;
	if (isdigit((unsigned char)name[0])) {
		v = strtol(name, &end, 10);
		return *end || v < 1 || v > 64 ? -1 : (int)v;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; table[i].name; i++)
		if (strcasecmp(name, table[i].name) == 0)
			return table[i].num;
	return -1;
}

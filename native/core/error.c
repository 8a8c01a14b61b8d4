/* Error codes, their names, and the per-thread last error. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

LOG_MODULE_REGISTER(error);

static __thread ocre_err_t last_code;
static __thread char last_message[512];

static const struct {
	const char *code;
	const char *text;
} errors[OCRE_ERR__COUNT] = {
    [OCRE_OK] = {"OK", "success"},
    [OCRE_ERR_INVALID_ARGUMENT] = {"ERR_OCRE_INVALID_ARGUMENT", "invalid argument"},
    [OCRE_ERR_INVALID_NAME] = {"ERR_OCRE_INVALID_NAME", "invalid name"},
    [OCRE_ERR_INVALID_MOUNT] = {"ERR_OCRE_INVALID_MOUNT", "invalid mount"},
    [OCRE_ERR_INVALID_CAPABILITY] = {"ERR_OCRE_INVALID_CAPABILITY", "unknown capability"},
    [OCRE_ERR_IMAGE_NOT_FOUND] = {"ERR_OCRE_IMAGE_NOT_FOUND", "image not found"},
    [OCRE_ERR_INVALID_IMAGE] = {"ERR_OCRE_INVALID_IMAGE", "invalid image"},
    [OCRE_ERR_EXISTS] = {"ERR_OCRE_EXISTS", "already exists"},
    [OCRE_ERR_NOT_FOUND] = {"ERR_OCRE_NOT_FOUND", "not found"},
    [OCRE_ERR_STATE] = {"ERR_OCRE_STATE", "not allowed in the current state"},
    [OCRE_ERR_RUNTIME] = {"ERR_OCRE_RUNTIME", "runtime error"},
    [OCRE_ERR_NO_MEMORY] = {"ERR_OCRE_NO_MEMORY", "out of memory"},
    [OCRE_ERR_IO] = {"ERR_OCRE_IO", "input/output error"},
    [OCRE_ERR_NOT_INITIALIZED] = {"ERR_OCRE_NOT_INITIALIZED", "library not initialized"},
    [OCRE_ERR_UNSUPPORTED] = {"ERR_OCRE_UNSUPPORTED", "operation not supported"},
    [OCRE_ERR_TIMEOUT] = {"ERR_OCRE_TIMEOUT", "timed out"},
    [OCRE_ERR_NO_AOT] = {"ERR_OCRE_NO_AOT", "no matching AOT artifact"},
    [OCRE_ERR_AOT_REJECTED] = {"ERR_OCRE_AOT_REJECTED", "AOT artifact rejected"},
    [OCRE_ERR_IMAGE_CHANGED] = {"ERR_OCRE_IMAGE_CHANGED", "image changed since it was validated"},
    [OCRE_ERR_BUSY] = {"ERR_OCRE_BUSY", "working directory in use by another process"},
};

const char *ocre_strerror(int err)
{
	if (err < 0 || err >= OCRE_ERR__COUNT)
		return "unknown error";
	return errors[err].text;
}

const char *ocre_error_code(int err)
{
	if (err < 0 || err >= OCRE_ERR__COUNT)
		return "ERR_OCRE_UNKNOWN";
	return errors[err].code;
}

ocre_err_t ocre_last_error(void)
{
	return last_code;
}

const char *ocre_last_error_message(void)
{
	return last_message;
}

void ocre_clear_error(void)
{
	last_code = OCRE_OK;
	last_message[0] = '\0';
}

int ocre_fail(ocre_err_t code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	last_code = code;
	/* A debug record for -v users. ocre_fail() may run with library locks
	 * held, which is why sinks must not call back into the library. */
	LOG_DBG("%s: %s", errors[code].code, last_message);
	return (int)code;
}

/* Image and container names (SPEC §4), and random ids. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#include <ocre/common.h>
#include <ocre/platform/system.h>

#define OCRE_NAME_MAX 255

enum name_problem { NAME_OK, NAME_EMPTY, NAME_TOO_LONG, NAME_LEADING, NAME_CHARS };

static enum name_problem check(const char *name)
{
	size_t i, len;

	if (!name || !*name)
		return NAME_EMPTY;
	len = strlen(name);
	if (len > OCRE_NAME_MAX)
		return NAME_TOO_LONG;
	/* '.': the store's own files; '-': it would read as a command-line option */
	if (name[0] == '.' || name[0] == '-')
		return NAME_LEADING;
	for (i = 0; i < len; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return NAME_CHARS;
	}
	return NAME_OK;
}

int ocre_check_name(const char *what, const char *name)
{
	switch (check(name)) {
	case NAME_EMPTY:
		return ocre_fail(OCRE_ERR_INVALID_NAME, "%s must not be empty", what);
	case NAME_TOO_LONG:
		return ocre_fail(OCRE_ERR_INVALID_NAME, "%s is longer than %d characters", what, OCRE_NAME_MAX);
	case NAME_LEADING:
		return ocre_fail(OCRE_ERR_INVALID_NAME, "%s '%s' must not start with '%c'", what, name, name[0]);
	case NAME_CHARS:
		return ocre_fail(OCRE_ERR_INVALID_NAME, "%s '%s' may only contain a-z, 0-9, '.', '_' and '-'", what,
		                 name);
	case NAME_OK:
		break;
	}
	return OCRE_OK;
}

int ocre_is_valid_name(const char *name)
{
	return check(name) == NAME_OK;
}

void ocre_random_id(char out[9])
{
	unsigned char bytes[4];
	static const char hex[] = "0123456789abcdef";
	int i;

	ocre_platform_random(bytes, sizeof(bytes));
	for (i = 0; i < 4; i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 15];
	}
	out[8] = '\0';
}

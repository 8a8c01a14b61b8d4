/* WAMR's own output (os_printf, bh_log) -> the ocre log sink, module "wamr".
 * WAMR prints a record in pieces (prefix, text, newline), so pieces are
 * collected per thread until the newline. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ocre/platform/log.h>

#include "engine.h"

static __thread char line[OCRE_LOG_MAX_MESSAGE];
static __thread size_t line_len;

static void flush_line(void)
{
	const char *text = line;
	/* bh_log's prefix "[hh:mm:ss:ms - THREADID]: " adds nothing to a record */
	if (text[0] == '[') {
		const char *end = strstr(text, "]: ");
		if (end)
			text = end + 3;
	}
	if (*text)
		ocre_log_emit_text(OCRE_LOG_LEVEL_WRN, "wamr", text);
	line_len = 0;
	line[0] = '\0';
}

int ocre_wamr_vprintf(const char *format, va_list ap)
{
	char piece[OCRE_LOG_MAX_MESSAGE];
	int n = vsnprintf(piece, sizeof(piece), format, ap);
	const char *p = piece;

	if (n < 0)
		return n;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t room = sizeof(line) - 1 - line_len;
		if (len > room)
			len = room;
		memcpy(line + line_len, p, len);
		line_len += len;
		line[line_len] = '\0';
		if (!nl)
			break;
		flush_line();
		p = nl + 1;
	}
	return n;
}

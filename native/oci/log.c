/* ocre-oci: error and log output (see log.h). */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static const char *log_path;
static bool log_json;

int oci_errf(char *err, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(err, OCI_ERR_MAX, fmt, ap);
	va_end(ap);
	for (p = err; *p; p++) /* one line, whatever the config's strings hold */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

void oci_log_setup(const char *path, bool json)
{
	log_path = path;
	log_json = json;
}

static void write_log(const char *level, const char *msg)
{
	char stamp[40], *line = NULL;
	struct timespec ts;
	struct tm tm;
	cJSON *doc;
	int fd;

	if (!log_path)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	if (log_json && (doc = cJSON_CreateObject()) != NULL) {
		if (cJSON_AddStringToObject(doc, "level", level) && cJSON_AddStringToObject(doc, "msg", msg) &&
		    cJSON_AddStringToObject(doc, "time", stamp))
			line = cJSON_PrintUnformatted(doc);
		cJSON_Delete(doc);
		if (line) {
			dprintf(fd, "%s\n", line);
			cJSON_free(line);
		}
	} else {
		dprintf(fd, "%s %s ocre-oci: %s\n", stamp, level, msg);
	}
	close(fd);
}

void oci_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ocre-oci: %s\n", msg);
	write_log("error", msg);
}

void oci_note(const char *level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	write_log(level, msg);
}

/* ocre-oci: its own messages. Errors go to stderr ("ocre-oci: ...") and, with
 * the global --log FILE, are appended there too, as text or, with
 * --log-format json, as {"level","msg","time"} lines (what conmon and
 * containerd's shim read back when a command fails). */
#ifndef OCRE_OCI_LOG_H
#define OCRE_OCI_LOG_H

#include <stdbool.h>

/** Size of the error buffers that the parsing functions fill. */
#define OCI_ERR_MAX 512

/** Format a one-line reason into @p err (OCI_ERR_MAX bytes; control characters become '?'). Returns -1. */
int oci_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Set by the global options; @p path NULL = no log file. */
void oci_log_setup(const char *path, bool json);
/** An error: stderr and the log file. */
void oci_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** A note for the log file only (never stderr: in the container process that is the container's). */
void oci_note(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

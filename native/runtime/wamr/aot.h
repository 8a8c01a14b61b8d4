/* AOT artifacts of images: where they are and whether one may be loaded (aot.c). */
#ifndef OCRE_WAMR_AOT_H
#define OCRE_WAMR_AOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <ocre/runtime/wamr.h>

struct ocre_aot_probe {
	char *meta_path, *artifact_path, *key_path;
	bool present;                     /* a record exists */
	struct stat meta_st, artifact_st; /* artifact_st zeroed if it is missing */
	char meta[OCRE_AOT_RECORD_MAX];   /* the record's text, as read once */
	char problem[160];                /* set if the record is unusable (verify rejects) */
};

/* Read the record of the image at @p img_path and locate the artifact it
 * names. 0, or -1 out of memory. */
int ocre_aot_probe(const char *img_path, struct ocre_aot_probe *p);
void ocre_aot_probe_free(struct ocre_aot_probe *p);
/* Same file version (device, inode, size, mtime, ctime). */
bool ocre_aot_same_files(const struct stat *a, const struct stat *b);

/* Verify the probed artifact against @p image's bytes. On OK, @p artifact
 * receives the verified bytes (malloc'd: release with free()); otherwise
 * @p why says why not, as a phrase about the image ("it has no AOT artifact"). */
enum ocre_aot_verdict ocre_aot_verify(const struct ocre_aot_probe *p, const char *wamr_version, const uint8_t *image,
                                      size_t image_size, uint8_t **artifact, size_t *artifact_size, char *why,
                                      size_t why_size);

/* The architecture artifacts must be compiled for: this build's. */
#if defined(__x86_64__)
#define OCRE_AOT_TARGET "x86_64"
#elif defined(__aarch64__)
#define OCRE_AOT_TARGET "aarch64"
#else
#define OCRE_AOT_TARGET "unsupported" /* no artifact ever matches */
#endif

#endif

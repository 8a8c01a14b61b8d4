/* The image store's AOT side for the C tests (see aotstore.c). */
#ifndef OCRE_TEST_AOTSTORE_H
#define OCRE_TEST_AOTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern uint8_t store_key[32];

/* Create images/.aot with the store key. false (nothing done) when the AOT
 * compiler was not built (OCRE_AOTC unset). */
bool aot_store_setup(void);
/* Compile images/<name> to an artifact with ocre-aotc and record it. */
bool compile(const char *name);
void hex_of(const void *data, size_t size, char out[65]);
void path_in_images(char *out, size_t size, const char *rel);
char *slurp(const char *path, size_t *size);
bool write_file(const char *path, const void *data, size_t size, int mode);
bool file_digest(const char *path, char hex[65], size_t *size);
/* Write the record of images/.aot/<artifact> for image <name>; @p image_sha,
 * @p wamr, @p machine override what a correct record says (NULL: correct). */
void write_record(const char *name, const char *artifact, const char *image_sha, const char *wamr, const char *machine);
/* The "bounds" write_record() records (NULL: this build's, ocre_aot_bounds()). */
extern const char *record_bounds;
/* The artifact path the current record of <name> names. */
void current_artifact(const char *name, char *out, size_t size);
/* Copy to a new inode, as the store's atomic rename gives. */
bool copy_file(const char *from, const char *to);

#endif

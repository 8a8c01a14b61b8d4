/* Image loader (the default): a private mapping of the file where the file
 * cannot change, a private copy everywhere else.
 *
 * WAMR keeps pointing into the buffer for as long as the module is loaded
 * (data segments are copied from it at every instantiation, names are
 * compared in place). A mapping of a file that another program truncates or
 * rewrites in place (`truncate`, `cp other.wasm images/app.wasm`) faults
 * with SIGBUS on the next access past the new end, and shows rewritten
 * content to a module that was validated with the old one. So a file is
 * mapped only when it lives on a filesystem that cannot be written at all
 * (squashfs, erofs, cramfs, romfs, iso9660: the read-only images embedded
 * gateways ship their apps on); anything else is read once into anonymous
 * private memory (also mapped, so one unload path serves both). Then nothing
 * any other program does to the file can reach a loaded module. */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "file_open.h"

#include <ocre/platform/file.h>

/* statfs(2) f_type of filesystems that have no write support at all (a
 * read-only mount of a writable filesystem can be remounted read-write). */
static int immutable_filesystem(int fd)
{
	static const unsigned long types[] = {
	    0x73717368, /* squashfs */
	    0xe0f5e1e2, /* erofs */
	    0x28cd3d45, /* cramfs */
	    0x7275,     /* romfs */
	    0x9660,     /* iso9660 */
	};
	struct statfs sf;
	size_t i;

	if (fstatfs(fd, &sf) != 0)
		return 0;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((unsigned long)sf.f_type == types[i])
			return 1;
	return 0;
}

/* Read @p size bytes of @p fd into fresh anonymous memory. A file that
 * shrinks meanwhile gives what was there (*size updated); the caller
 * validates those exact bytes. */
static void *read_private(int fd, size_t *size)
{
	uint8_t *buffer;
	size_t done = 0;

	buffer = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buffer == MAP_FAILED)
		return NULL;
	while (done < *size) {
		ssize_t n = read(fd, buffer + done, *size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			munmap(buffer, *size);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done == 0) {
		munmap(buffer, *size);
		errno = EINVAL; /* emptied meanwhile: as an empty file */
		return NULL;
	}
	if (done < *size) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		size_t keep = (done + page - 1) & ~(page - 1), mapped = (*size + page - 1) & ~(page - 1);
		if (keep < mapped)
			munmap(buffer + keep, mapped - keep);
		*size = done;
	}
	return buffer;
}

void *ocre_load_file(const char *path, size_t *size)
{
	size_t len;
	void *buffer;
	int fd = ocre_file_open_image(path, size, &len);

	if (fd < 0)
		return NULL;
	if (immutable_filesystem(fd)) {
		buffer = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (buffer == MAP_FAILED)
			return ocre_file_fail(fd);
	} else if (!(buffer = read_private(fd, &len))) {
		return ocre_file_fail(fd);
	}
	close(fd);
	*size = len;
	return buffer;
}

int ocre_unload_file(void *buffer, size_t size)
{
	if (!buffer || !size)
		return -1;
	return munmap(buffer, size);
}

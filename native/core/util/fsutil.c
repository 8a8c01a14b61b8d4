/* mkdir -p and rm -rf. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int ocre_mkdir_p(const char *path, int mode)
{
	char *copy, *p;
	int ret = 0;

	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	copy = strdup(path);
	if (!copy)
		return -1;
	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST) {
			ret = -1;
			goto out;
		}
		*p = '/';
	}
	if (mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST)
		ret = -1;
out:
	free(copy);
	if (ret == 0) {
		struct stat st;
		if (stat(path, &st) != 0)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
	}
	return ret;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int ocre_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	/* FTW_PHYS: never follow symlinks a container planted out of its directory */
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* NULL-terminated string vectors and path joining. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

size_t ocre_strv_len(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **ocre_strv_dup(const char **v)
{
	size_t n = ocre_strv_len(v), i;
	char **out = calloc(n + 1, sizeof(char *));

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		out[i] = strdup(v[i]);
		if (!out[i]) {
			ocre_strv_free(out);
			return NULL;
		}
	}
	return out;
}

void ocre_strv_free(char **v)
{
	size_t i;
	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

char *ocre_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *out = malloc(la + lb + 2);

	if (!out)
		return NULL;
	memcpy(out, a, la);
	if (la && a[la - 1] == '/')
		la--;
	out[la] = '/';
	memcpy(out + la + 1, b, lb + 1);
	return out;
}

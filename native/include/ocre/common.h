/**
 * @file common.h
 * @brief Ocre's <ocre/common.h>: the name rule and the build configuration.
 */
#ifndef OCRE_COMMON_H
#define OCRE_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

/** What this build of the library is. Strings are static. */
struct ocre_config {
	const char *version;    /**< library version, e.g. "0.1.0" */
	const char *commit_id;  /**< source commit, or "unknown" */
	const char *build_info; /**< compiler and target */
	const char *build_date; /**< UTC, "YYYY-MM-DD HH:MM:SS" (SOURCE_DATE_EPOCH when set) */
};

/** The configuration of this build (read-only). */
extern const struct ocre_config ocre_build_configuration;

/**
 * 1 if @p name is a valid image or container name (non-empty, only
 * [a-z0-9._-], not starting with '.' or '-'), else 0 (also for NULL). Sets no error.
 */
int ocre_is_valid_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif

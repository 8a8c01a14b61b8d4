// Image names (SPEC §4): non-empty, at most 255 characters of [a-z0-9._-],
// not starting with '.' (the store keeps its own files under such names, so
// they are never images) nor with '-' (a command line would read it as an
// option: `ocre image rm -rf`). Container ids follow the same rules.
import { OcreError } from '../errors'
import { typeError } from '../validate'

export const NAME_MAX = 255

/** The reason `name` is not a valid image name, or null if it is valid. */
export function imageNameProblem(name: string): string | null {
  if (name.length === 0) return 'image name must not be empty'
  if (name.length > NAME_MAX) return `image name is longer than ${NAME_MAX} characters`
  if (name.startsWith('.')) return `image name '${name}' must not start with '.'`
  if (name.startsWith('-')) return `image name '${name}' must not start with '-'`
  if (!/^[a-z0-9._-]+$/.test(name)) return `image name '${name}' may only contain a-z, 0-9, '.', '_' and '-'`
  return null
}

/** True if `name` can name an image (SPEC §4). */
export function isValidImageName(name: unknown): name is string {
  return typeof name === 'string' && imageNameProblem(name) === null
}

/**
 * A valid image name close to `base` (lower-cased, other characters replaced
 * by '-', leading dots and dashes dropped), or null if nothing is left.
 */
export function suggestImageName(base: string): string | null {
  const s = base
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, NAME_MAX)
  return s && isValidImageName(s) ? s : null
}

/** `name` if it is a valid image name; TypeError for a non-string, ERR_OCRE_INVALID_NAME otherwise. */
export function checkName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string') throw typeError('a string', what, name)
  const problem = imageNameProblem(name)
  if (problem) throw new OcreError('ERR_OCRE_INVALID_NAME', problem)
  return name
}

/** The default name for a source whose path ends in `base` (SPEC §4 or an error suggesting one). */
export function derivedName(base: string, from: string): string {
  if (!base) throw new OcreError('ERR_OCRE_INVALID_NAME', `cannot derive an image name from ${from}; pass a name`)
  const problem = imageNameProblem(base)
  if (!problem) return base
  const suggestion = suggestImageName(base)
  throw new OcreError(
    'ERR_OCRE_INVALID_NAME',
    `${problem} (derived from ${from}); pass a valid name` + (suggestion ? `, e.g. '${suggestion}'` : ''),
  )
}

// The image store and what comes with it (`ocre-node/images`, also usable without the addon):
//   names.ts     image name rules (SPEC §4)
//   options.ts   the store operations' options and their checks
//   gate.ts      the V8 validation gate and its process-wide verdict cache
//   tempfile.ts  temp files of the store: write, fsync, sweep
//   http.ts      the HTTP client of pulls (redirects, timeout, abort)
//   meta.ts      sidecars, digests of files without one, sweeps
//   admit.ts     the one way into the store (temp file, checks, atomic naming)
//   errors.ts    the store's errors (always an OcreError with a code)
//   store.ts     ImageStore, which uses all of the above
export { ImageStore, type HashProgress, type ImageInfo, type ImageSource, type ListOptions } from './store'
export { imageNameProblem, isValidImageName, suggestImageName } from './names'
export { type AddOptions, DEFAULT_MAX_BYTES, type PullOptions, type PushOptions } from './options'
export type { PushResult } from '../registry'
export { checkLoadable, wasmProblem } from './gate'
export { DEFAULT_PULL_TIMEOUT, MAX_REDIRECTS } from './http'
export type { Progress } from './tempfile'

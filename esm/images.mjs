// ESM entry point of `ocre-node/images`: the image store on its own, without
// the native addon (the CommonJS build re-exported by name, one instance).
// test/97.package.test.ts checks these names against dist's.
import cjs from '../dist/images/index.js'

export const {
  ImageStore,
  imageNameProblem,
  isValidImageName,
  suggestImageName,
  wasmProblem,
  DEFAULT_MAX_BYTES,
  DEFAULT_PULL_TIMEOUT,
  MAX_REDIRECTS,
  checkLoadable,
} = cjs

// The OCI runtime `ocre-oci` (native/oci/; not the OCI registry client of
// lib/registry/): a native program that container
// engines (Podman, CRI-O, containerd) call to run wasm images; see docs/oci.md.
import path from 'node:path'
import { OcreError } from './errors'
import { builtProgram } from './programs'

/**
 * Absolute path of `ocre-oci`, or null when it was not built (it needs cJSON
 * when the package is built: `apt-get install libcjson-dev`, then
 * `npm run build`). `OCRE_OCI` overrides it.
 */
export function ociRuntimePath(): string | null {
  if (process.env.OCRE_OCI) return path.resolve(process.env.OCRE_OCI)
  return builtProgram('ocre-oci')
}

/** The error for a missing `ocre-oci`. */
export function noOciRuntime(): OcreError {
  return new OcreError(
    'ERR_OCRE_NO_OCI_RUNTIME',
    'the OCI runtime ocre-oci is not built: it needs cJSON when the package is built ' +
      '(Debian: apt-get install libcjson-dev, then npm run build)',
  )
}

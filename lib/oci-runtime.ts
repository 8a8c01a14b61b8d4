// The OCI runtime `ocre-oci` (native/oci/; not the OCI registry client of
// lib/registry/): a native program that container
// engines (Podman, CRI-O, containerd) call to run wasm images; see docs/oci.md.
import fs from 'node:fs'
import path from 'node:path'
import { OcreError } from './errors'
import { builtProgram } from './programs'

/**
 * Absolute path of `ocre-oci`: `OCRE_OCI` if set; else the one built from
 * source (build/Release/, which needs cJSON when the package is built:
 * `apt-get install libcjson-dev`, then `npm run build`); else the one
 * beside the prebuilt addon this machine loads (prebuilds/PLATFORM-ARCH/,
 * with the libcjson.so.1 it uses); else null.
 */
export function ociRuntimePath(): string | null {
  if (process.env.OCRE_OCI) return path.resolve(process.env.OCRE_OCI)
  return builtProgram('ocre-oci') ?? prebuiltProgram('ocre-oci')
}

/**
 * NAME in prebuilds/PLATFORM-ARCH/ (beside the prebuilt addon), if
 * executable and built for this machine: the prebuilds are for glibc, and
 * on 32-bit ARM for ARMv7 (the tags node-gyp-build checks for the addon).
 */
function prebuiltProgram(name: string): string | null {
  if (fs.existsSync('/etc/alpine-release')) return null // musl
  if (process.arch === 'arm' && Number((process.config.variables as { arm_version?: string }).arm_version ?? 0) < 7)
    return null
  const file = path.join(__dirname, '..', 'prebuilds', `${process.platform}-${process.arch}`, name)
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return path.resolve(file)
  } catch {
    return null
  }
}

/** The error for a missing `ocre-oci`. */
export function noOciRuntime(): OcreError {
  return new OcreError(
    'ERR_OCRE_NO_OCI_RUNTIME',
    'the OCI runtime ocre-oci is not available: no prebuild for this machine has it and it was not built ' +
      '(it needs cJSON when the package is built: Debian: apt-get install libcjson-dev, then npm run build)',
  )
}

// OCI registry client of the image store (`images.pull('oci://...')`,
// `images.push()`, `ocre image pull|push`):
//   reference.ts  oci://HOST[:PORT]/REPO[:TAG|@DIGEST] and HOST/REPO:TAG
//   auth.ts       docker config.json credentials, WWW-Authenticate challenges
//   client.ts     requests: auth (Basic, Bearer token), redirects, idle timeout
//   pull.ts       manifest negotiation (index -> wasi/wasm, manifest -> wasm layer), verified blob stream
//   push.ts       a module as a wasm artifact (config + one layer + manifest)
import { authFilePath, readCredentials } from './auth'
import { RegistryClient } from './client'
import type { OciReference } from './reference'

export { defaultImageName, formatReference, type OciReference, parseOciReference } from './reference'
export { type Descriptor, MAX_MANIFEST_BYTES, pullModule, WASM_LAYER_TYPES } from './pull'
export { type PushResult, pushModule, WASM_CONFIG } from './push'

/** Registry options of images.pull() and images.push(). */
export interface RegistryOptions {
  /** A docker config.json with credentials (default: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json). */
  authFile?: string
  /** Plain http for a registry not on the loopback interface (loopback registries always use http). */
  insecure?: boolean
}

export function registryClient(
  ref: OciReference,
  options: RegistryOptions & { timeout: number; signal?: AbortSignal },
  code: 'ERR_OCRE_PULL' | 'ERR_OCRE_PUSH',
): RegistryClient {
  const file = authFilePath(options.authFile)
  return new RegistryClient(ref, {
    credentials: readCredentials(ref.registry, file, options.authFile !== undefined),
    credentialsFile: file,
    insecure: options.insecure ?? false,
    timeout: options.timeout,
    signal: options.signal,
    code,
    actions: code === 'ERR_OCRE_PUSH' ? 'pull,push' : 'pull',
  })
}

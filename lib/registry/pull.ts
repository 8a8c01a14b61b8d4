// Pull a WebAssembly module from an OCI registry (distribution spec):
// resolve the reference to an image manifest (through an image index's
// wasi/wasm platform entry if there is one), pick its WebAssembly layer, and
// stream that blob into the store's temp file, verifying every manifest's
// and the blob's digest. The store admits the result (validation, atomic
// rename); anything failing here leaves nothing behind.
import { createHash } from 'node:crypto'
import { OcreError } from '../errors'
import { RegistryClient } from './client'
import { formatReference } from './reference'

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
/** The wasm artifact layer (CNCF TAG Runtime "wasm OCI artifact"), and older or generic spellings. */
export const WASM_LAYER_TYPES = [
  'application/vnd.wasm.content.layer.v1+wasm',
  'application/vnd.module.wasm.content.layer.v1+wasm',
  'application/wasm',
] as const
/** Filesystem layers: a module inside a tar is not supported. */
const TAR_LAYER = /\.tar(\.|\+|$)|tar\.gzip|rootfs/

/** Manifests larger than this are refused (the spec recommends registries accept at least 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os?: string; architecture?: string }
}

/** Where the module goes: the store's TempFile. */
export interface PullSink {
  readonly received: number
  checkTotal(total: number | undefined): void
  write(chunk: Uint8Array): Promise<void>
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

function isDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor
  return !!x && typeof x.mediaType === 'string' && typeof x.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(x.digest) &&
    Number.isSafeInteger(x.size) && x.size >= 0
}

function describePlatforms(list: Descriptor[]): string {
  return list.map((d) => `${d.platform?.os ?? '?'}/${d.platform?.architecture ?? '?'}`).join(', ') || 'none'
}

function isWasmPlatform(d: Descriptor): boolean {
  const os = d.platform?.os
  const arch = d.platform?.architecture
  return (os === 'wasi' || os === 'wasip1') && (arch === 'wasm' || arch === 'wasm32')
}

/** GET a manifest (by tag or digest), verify its digest, parse it. */
async function fetchManifest(
  client: RegistryClient,
  reference: string,
  expected: { digest?: string; size?: number },
): Promise<{ mediaType: string; digest: string; body: Record<string, unknown> }> {
  const res = await client.request(client.url(`manifests/${reference}`), {
    headers: { accept: [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ') },
  })
  const where = `${formatReference({ ...client.ref, tag: undefined, digest: undefined })}:${reference}`
  if (res.status === 404) {
    await res.discard()
    throw client.fail(`manifest ${where} not found (HTTP 404)`)
  }
  if (res.status !== 200) throw client.fail(`GET manifest ${where}: ${await res.errorText()}`)
  const limit = expected.size !== undefined ? Math.min(expected.size, MAX_MANIFEST_BYTES) : MAX_MANIFEST_BYTES
  const bytes = await res.bytes(limit)
  const digest = sha256(bytes)
  if (expected.digest && digest !== expected.digest)
    throw new OcreError('ERR_OCRE_DIGEST_MISMATCH', `manifest ${where} has digest ${digest}, expected ${expected.digest}`)
  const header = res.headers.get('docker-content-digest')
  if (header && /^sha256:/.test(header) && header !== digest)
    throw new OcreError('ERR_OCRE_DIGEST_MISMATCH', `manifest ${where} has digest ${digest}, the registry says ${header}`)
  let body: Record<string, unknown>
  try {
    body = JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    throw new OcreError('ERR_OCRE_INVALID_IMAGE', `manifest ${where} is not JSON: ${(err as Error).message}`)
  }
  if (!body || typeof body !== 'object') throw new OcreError('ERR_OCRE_INVALID_IMAGE', `manifest ${where} is not a JSON object`)
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0].trim()
  const mediaType = typeof body.mediaType === 'string' ? body.mediaType : contentType
  return { mediaType, digest, body }
}

/** The image manifest's descriptor of the module. */
function pickLayer(where: string, manifest: Record<string, unknown>): Descriptor {
  const layers = manifest.layers
  if (!Array.isArray(layers) || !layers.every(isDescriptor))
    throw new OcreError('ERR_OCRE_INVALID_IMAGE', `manifest of ${where} has no valid layers list`)
  const wasm = layers.filter((l) => (WASM_LAYER_TYPES as readonly string[]).includes(l.mediaType))
  if (wasm.length === 1) return wasm[0]
  if (wasm.length > 1)
    throw new OcreError('ERR_OCRE_INVALID_IMAGE', `${where} has ${wasm.length} WebAssembly layers; expected one`)
  const types = layers.map((l) => l.mediaType).join(', ') || 'none'
  if (layers.length === 1 && !TAR_LAYER.test(layers[0].mediaType)) return layers[0] // a single-layer image: the module itself
  throw new OcreError(
    'ERR_OCRE_INVALID_IMAGE',
    `${where} has no WebAssembly layer (layers: ${types}); expected one ${WASM_LAYER_TYPES[0]} layer` +
      (layers.some((l) => TAR_LAYER.test(l.mediaType)) ? ' (filesystem tar layers are not supported)' : ''),
  )
}

/**
 * Resolve `ref` and stream its module into `sink`. Returns the manifest's
 * digest (what `ref` pins) and the layer's descriptor.
 */
export async function pullModule(client: RegistryClient, sink: PullSink): Promise<{ manifestDigest: string; layer: Descriptor }> {
  const ref = client.ref
  const where = formatReference(ref)
  let m = await fetchManifest(client, ref.digest ?? (ref.tag as string), { digest: ref.digest })
  if (m.mediaType === OCI_INDEX || m.mediaType === DOCKER_LIST || Array.isArray(m.body.manifests)) {
    const list = m.body.manifests
    if (!Array.isArray(list) || !list.every(isDescriptor))
      throw new OcreError('ERR_OCRE_INVALID_IMAGE', `image index of ${where} has no valid manifests list`)
    const entry = list.find(isWasmPlatform)
    if (!entry)
      throw new OcreError(
        'ERR_OCRE_INVALID_IMAGE',
        `image index of ${where} has no wasi/wasm platform entry (platforms: ${describePlatforms(list)})`,
      )
    m = await fetchManifest(client, entry.digest, { digest: entry.digest, size: entry.size })
  }
  if (m.mediaType !== OCI_MANIFEST && m.mediaType !== DOCKER_MANIFEST)
    throw new OcreError('ERR_OCRE_INVALID_IMAGE', `${where}: unsupported manifest media type '${m.mediaType}'`)
  const layer = pickLayer(where, m.body)
  sink.checkTotal(layer.size)
  const res = await client.request(client.url(`blobs/${layer.digest}`))
  if (res.status !== 200) throw client.fail(`GET blob ${layer.digest} of ${where}: ${await res.errorText()}`)
  const hash = createHash('sha256')
  let received = 0
  for await (const chunk of res.chunks()) {
    received += chunk.length
    if (received > layer.size)
      throw new OcreError('ERR_OCRE_DIGEST_MISMATCH', `blob ${layer.digest} of ${where} is larger than its ${layer.size} bytes`)
    hash.update(chunk)
    await sink.write(chunk)
  }
  const got = `sha256:${hash.digest('hex')}`
  if (received !== layer.size || got !== layer.digest)
    throw new OcreError(
      'ERR_OCRE_DIGEST_MISMATCH',
      `blob of ${where} does not match its descriptor: got ${received} bytes with digest ${got}, expected ${layer.size} bytes with ${layer.digest}`,
    )
  return { manifestDigest: m.digest, layer }
}

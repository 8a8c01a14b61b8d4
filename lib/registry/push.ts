// Push a module to an OCI registry as a wasm artifact (distribution spec):
// the config blob (application/vnd.wasm.config.v0+json) and the module as one
// application/vnd.wasm.content.layer.v1+wasm layer, each uploaded unless the
// registry has it (HEAD), monolithically (POST then PUT ?digest=), then the
// OCI image manifest under the tag (or checked against the pinned digest).
import { createHash } from 'node:crypto'
import { OcreError } from '../errors'
import type { RegistryClient } from './client'
import { formatReference } from './reference'
import { OCI_MANIFEST, WASM_LAYER_TYPES } from './pull'

export const WASM_CONFIG = 'application/vnd.wasm.config.v0+json'

export interface PushResult {
  /** `oci://host/repo:tag` as pushed. */
  reference: string
  /** The manifest's digest (`sha256:...`): pull `...@<digest>` to pin it. */
  digest: string
  /** Bytes of the module layer. */
  size: number
}

function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

async function uploadBlob(client: RegistryClient, bytes: Buffer, digest: string): Promise<void> {
  const head = await client.request(client.url(`blobs/${digest}`), { method: 'HEAD' })
  await head.discard()
  if (head.status === 200) return
  const start = await client.request(client.url('blobs/uploads/'), { method: 'POST', headers: { 'content-length': '0' } })
  if (start.status !== 202) throw client.fail(`starting the upload of ${digest}: ${await start.errorText()}`)
  await start.discard()
  const location = start.headers.get('location')
  if (!location) throw client.fail(`starting the upload of ${digest}: no Location in the registry's answer`)
  const target = new URL(location, client.base)
  target.searchParams.set('digest', digest)
  const put = await client.request(target, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    body: bytes,
  })
  if (put.status !== 201) throw client.fail(`uploading ${digest}: ${await put.errorText()}`)
  await put.discard()
}

/** Push `module` (its bytes, already validated by the store) to `client.ref`. */
export async function pushModule(client: RegistryClient, module: Buffer, title: string): Promise<PushResult> {
  const ref = client.ref
  const config = Buffer.from(JSON.stringify({ architecture: 'wasm', os: 'wasip1' }))
  const configDigest = digestOf(config)
  const layerDigest = digestOf(module)
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: WASM_CONFIG, digest: configDigest, size: config.length },
      layers: [
        {
          mediaType: WASM_LAYER_TYPES[0],
          digest: layerDigest,
          size: module.length,
          annotations: { 'org.opencontainers.image.title': title },
        },
      ],
    }),
  )
  const digest = digestOf(manifest)
  if (ref.digest && ref.digest !== digest)
    throw new OcreError(
      'ERR_OCRE_DIGEST_MISMATCH',
      `pushing '${title}' makes manifest ${digest}, not the ${ref.digest} the reference pins; push to a tag`,
    )
  await uploadBlob(client, config, configDigest)
  await uploadBlob(client, module, layerDigest)
  const put = await client.request(client.url(`manifests/${ref.tag ?? digest}`), {
    method: 'PUT',
    headers: { 'content-type': OCI_MANIFEST, 'content-length': String(manifest.length) },
    body: manifest,
  })
  if (put.status !== 201) throw client.fail(`putting the manifest of ${formatReference(ref)}: ${await put.errorText()}`)
  await put.discard()
  const echoed = put.headers.get('docker-content-digest')
  if (echoed && echoed !== digest)
    throw new OcreError('ERR_OCRE_DIGEST_MISMATCH', `the registry stored manifest ${echoed}, expected ${digest}`)
  return { reference: formatReference({ ...ref, digest: undefined }), digest, size: module.length }
}

// OCI image references: `oci://HOST[:PORT]/REPO[:TAG|@sha256:HEX]` and the
// plain `HOST[:PORT]/REPO[:TAG|@DIGEST]` form (docker's rule: the first path
// component is a registry host if it has a dot or a port, or is localhost).

export interface OciReference {
  /** `host[:port]`, as written (IPv6 in brackets). */
  registry: string
  /** Repository path, e.g. `apps/hello`. */
  repository: string
  /** Tag (default `latest` when there is no digest). */
  tag?: string
  /** `sha256:<64 hex>` when pinned. */
  digest?: string
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`)
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/
const DIGEST = /^sha256:[0-9a-f]{64}$/
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/

function invalid(ref: string, why: string): TypeError {
  return new TypeError(`Expected an OCI reference (oci://HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]) but received '${ref}': ${why}`)
}

/**
 * Parse `input` as an OCI reference. `oci://...` must be one (TypeError
 * otherwise); a plain string is one only if its first component names a
 * registry host, else null (it is something else: a path or a URL).
 */
export function parseOciReference(input: string): OciReference | null {
  const explicit = /^oci:\/\//i.test(input)
  const rest = explicit ? input.slice(6) : input
  if (!explicit && /^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return null
  const slash = rest.indexOf('/')
  if (slash <= 0) {
    if (explicit) throw invalid(input, 'no repository after the host')
    return null
  }
  const registry = rest.slice(0, slash)
  const hostMatch = HOST.exec(registry)
  const looksLikeHost = hostMatch !== null && (registry.includes('.') || registry.includes(':') || registry === 'localhost')
  if (!explicit && !looksLikeHost) return null
  if (!hostMatch) throw invalid(input, `'${registry}' is not a host[:port]`)
  if (hostMatch[1] !== undefined && (Number(hostMatch[1]) < 1 || Number(hostMatch[1]) > 65535))
    throw invalid(input, `port ${hostMatch[1]} is out of range`)
  let path = rest.slice(slash + 1)
  let digest: string | undefined
  const at = path.indexOf('@')
  if (at >= 0) {
    digest = path.slice(at + 1)
    path = path.slice(0, at)
    if (!DIGEST.test(digest)) throw invalid(input, `'${digest}' is not a sha256:<64 lowercase hex digits> digest`)
  }
  let tag: string | undefined
  const colon = path.lastIndexOf(':')
  if (colon > path.lastIndexOf('/')) {
    tag = path.slice(colon + 1)
    path = path.slice(0, colon)
    if (!TAG.test(tag)) throw invalid(input, `'${tag}' is not a valid tag`)
  }
  if (!REPOSITORY.test(path)) throw invalid(input, `'${path}' is not a valid repository name (lowercase [a-z0-9._-] components)`)
  if (!tag && !digest) tag = 'latest'
  // Docker Hub's official images live under library/
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`
  return { registry, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) }
}

/** The reference as `oci://host/repo[:tag][@digest]`. */
export function formatReference(ref: OciReference): string {
  return `oci://${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`
}

/** Loopback registries are spoken to over plain http (as docker does); others over https. */
export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** The default image name of a pull: the repository's last component (+ `.wasm`). */
export function defaultImageName(ref: OciReference): string {
  const last = ref.repository.split('/').pop() as string
  return last.endsWith('.wasm') ? last : `${last}.wasm`
}

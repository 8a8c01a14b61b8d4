// An HTTP client for one repository of an OCI distribution registry (Node's
// fetch): authentication on demand (a 401's WWW-Authenticate: anonymous or
// credentialed bearer token from the realm, or Basic from the credentials
// file), redirects followed by hand (limit, no https->http, no credentials
// sent to another origin), an idle timeout while waiting and while reading,
// and an AbortSignal.
import { abortError, AbortError, OcreError } from '../errors'
import { basicAuthorization, type Challenge, type Credentials, parseChallenge } from './auth'
import { isLoopback, type OciReference } from './reference'

/** Redirects followed per request before it fails. */
export const MAX_REGISTRY_REDIRECTS = 5

export interface ClientOptions {
  /** Credentials for this registry (from the credentials file), if any. */
  credentials: Credentials | null
  /** Where they came from, for messages. */
  credentialsFile: string
  /** Plain http for a registry that is not on the loopback interface. */
  insecure: boolean
  /** Idle timeout in ms (0: none). */
  timeout: number
  signal?: AbortSignal
  /** The error code of failures: ERR_OCRE_PULL or ERR_OCRE_PUSH. */
  code: 'ERR_OCRE_PULL' | 'ERR_OCRE_PUSH'
  /** `pull` or `pull,push`: the token scope asked for. */
  actions: string
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT'
  headers?: Record<string, string>
  body?: Buffer
}

/** A response whose body is read through `chunks()` under the idle timeout. */
export interface RegistryResponse {
  status: number
  headers: Headers
  url: URL
  chunks(): AsyncGenerator<Uint8Array>
  /** The body, at most `limit` bytes (else an error). */
  bytes(limit: number): Promise<Buffer>
  /** The registry's error text (its JSON `errors`, else the status line). */
  errorText(): Promise<string>
  discard(): Promise<void>
}

const REDIRECT = new Set([301, 302, 303, 307, 308])

export class RegistryClient {
  readonly base: URL
  #authorization: string | null = null

  constructor(
    readonly ref: OciReference,
    private readonly opts: ClientOptions,
  ) {
    const secure = !(opts.insecure || isLoopback(ref.registry))
    // Docker Hub's API host is not its name
    const host = ref.registry === 'docker.io' ? 'registry-1.docker.io' : ref.registry
    this.base = new URL(`${secure ? 'https' : 'http'}://${host}/`)
  }

  fail(message: string): OcreError {
    return new OcreError(this.opts.code, message)
  }

  /** `/v2/<repository>/<rest>` as a URL of this registry. */
  url(rest: string): URL {
    return new URL(`/v2/${this.ref.repository}/${rest}`, this.base)
  }

  /**
   * Send a request, authenticating on a 401 (once per challenge) and
   * following redirects. Non-2xx statuses other than 401 are returned.
   */
  async request(target: URL, options: RequestOptions = {}): Promise<RegistryResponse> {
    const method = options.method ?? 'GET'
    let url = target
    for (let redirects = 0, retried = false; ; ) {
      const sameOrigin = url.origin === this.base.origin
      const headers: Record<string, string> = { 'user-agent': 'ocre-node', ...options.headers }
      if (sameOrigin && this.#authorization) headers.authorization = this.#authorization
      const res = await this.#send(url, method, headers, options.body)
      if (REDIRECT.has(res.status) && res.headers.get('location')) {
        await res.discard()
        if (++redirects > MAX_REGISTRY_REDIRECTS)
          throw this.fail(`too many redirects (more than ${MAX_REGISTRY_REDIRECTS}) for ${method} ${target.href}`)
        let next: URL
        try {
          next = new URL(res.headers.get('location') as string, url)
        } catch {
          throw this.fail(`bad redirect location from ${url.href}`)
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:')
          throw this.fail(`refusing redirect to a ${next.protocol} URL from ${url.href}`)
        if (url.protocol === 'https:' && next.protocol === 'http:')
          throw this.fail(`refusing redirect from https to http (${next.href})`)
        url = next
        continue
      }
      if (res.status === 401 && sameOrigin) {
        const challenge = parseChallenge(res.headers.get('www-authenticate'))
        await res.discard()
        if (retried || !challenge) throw this.#refused(challenge, retried)
        await this.#authenticate(challenge)
        retried = true
        continue
      }
      return res
    }
  }

  #refused(challenge: Challenge | null, retried: boolean): OcreError {
    const who = this.ref.registry
    if (!challenge) return new OcreError('ERR_OCRE_AUTH', `${who} answered 401 without a Basic or Bearer challenge`)
    if (retried && this.opts.credentials)
      return new OcreError(
        'ERR_OCRE_AUTH',
        `${who} refused the credentials of user '${this.opts.credentials.username}' from ${this.opts.credentialsFile} ` +
          `(${this.opts.actions} access to ${this.ref.repository})`,
      )
    return new OcreError(
      'ERR_OCRE_AUTH',
      `${who} requires authentication for ${this.opts.actions} access to ${this.ref.repository}: ` +
        `no credentials for ${who} in ${this.opts.credentialsFile}`,
    )
  }

  async #authenticate(challenge: Challenge): Promise<void> {
    if (challenge.scheme === 'basic') {
      if (!this.opts.credentials) throw this.#refused(challenge, false)
      this.#authorization = basicAuthorization(this.opts.credentials)
      return
    }
    const realm = challenge.params.realm
    if (!realm) throw new OcreError('ERR_OCRE_AUTH', `${this.ref.registry}: Bearer challenge without a realm`)
    let tokenUrl: URL
    try {
      tokenUrl = new URL(realm)
    } catch {
      throw new OcreError('ERR_OCRE_AUTH', `${this.ref.registry}: Bearer realm '${realm}' is not a URL`)
    }
    if (tokenUrl.protocol !== 'https:' && tokenUrl.protocol !== 'http:')
      throw new OcreError('ERR_OCRE_AUTH', `${this.ref.registry}: Bearer realm '${realm}' is not an http(s) URL`)
    if (challenge.params.service) tokenUrl.searchParams.set('service', challenge.params.service)
    tokenUrl.searchParams.set('scope', challenge.params.scope ?? `repository:${this.ref.repository}:${this.opts.actions}`)
    const headers: Record<string, string> = { 'user-agent': 'ocre-node', accept: 'application/json' }
    // credentials go to the token server only over https, or to a loopback one
    if (this.opts.credentials && (tokenUrl.protocol === 'https:' || isLoopback(tokenUrl.host)))
      headers.authorization = basicAuthorization(this.opts.credentials)
    const res = await this.#send(tokenUrl, 'GET', headers)
    if (res.status === 401 || res.status === 403) {
      await res.discard()
      throw this.#refused(challenge, true)
    }
    if (res.status !== 200)
      throw new OcreError('ERR_OCRE_AUTH', `token server ${tokenUrl.origin} answered ${await res.errorText()}`)
    let token: unknown
    try {
      const body = JSON.parse((await res.bytes(64 * 1024)).toString('utf8'))
      token = body.token ?? body.access_token
    } catch (err) {
      throw new OcreError('ERR_OCRE_AUTH', `token server ${tokenUrl.origin} sent no JSON token: ${(err as Error).message}`)
    }
    if (typeof token !== 'string' || !token)
      throw new OcreError('ERR_OCRE_AUTH', `token server ${tokenUrl.origin} sent no token`)
    this.#authorization = `Bearer ${token}`
  }

  /** One fetch, with the idle timeout over the wait and the body. */
  async #send(url: URL, method: string, headers: Record<string, string>, body?: Buffer): Promise<RegistryResponse> {
    const { signal, timeout } = this.opts
    if (signal?.aborted) throw abortError(signal)
    const idle = new AbortController()
    let timer: NodeJS.Timeout | undefined
    let timedOut: OcreError | undefined
    const arm = () => {
      if (timeout <= 0) return
      clearTimeout(timer)
      timer = setTimeout(() => {
        timedOut = this.fail(`no data from ${url.host} for ${timeout / 1000} s (${method} ${url.pathname})`)
        idle.abort(timedOut)
      }, timeout)
    }
    const combined = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal
    const failure = (err: unknown): Error => {
      clearTimeout(timer)
      if (signal?.aborted) return abortError(signal)
      if (timedOut) return timedOut
      if (err instanceof AbortError || (err as Error)?.name === 'AbortError') return err as Error
      const cause = (err as Error & { cause?: Error })?.cause?.message ?? (err as Error)?.message ?? String(err)
      return this.fail(`${method} ${url.href} failed: ${cause}`)
    }
    arm()
    let res: Response
    try {
      res = await fetch(url, { method, headers, body, redirect: 'manual', signal: combined })
    } catch (err) {
      throw failure(err)
    }
    arm()
    const bodyStream = res.body
    const chunks = async function* (): AsyncGenerator<Uint8Array> {
      if (!bodyStream) return
      try {
        for await (const chunk of bodyStream) {
          arm()
          yield chunk as Uint8Array
        }
      } catch (err) {
        throw failure(err)
      } finally {
        clearTimeout(timer)
      }
    }
    const bytes = async (limit: number): Promise<Buffer> => {
      const parts: Uint8Array[] = []
      let n = 0
      for await (const c of chunks()) {
        n += c.length
        if (n > limit) {
          idle.abort()
          throw this.fail(`${url.href}: response larger than ${limit} bytes`)
        }
        parts.push(c)
      }
      return Buffer.concat(parts)
    }
    return {
      status: res.status,
      headers: res.headers,
      url,
      chunks,
      bytes,
      async errorText(): Promise<string> {
        let detail = ''
        try {
          const body = JSON.parse((await bytes(64 * 1024)).toString('utf8'))
          const e = body?.errors?.[0]
          if (e) detail = `: ${e.code ?? ''}${e.message ? ` ${e.message}` : ''}`.trimEnd()
        } catch {
          // not a registry error document
        }
        return `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${detail}`
      },
      async discard(): Promise<void> {
        clearTimeout(timer)
        try {
          await bodyStream?.cancel()
        } catch {
          // already closed
        }
      },
    }
  }
}

// The HTTP client of pulls: a GET that follows redirects (never from https
// to http, never to another scheme), with an idle timeout and an
// AbortSignal, streaming the body into a sink.
import http from 'node:http'
import https from 'node:https'
import { abortError, AbortError, OcreError } from '../errors'

/** Default idle timeout of a pull: no data for this long aborts it (ms). */
export const DEFAULT_PULL_TIMEOUT = 30_000
/** Redirects followed by a pull before it fails. */
export const MAX_REDIRECTS = 5

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** Where a download goes (a TempFile). */
export interface DownloadSink {
  /** Bytes written so far. */
  readonly received: number
  /** Told the Content-Length, when there is one; throws to refuse it. */
  checkTotal(total: number | undefined): void
  /** Its errors (size limit, onProgress) propagate as they are. */
  write(chunk: Uint8Array): Promise<void>
}

/** `url` without its credentials, for messages. */
export function displayUrl(url: URL): string {
  if (!url.username && !url.password) return url.href
  const u = new URL(url.href)
  u.username = ''
  u.password = ''
  return u.href
}

function pullError(message: string): OcreError {
  return new OcreError('ERR_OCRE_PULL', message)
}

/** Start a GET; the request exists at once (so it can be destroyed), the response comes later. */
function httpGet(
  url: URL,
  timeout: number,
): { req: http.ClientRequest; response: Promise<http.IncomingMessage>; timedOut: () => Error | undefined } {
  const mod = url.protocol === 'https:' ? https : http
  const req = mod.get(url, {
    agent: false,
    headers: { accept: 'application/wasm, */*;q=0.8', 'user-agent': 'ocre-node' },
  })
  let timeoutError: Error | undefined
  if (timeout > 0)
    req.setTimeout(timeout, () => {
      timeoutError = pullError(`no data from ${url.host} for ${timeout / 1000} s`)
      req.destroy(timeoutError)
    })
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve)
    req.on('error', reject) // later errors also surface through the response stream
  })
  return { req, response, timedOut: () => timeoutError }
}

/** A transport failure as ERR_OCRE_PULL (abort and store errors pass through). */
function transportError(err: unknown, url: URL, received?: number): Error {
  const e = err as Error & { code?: string }
  if (e instanceof AbortError || e?.name === 'AbortError') return e
  if (e?.code?.startsWith('ERR_OCRE_')) return e
  const where = received === undefined ? '' : ` after ${received} bytes`
  return pullError(`GET ${displayUrl(url)} failed${where}: ${e?.message ?? String(err)}`)
}

/** The next URL of a redirect from `current`, or an ERR_OCRE_PULL. */
function redirectTarget(location: string, current: URL): URL {
  let next: URL
  try {
    next = new URL(location, current)
  } catch {
    throw pullError(`bad redirect location from ${displayUrl(current)}`)
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    throw pullError(`refusing redirect to a ${next.protocol} URL from ${displayUrl(current)}`)
  if (current.protocol === 'https:' && next.protocol === 'http:')
    throw pullError(`refusing redirect from https to http (${displayUrl(next)})`)
  return next
}

/**
 * GET `url` (http or https) into `sink`, following redirects. Rejects with an
 * AbortError when `signal` aborts, ERR_OCRE_PULL for HTTP and transport
 * failures (also after `timeout` ms without data; 0: no timeout), and with
 * the sink's own errors.
 */
export async function download(
  url: URL,
  sink: DownloadSink,
  signal: AbortSignal | undefined,
  timeout: number,
): Promise<void> {
  let current = url
  for (let redirects = 0; ; redirects++) {
    if (signal?.aborted) throw abortError(signal)
    const { req, response, timedOut } = httpGet(current, timeout)
    let res: http.IncomingMessage | undefined
    const onAbort = () => {
      const err = abortError(signal!)
      req.destroy(err)
      res?.destroy(err)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      try {
        res = await response
      } catch (err) {
        if (signal?.aborted) throw abortError(signal)
        throw timedOut() ?? transportError(err, current)
      }
      if (signal?.aborted) throw abortError(signal)
      const status = res.statusCode ?? 0
      if (REDIRECTS.has(status) && res.headers.location) {
        res.resume()
        if (redirects >= MAX_REDIRECTS)
          throw pullError(`too many redirects (more than ${MAX_REDIRECTS}) pulling ${displayUrl(url)}`)
        current = redirectTarget(res.headers.location, current)
        continue
      }
      if (status < 200 || status > 299) {
        res.resume()
        throw pullError(
          `GET ${displayUrl(current)} failed: HTTP ${status}${res.statusMessage ? ' ' + res.statusMessage : ''}`,
        )
      }
      const length = res.headers['content-length']
      const total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
      sink.checkTotal(total)
      const body = res[Symbol.asyncIterator]()
      for (;;) {
        let next: IteratorResult<Buffer>
        try {
          next = await body.next()
        } catch (err) {
          if (signal?.aborted) throw abortError(signal)
          throw timedOut() ?? transportError(err, current, sink.received)
        }
        if (next.done) break
        await sink.write(next.value)
      }
      if (total !== undefined && sink.received !== total)
        throw pullError(`connection closed after ${sink.received} of ${total} bytes from ${displayUrl(current)}`)
      return
    } finally {
      signal?.removeEventListener('abort', onAbort)
      res?.destroy()
      req.destroy()
    }
  }
}

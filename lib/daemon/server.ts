// The daemon's HTTP/1.1 transport: routing (find-my-way), request bodies
// (JSON only, size-capped), validation (ajv, from the route's schemas),
// bearer-token authentication (TCP), and errors as JSON
// `{ "code": "ERR_OCRE_*", "message": "..." }` with a 4xx status for bad
// requests. A request never takes the daemon down: every failure of a
// handler becomes a reply.
import { timingSafeEqual } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import findMyWay from 'find-my-way'
import { buildOpenApi } from './openapi'
import { type Route, routes } from './routes'
import type { Supervisor } from './supervisor'

/** Largest request body (bytes). */
export const MAX_BODY = 1024 * 1024

export interface ServerOptions {
  /** Bearer token required on every request (TCP listeners). */
  token?: Buffer
  log: (level: 'error' | 'warn' | 'info' | 'debug', msg: string, fields?: Record<string, unknown>) => void
}

/** An error reply. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** HTTP status of an error code from the library. */
export function statusOf(code: string | undefined, name?: string): number {
  switch (code) {
    case 'ERR_OCRE_NOT_FOUND':
    case 'ERR_OCRE_IMAGE_NOT_FOUND':
      return 404
    case 'ERR_OCRE_EXISTS':
    case 'ERR_OCRE_STATE':
    case 'ERR_OCRE_IN_USE':
    case 'ERR_OCRE_BUSY':
      return 409
    case 'ERR_OCRE_TOO_LARGE':
      return 413
    case 'ERR_OCRE_NO_MEMORY':
    case 'ERR_OCRE_IO':
    case 'ERR_OCRE_UNKNOWN':
    case 'ERR_OCRE_NOT_INITIALIZED':
    case 'ERR_OCRE_INTERNAL':
      return 500
    case undefined:
      return name === 'TypeError' || name === 'RangeError' ? 400 : 500
    default:
      // invalid names, mounts, capabilities, images, runtimes, digests, URLs...: the request's fault
      return code.startsWith('ERR_OCRE_') ? 400 : 500
  }
}

function ajvMessage(errors: ErrorObject[] | null | undefined, where: string): string {
  const e = errors?.[0]
  if (!e) return `invalid ${where}`
  const at = e.instancePath ? `${where}${e.instancePath.replace(/\//g, '.')}` : where
  if (e.keyword === 'additionalProperties')
    return `unknown field '${(e.params as { additionalProperty: string }).additionalProperty}' in ${at}`
  if (e.keyword === 'enum')
    return `${at} ${e.message}: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
  return `${at} ${e.message}`
}

interface Compiled {
  route: Route
  body?: ValidateFunction
  query: ValidateFunction
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (declared > MAX_BODY) {
      req.resume() // discarded: the client may finish sending and read the reply
      reject(new HttpError(413, 'ERR_OCRE_TOO_LARGE', `request body larger than ${MAX_BODY} bytes`))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'ERR_OCRE_TOO_LARGE', `request body larger than ${MAX_BODY} bytes`))
        req.removeAllListeners('data')
        req.resume()
        return
      }
      chunks.push(c)
    })
    req.once('end', () => resolve(Buffer.concat(chunks)))
    req.once('error', reject)
  })
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end()
    return
  }
  if (status === 204 || body === null || body === undefined) {
    res.writeHead(status)
    res.end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function authorized(req: IncomingMessage, token: Buffer): boolean {
  const h = req.headers.authorization
  if (!h || !h.startsWith('Bearer ')) return false
  const given = Buffer.from(h.slice(7).trim())
  return given.length === token.length && timingSafeEqual(given, token)
}

/** The request handler of the API (one per daemon; the listeners share it). */
export function createApi(sup: Supervisor, opts: ServerOptions): http.RequestListener {
  const ajv = new Ajv({ allErrors: false, strict: false })
  const router = findMyWay({ ignoreTrailingSlash: true, caseSensitive: true, maxParamLength: 255 })
  const openapi = buildOpenApi()
  const compiled = new Map<Route, Compiled>()
  for (const route of routes) {
    const c: Compiled = { route, query: ajv.compile(route.query) }
    if (route.body) c.body = ajv.compile(route.body)
    compiled.set(route, c)
    router.on(route.method, route.path, () => {}, c)
  }
  router.on('GET', '/v1/openapi.json', () => {}, { openapi: true })

  async function handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    if (opts.token && !authorized(req, opts.token)) {
      res.setHeader('www-authenticate', 'Bearer')
      throw new HttpError(401, 'ERR_OCRE_UNAUTHORIZED', 'missing or wrong bearer token')
    }
    const url = req.url ?? '/'
    const found = router.find(req.method as 'GET', url.split('?')[0])
    if (!found) {
      const allowed = ['GET', 'POST', 'DELETE'].filter((m) => router.find(m as 'GET', url.split('?')[0]))
      if (allowed.length > 0) {
        res.setHeader('allow', allowed.join(', '))
        throw new HttpError(405, 'ERR_OCRE_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.split('?')[0]}`)
      }
      throw new HttpError(404, 'ERR_OCRE_NOT_FOUND', `no such endpoint: ${req.method} ${url.split('?')[0]}`)
    }
    const store = found.store as Compiled | { openapi: true }
    if ('openapi' in store) {
      send(res, 200, openapi)
      return
    }
    const { route } = store
    // query string: unknown or repeated keys are errors
    const query: Record<string, string> = {}
    const qs = url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''
    for (const [k, v] of new URLSearchParams(qs)) {
      if (k in query) throw new HttpError(400, 'ERR_OCRE_INVALID_ARGUMENT', `query parameter '${k}' given twice`)
      query[k] = v
    }
    if (!store.query(query)) throw new HttpError(400, 'ERR_OCRE_INVALID_ARGUMENT', ajvMessage(store.query.errors, 'query'))
    const params: Record<string, string> = {}
    for (const [k, v] of Object.entries(found.params)) if (v !== undefined) params[k] = v
    let body: Record<string, unknown> = {}
    const raw = route.rawBody ? Buffer.alloc(0) : await readBody(req)
    if (route.body) {
      if (raw.length > 0) {
        const type = String(req.headers['content-type'] ?? '')
        if (!/^application\/json\s*(;|$)/i.test(type))
          throw new HttpError(415, 'ERR_OCRE_UNSUPPORTED_MEDIA_TYPE', `expected content-type application/json, got '${type}'`)
        try {
          body = JSON.parse(raw.toString('utf8'))
        } catch (err) {
          throw new HttpError(400, 'ERR_OCRE_INVALID_JSON', `malformed JSON body: ${(err as Error).message}`)
        }
      }
      if (!store.body!(body)) throw new HttpError(400, 'ERR_OCRE_INVALID_ARGUMENT', ajvMessage(store.body!.errors, 'body'))
    } else if (raw.length > 0) {
      throw new HttpError(400, 'ERR_OCRE_INVALID_ARGUMENT', `${route.method} ${route.path} takes no body`)
    }
    const reply = await route.handler(sup, { params, query, body, req, res, signal })
    if (reply) send(res, reply.status, reply.body)
  }

  return (req, res) => {
    const ac = new AbortController()
    res.once('close', () => ac.abort())
    handle(req, res, ac.signal).catch((err: unknown) => {
      const e = err as { status?: number; code?: string; name?: string; message?: string; stack?: string }
      const status = err instanceof HttpError ? err.status : statusOf(e?.code, e?.name)
      const code =
        err instanceof HttpError
          ? err.code
          : typeof e?.code === 'string' && e.code.startsWith('ERR_OCRE_')
            ? e.code
            : status === 400
              ? 'ERR_OCRE_INVALID_ARGUMENT'
              : e?.name === 'AbortError'
                ? 'ERR_OCRE_ABORTED'
                : 'ERR_OCRE_INTERNAL'
      if (status >= 500) opts.log('error', 'request failed', { method: req.method, url: req.url, error: e?.stack ?? String(err) })
      if (!res.writableEnded && !res.destroyed) send(res, status, { code, message: String(e?.message ?? err) })
    })
  }
}

// HTTP/1.1 to the daemon (node:http only, so that the command line starts
// fast): JSON requests and replies, NDJSON streams. Error replies become
// OcreErrors with the daemon's ERR_OCRE_* code.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { OcreError } from '../errors'

/** Where a daemon listens. */
export type Endpoint = { socketPath: string } | { host: string; port: number }

/**
 * `unix:///path/ocre.sock` or an absolute path: a Unix socket;
 * `tcp://HOST:PORT` (HOST defaults to 127.0.0.1): TCP.
 */
export function parseHost(text: string): Endpoint {
  if (text.startsWith('unix://')) {
    const p = text.slice('unix://'.length)
    if (!path.isAbsolute(p)) throw new OcreError('ERR_OCRE_INVALID_ARGUMENT', `invalid host '${text}': expected unix:///ABSOLUTE/PATH`)
    return { socketPath: p }
  }
  if (path.isAbsolute(text)) return { socketPath: text }
  const m = /^tcp:\/\/(?:\[([0-9a-fA-F:.]+)\]|([^:/]*))?:(\d{1,5})\/?$/.exec(text)
  if (m && Number(m[3]) <= 65535) return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) }
  throw new OcreError(
    'ERR_OCRE_INVALID_ARGUMENT',
    `invalid host '${text}': expected unix:///PATH, an absolute socket path or tcp://HOST:PORT`,
  )
}

export function describeEndpoint(e: Endpoint): string {
  return 'socketPath' in e ? `unix://${e.socketPath}` : `tcp://${e.host}:${e.port}`
}

/** Read a bearer token file (its first line, trimmed). */
export function readTokenFile(file: string): string {
  const token = fs.readFileSync(file, 'utf8').split('\n')[0].trim()
  if (!token) throw new OcreError('ERR_OCRE_INVALID_ARGUMENT', `token file ${file} is empty`)
  return token
}

export interface TransportOptions {
  endpoint: Endpoint
  token?: string
  /** Keep connections open between requests (the JS client); the command line makes one request. */
  keepAlive?: boolean
}

export class Transport {
  readonly endpoint: Endpoint
  #token?: string
  #agent: http.Agent

  constructor(opts: TransportOptions) {
    this.endpoint = opts.endpoint
    this.#token = opts.token
    this.#agent = new http.Agent({ keepAlive: !!opts.keepAlive, maxSockets: 64 })
  }

  #request(method: string, urlPath: string, body?: unknown, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' }
    let payload: string | undefined
    if (body !== undefined) {
      payload = JSON.stringify(body)
      headers['content-type'] = 'application/json'
      headers['content-length'] = Buffer.byteLength(payload)
    }
    if (this.#token) headers.authorization = `Bearer ${this.#token}`
    return new Promise((resolve, reject) => {
      // servername '': plain HTTP has no TLS name to derive (deriving it costs the command line ~4 ms: Node
      // compiles its IPv6 regular expression to check 'localhost')
      const options: http.RequestOptions & { servername: string } = {
        ...this.endpoint,
        method,
        path: urlPath,
        headers,
        agent: this.#agent,
        signal,
        servername: '',
      }
      const req = http.request(options, resolve)
      req.once('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'AbortError') reject(err)
        else
          reject(
            new OcreError(
              'ERR_OCRE_NO_DAEMON',
              `cannot reach the ocre daemon at ${describeEndpoint(this.endpoint)}: ${err.code ?? err.message}`,
              { cause: err },
            ),
          )
      })
      req.end(payload)
    })
  }

  static #text(res: http.IncomingMessage): Promise<string> {
    // events rather than `for await`: the stream's async iterator is slower to start (the command line's ps)
    return new Promise((resolve, reject) => {
      res.setEncoding('utf8')
      let text = ''
      res.on('data', (chunk: string) => (text += chunk))
      res.once('end', () => resolve(text))
      res.once('error', reject)
    })
  }

  static #error(status: number, text: string): OcreError {
    let code = 'ERR_OCRE_UNKNOWN'
    let message = `the daemon replied ${status}`
    try {
      const e = JSON.parse(text) as { code?: string; message?: string }
      if (typeof e.code === 'string') code = e.code
      if (typeof e.message === 'string') message = e.message
    } catch {
      // not JSON: keep the status
    }
    const err = new OcreError(code, message)
    ;(err as { status?: number }).status = status
    return err
  }

  /**
   * A request whose body is streamed by the caller (`req`: write, then end)
   * while its reply streams back: `reply` resolves with the response once
   * its headers arrive (an error status rejects, with the daemon's error).
   */
  duplex(method: string, urlPath: string, signal?: AbortSignal): { req: http.ClientRequest; reply: Promise<http.IncomingMessage> } {
    const headers: http.OutgoingHttpHeaders = { accept: 'application/x-ndjson', 'transfer-encoding': 'chunked' }
    if (this.#token) headers.authorization = `Bearer ${this.#token}`
    const options: http.RequestOptions & { servername: string } = {
      ...this.endpoint,
      method,
      path: urlPath,
      headers,
      agent: false, // its own connection: it stays busy for the whole session
      signal,
      servername: '',
    }
    const req = http.request(options)
    const reply = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', (res) => {
        const status = res.statusCode ?? 0
        if (status < 400) resolve(res)
        else Transport.#text(res).then((text) => reject(Transport.#error(status, text)), reject)
      })
      req.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.name === 'AbortError'
            ? err
            : new OcreError('ERR_OCRE_NO_DAEMON', `cannot reach the ocre daemon at ${describeEndpoint(this.endpoint)}: ${err.code ?? err.message}`, {
                cause: err,
              }),
        ),
      )
    })
    req.flushHeaders()
    return { req, reply }
  }

  /** A JSON request; resolves with the parsed reply (undefined for 204). */
  async json<T>(method: string, urlPath: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.#request(method, urlPath, body, signal)
    const text = await Transport.#text(res)
    const status = res.statusCode ?? 0
    if (status >= 400) throw Transport.#error(status, text)
    return (text ? JSON.parse(text) : undefined) as T
  }

  /** An NDJSON stream: yields one parsed value per line until the daemon ends it (or `signal` aborts). */
  async *stream<T>(urlPath: string, signal?: AbortSignal): AsyncGenerator<T> {
    let res: http.IncomingMessage
    try {
      res = await this.#request('GET', urlPath, undefined, signal)
    } catch (err) {
      if ((err as Error).name === 'AbortError') return
      throw err
    }
    if ((res.statusCode ?? 0) >= 400) throw Transport.#error(res.statusCode ?? 0, await Transport.#text(res))
    res.setEncoding('utf8')
    let partial = ''
    try {
      for await (const chunk of res) {
        const lines = (partial + chunk).split('\n')
        partial = lines.pop()!
        for (const line of lines) if (line) yield JSON.parse(line) as T
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError' || signal?.aborted) return
      throw err
    } finally {
      res.destroy()
    }
  }

  close(): void {
    this.#agent.destroy()
  }
}

// `ocre daemon`: one process per working directory that keeps containers
// across command-line calls and reboots. It opens the workdir (the library's
// exclusive lock), restores the stored containers, serves the API on a Unix
// socket (mode 0660) and, only when asked, on TCP with a bearer token; the
// first SIGTERM/SIGINT stops every container with its grace period and
// exits 0 (a second one kills them at once).
import fs from 'node:fs'
import http from 'node:http'
import type { Socket } from 'node:net'
import path from 'node:path'
import { open } from '../context'
import { OcreError } from '../errors'
import { setLogger, setLogLevel } from '../log'
import { createJsonLog, type Level } from './jsonlog'
import type { LogLimits } from './logs'
import type { BackoffOptions } from './restart'
import { createApi } from './server'
import { Supervisor } from './supervisor'

export interface DaemonOptions {
  workdir: string
  /** Unix socket path (default `<workdir>/ocre.sock`). */
  socket?: string
  /** Also listen on TCP: `PORT` or `HOST:PORT` (HOST default 127.0.0.1). Needs tokenFile. */
  tcp?: string
  tokenFile?: string
  logLimits?: Partial<LogLimits>
  logLevel?: Level | 'none'
  backoff?: BackoffOptions
  /** Where the daemon's records go (default process.stderr). */
  stderr?: NodeJS.WritableStream
}

export const DEFAULT_LOG_LIMITS: LogLimits = { maxBytes: 10 * 1024 * 1024, maxFiles: 3 }
const SOCKET_MODE = 0o660
/**
 * The listeners' HTTP options. requestTimeout 0: an attach session's
 * request body (a container's stdin) lasts as long as the session, past
 * Node's default of 5 minutes for a whole request; headersTimeout (60 s)
 * still bounds a client that never finishes its headers.
 */
const SERVER_OPTIONS: http.ServerOptions = { keepAliveTimeout: 30_000, requestTimeout: 0 }

/** `PORT` or `HOST:PORT` or `[V6]:PORT`. */
export function parseTcp(text: string): { host: string; port: number } {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):)?(\d{1,5})$/.exec(text)
  if (!m || Number(m[3]) > 65535)
    throw new OcreError('ERR_OCRE_INVALID_ARGUMENT', `invalid --tcp '${text}': expected PORT or HOST:PORT`)
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port: Number(m[3]) }
}

/** Whether something answers on a Unix socket. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/v1/_ping', timeout: 2000 }, (res) => {
      res.resume()
      resolve(true)
    })
    req.once('timeout', () => req.destroy())
    req.once('error', () => resolve(false))
  })
}

function listen(server: http.Server, target: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    const done = () => {
      server.off('error', reject)
      resolve()
    }
    if (typeof target === 'string') server.listen(target, done)
    else server.listen(target.port, target.host, done)
  })
}

/** Runs the daemon until a signal ends it; resolves with the exit status. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const log = createJsonLog(opts.stderr ?? process.stderr, opts.logLevel ?? 'info')
  const workdir = path.resolve(opts.workdir)
  const socketPath = path.resolve(opts.socket ?? path.join(workdir, 'ocre.sock'))
  const linkPath = path.join(workdir, 'ocre.sock')
  let token: Buffer | undefined
  let tcp: { host: string; port: number } | undefined
  if (opts.tcp !== undefined) {
    tcp = parseTcp(opts.tcp)
    if (!opts.tokenFile) throw new OcreError('ERR_OCRE_INVALID_ARGUMENT', '--tcp needs --token-file (the bearer token clients send)')
  }
  if (opts.tokenFile) {
    const text = fs.readFileSync(opts.tokenFile, 'utf8').split('\n')[0].trim()
    if (text.length < 16) throw new OcreError('ERR_OCRE_INVALID_ARGUMENT', `the token in ${opts.tokenFile} is shorter than 16 characters`)
    if ((fs.statSync(opts.tokenFile).mode & 0o077) !== 0)
      log('warn', 'the token file is readable by group or others', { file: opts.tokenFile })
    token = Buffer.from(text)
  }
  // Runtime records join the daemon's log (warnings and errors by default).
  setLogLevel(opts.logLevel === 'debug' ? 'debug' : 'warn')
  setLogger((r) => log(r.level, r.message.replace(/\n+$/, ''), { module: r.module }))

  if (fs.existsSync(socketPath) && (await answers(socketPath)))
    throw new OcreError('ERR_OCRE_BUSY', `a daemon already answers on ${socketPath}`)
  const ctx = await open({ workdir })
  // The workdir is ours now: a socket file left there is stale.
  for (const p of new Set([socketPath, linkPath])) {
    try {
      const st = fs.lstatSync(p)
      if (st.isSocket() || st.isSymbolicLink()) fs.unlinkSync(p)
    } catch {
      // none
    }
  }
  const logLimits = { ...DEFAULT_LOG_LIMITS, ...opts.logLimits }
  const sup = new Supervisor(ctx, { logLimits, backoff: opts.backoff, log })
  const restored = await sup.restore()
  log('info', 'containers restored', restored)

  const sockets = new Set<Socket>()
  const track = (server: http.Server) =>
    server.on('connection', (s: Socket) => {
      sockets.add(s)
      s.once('close', () => sockets.delete(s))
    })
  const unixServer = http.createServer(SERVER_OPTIONS, createApi(sup, { log }))
  track(unixServer)
  fs.mkdirSync(path.dirname(socketPath), { recursive: true })
  const mask = process.umask(0o117)
  try {
    await listen(unixServer, socketPath)
  } finally {
    process.umask(mask)
  }
  fs.chmodSync(socketPath, SOCKET_MODE)
  if (socketPath !== linkPath) fs.symlinkSync(socketPath, linkPath)
  let tcpServer: http.Server | undefined
  if (tcp) {
    tcpServer = http.createServer(SERVER_OPTIONS, createApi(sup, { log, token }))
    track(tcpServer)
    await listen(tcpServer, tcp)
    const a = tcpServer.address()
    log('info', 'listening on tcp', { address: typeof a === 'object' && a ? `${a.address}:${a.port}` : String(a) })
  }
  log('info', 'listening', { socket: socketPath, workdir: ctx.workdir, pid: process.pid })

  return new Promise<number>((resolve) => {
    let signals = 0
    const onSignal = (signal: NodeJS.Signals) => {
      signals++
      if (signals > 1) {
        log('warn', 'second signal: killing every container', { signal })
        sup.killAll()
        return
      }
      log('info', 'shutting down', { signal })
      unixServer.close()
      tcpServer?.close()
      // streams (logs -f, events) and idle keep-alive connections end now
      for (const s of sockets) s.destroy()
      sup
        .shutdown()
        .then(() => ctx.close())
        .then(
          () => {
            for (const p of new Set([socketPath, linkPath])) fs.rmSync(p, { force: true })
            log('info', 'stopped')
            process.off('SIGTERM', onSignal)
            process.off('SIGINT', onSignal)
            resolve(0)
          },
          (err) => {
            log('error', 'shutdown failed', { error: (err as Error).message })
            resolve(1)
          },
        )
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
    // A request never takes the daemon down: report what escaped, keep serving.
    process.on('unhandledRejection', (err) =>
      log('error', 'unhandled rejection', { error: (err as Error)?.stack ?? String(err) }),
    )
  })
}

// The container commands of the command line, as a client of `ocre daemon`:
// create, run (-d or attached), start, stop, restart, kill, pause, unpause,
// wait, rm, ps, inspect, logs, events, and `images`/`pull` on a remote
// daemon. Only node:http and the small client modules load here (the
// daemon's own modules and the native addon do not), so `ocre ps` starts
// fast.
import fs from 'node:fs'
import path from 'node:path'
import type { DaemonEvent, LogRecord, RemoteContainerInfo, RemoteContainerSummary, RemoteCreateOptions } from '../client/connect'
import { attachSession } from '../client/attach'
import { describeEndpoint, parseHost, readTokenFile, Transport } from '../client/transport'
import type { ExitResult } from '../types'
import type { RunOptions } from './run'
import type { Io } from './image'
import { formatEvent, formatPs, parseSinceArg } from './ps-format'
import { CliError, EXIT_KILLED, EXIT_TRAP, formatBytes, formatDate, formatTable, parseEnv } from './util'

export interface DaemonGlobals {
  workdir: string
  host?: string
  tokenFile?: string
}

/** The daemon to talk to and whether the user named it (--host, $OCRE_HOST) or it was found in the workdir. */
export interface Selected {
  transport: Transport
  explicit: boolean
}

/**
 * The daemon chosen by --host, else $OCRE_HOST, else the one whose socket
 * is `<workdir>/ocre.sock` (null if there is no such socket).
 */
export function selectDaemon(g: DaemonGlobals, env: NodeJS.ProcessEnv = process.env): Selected | null {
  const named = g.host ?? env.OCRE_HOST
  const tokenFile = g.tokenFile ?? env.OCRE_TOKEN_FILE
  const token = tokenFile ? readTokenFile(tokenFile) : undefined
  if (named) return { transport: new Transport({ endpoint: parseHost(named), token }), explicit: true }
  const sock = path.join(g.workdir, 'ocre.sock')
  try {
    fs.statSync(sock) // follows the symlink a daemon with --socket elsewhere leaves there
  } catch {
    return null
  }
  return { transport: new Transport({ endpoint: { socketPath: sock }, token }), explicit: false }
}

export function requireDaemon(g: DaemonGlobals, env: NodeJS.ProcessEnv = process.env): Transport {
  const sel = selectDaemon(g, env)
  if (!sel)
    throw new CliError(
      `no ocre daemon runs on ${g.workdir} (start one with 'ocre daemon --workdir ${g.workdir}', or use --host)`,
    )
  return sel.transport
}

const enc = encodeURIComponent
const cpath = (id: string, action?: string) => `/v1/containers/${enc(id)}${action ? `/${action}` : ''}`

/** Options of `create` and `run`, as parsed by commander. */
export type CreateCliOptions = Omit<RunOptions, 'rm' | 'stopTimeout' | 'tier'> & {
  tier?: string
  restart?: string
  stopTimeout?: number
  liveness?: number
  interactive?: boolean
}

export function createBody(image: string, args: string[], o: CreateCliOptions): RemoteCreateOptions & { start?: boolean } {
  const body: Record<string, unknown> = { image, args }
  const env = parseEnv(o.env ?? [])
  if (Object.keys(env).length) body.env = env
  if (o.name !== undefined) body.id = o.name
  if (o.runtime !== undefined) body.runtime = o.runtime
  if (o.capability?.length) body.capabilities = o.capability
  if (o.volume?.length) body.mounts = o.volume
  if (o.memory !== undefined) body.memoryLimit = o.memory
  if (o.maxOpenFiles !== undefined) body.maxOpenFiles = o.maxOpenFiles
  if (o.stackSize !== undefined) body.stackSize = o.stackSize
  if (o.tier !== undefined) body.tier = o.tier
  if (o.stopTimeout !== undefined) body.stopTimeout = Math.round(o.stopTimeout * 1000)
  if (o.liveness !== undefined) body.liveness = Math.round(o.liveness * 1000)
  if (o.interactive) body.interactive = true
  if (o.restart !== undefined) {
    const m = /^(no|always|unless-stopped|on-failure)(?::(\d{1,9}))?$/.exec(o.restart)
    if (!m || (m[2] !== undefined && m[1] !== 'on-failure'))
      throw new CliError(`invalid --restart '${o.restart}': expected no, on-failure[:N], always or unless-stopped`)
    body.restart = { name: m[1], ...(m[2] !== undefined && { maxRetries: Number(m[2]) }) }
  }
  return body as unknown as RemoteCreateOptions
}

export async function create(t: Transport, body: object, io: Io): Promise<RemoteContainerInfo> {
  const info = await t.json<RemoteContainerInfo>('POST', '/v1/containers', body)
  io.out(info.id + '\n')
  return info
}

/** Runs `fn` for every id; prints what it returns; failures are reported and make the command fail at the end. */
async function each(ids: string[], io: Io, fn: (id: string) => Promise<string | null>): Promise<void> {
  let failed = 0
  for (const id of ids) {
    try {
      const line = await fn(id)
      if (line !== null) io.out(line + '\n')
    } catch (err) {
      failed++
      io.err.write(`ocre: ${(err as Error).message}\n`)
    }
  }
  if (failed) throw new CliError(`${failed} of ${ids.length} failed`, 1)
}

export const start = (t: Transport, ids: string[], io: Io) =>
  each(ids, io, async (id) => (await t.json<RemoteContainerInfo>('POST', cpath(id, 'start'), {})).id)

export function stop(t: Transport, ids: string[], seconds: number | undefined, io: Io, action = 'stop') {
  const body = seconds === undefined ? {} : { timeout: Math.round(seconds * 1000) }
  return each(ids, io, async (id) => (await t.json<RemoteContainerInfo>('POST', cpath(id, action), body)).id)
}

export const simple = (t: Transport, action: 'kill' | 'pause' | 'unpause', ids: string[], io: Io) =>
  each(ids, io, async (id) => (await t.json<RemoteContainerInfo>('POST', cpath(id, action), {})).id)

export const wait = (t: Transport, ids: string[], io: Io) =>
  each(ids, io, async (id) => String((await t.json<ExitResult>('POST', cpath(id, 'wait'), {})).exitCode))

export const rm = (t: Transport, ids: string[], force: boolean, io: Io) =>
  each(ids, io, async (id) => {
    await t.json('DELETE', cpath(id) + (force ? '?force=true' : ''))
    return id
  })

export interface PsOptions {
  all?: boolean
  quiet?: boolean
  format?: string
  trunc?: boolean
}

export async function ps(t: Transport, o: PsOptions, io: Io): Promise<void> {
  const list = await t.json<RemoteContainerSummary[]>('GET', `/v1/containers${o.all ? '?all=true' : ''}`)
  if (o.quiet) io.out(list.map((c) => c.id + '\n').join(''))
  else if (o.format === 'json') io.out(list.map((c) => JSON.stringify(c) + '\n').join(''))
  else io.out(formatPs(list, o.trunc !== false))
}

export async function inspect(t: Transport, ids: string[], io: Io): Promise<void> {
  const out: RemoteContainerInfo[] = []
  let failed = 0
  for (const id of ids) {
    try {
      out.push(await t.json<RemoteContainerInfo>('GET', cpath(id)))
    } catch (err) {
      failed++
      io.err.write(`ocre: ${(err as Error).message}\n`)
    }
  }
  io.out(JSON.stringify(out, null, 4) + '\n')
  if (failed) throw new CliError(`${failed} of ${ids.length} failed`, 1)
}

export interface LogsCliOptions {
  follow?: boolean
  tail?: string
  since?: string
  timestamps?: boolean
  /** json: each record as a JSON line on stdout (`{ time, stream, line }`), whatever its stream. */
  format?: string
}

function logsQuery(o: LogsCliOptions): string {
  const q = new URLSearchParams()
  if (o.follow) q.set('follow', 'true')
  if (o.tail !== undefined && o.tail !== 'all') {
    if (!/^\d{1,9}$/.test(o.tail)) throw new CliError(`invalid --tail '${o.tail}': expected a number or 'all'`)
    q.set('tail', o.tail)
  }
  if (o.since !== undefined) {
    try {
      q.set('since', parseSinceArg(o.since).toISOString())
    } catch (err) {
      throw new CliError((err as Error).message)
    }
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** `logs`: the container's stdout records to stdout, stderr records to stderr. */
export async function logs(t: Transport, id: string, o: LogsCliOptions, io: Io, signal?: AbortSignal): Promise<void> {
  for await (const r of t.stream<LogRecord>(cpath(id, 'logs') + logsQuery(o), signal)) {
    if (o.format === 'json') {
      io.out(JSON.stringify(r) + '\n')
      continue
    }
    const text = (o.timestamps ? `${r.time} ` : '') + r.line + '\n'
    if (r.stream === 'stderr') io.err.write(text)
    else io.out(text)
  }
}

export async function events(t: Transport, o: { since?: string; format?: string }, io: Io, signal?: AbortSignal): Promise<void> {
  const q = o.since === undefined ? '' : `?since=${enc(parseSinceArg(o.since).toISOString())}`
  for await (const e of t.stream<DaemonEvent>(`/v1/events${q}`, signal))
    io.out((o.format === 'json' ? JSON.stringify(e) : formatEvent(e)) + '\n')
}

function writeTo(stream: 'stdout' | 'stderr', text: string, io: Io): void {
  if (stream === 'stdout') io.out(text)
  else io.err.write(text)
}

/**
 * `attach`: the container's output from now on and (interactive ones,
 * unless `noStdin`) this terminal's stdin to its stdin, whose end (Ctrl-D)
 * is end-of-file there; exits with the run's status when it ends. Ctrl-C or
 * SIGTERM detaches: the container keeps running, its stdin open.
 */
export async function attach(t: Transport, id: string, o: { stdin?: boolean }, io: Io): Promise<number> {
  const info = await t.json<RemoteContainerInfo>('GET', cpath(id))
  const withStdin = o.stdin !== false && !!info.interactive
  const session = attachSession(t, id, { stdin: withStdin ? process.stdin : null, onOutput: (s, text) => writeTo(s, text, io) })
  const detach = () => session.detach()
  process.on('SIGINT', detach)
  process.on('SIGTERM', detach)
  try {
    const result = await session.done
    return result ? runStatus(id, result, io) : 0
  } finally {
    process.off('SIGINT', detach)
    process.off('SIGTERM', detach)
  }
}

/** The exit status of an attached `run` for a container's result. */
function runStatus(id: string, r: ExitResult, io: Io): number {
  if (r.reason === 'trap') {
    io.err.write(`ocre: container ${id} trapped: ${r.message ?? 'unknown trap'}\n`)
    return EXIT_TRAP
  }
  return r.reason === 'killed' ? EXIT_KILLED : r.exitCode
}

/**
 * `run` through the daemon. Detached: create and start, print the id.
 * Attached: create, follow its output, start, and exit with its status;
 * the first Ctrl-C/SIGTERM stops it (grace period), the second kills it;
 * `--rm` removes it at the end.
 */
export async function runViaDaemon(
  t: Transport,
  body: object,
  o: { detach?: boolean; rm?: boolean; stopTimeout?: number },
  io: Io,
): Promise<number> {
  if (o.detach) {
    if (o.rm) throw new CliError('--rm cannot be combined with -d (the daemon keeps detached containers)')
    const info = await t.json<RemoteContainerInfo>('POST', '/v1/containers', { ...body, start: true })
    io.out(info.id + '\n')
    return 0
  }
  const info = await t.json<RemoteContainerInfo>('POST', '/v1/containers', body)
  const id = info.id
  const interactive = !!(body as { interactive?: boolean }).interactive
  let interrupts = 0
  const onSignal = () => {
    interrupts++
    if (interrupts === 1) {
      const body = o.stopTimeout === undefined ? {} : { timeout: Math.round(o.stopTimeout * 1000) }
      t.json('POST', cpath(id, 'stop'), body).catch(() => {})
    } else if (interrupts === 2) t.json('POST', cpath(id, 'kill'), {}).catch(() => {})
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    let result: ExitResult
    if (interactive) {
      // attached before the start: all its output, and this terminal's stdin to its stdin
      const session = attachSession(t, id, { stdin: process.stdin, onOutput: (s, text) => writeTo(s, text, io) })
      await session.ready
      await t.json('POST', cpath(id, 'start'), {})
      const r = await session.done
      result = r ?? (await t.json<ExitResult>('POST', cpath(id, 'wait'), {}))
    } else {
      const following = logs(t, id, { follow: true }, io)
      await t.json('POST', cpath(id, 'start'), {})
      await following
      result = await t.json<ExitResult>('POST', cpath(id, 'wait'), {})
    }
    if (interrupts > 0 && result.reason === 'killed') return EXIT_KILLED
    return runStatus(id, result, io)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (o.rm) await t.json('DELETE', cpath(id) + '?force=true').catch(() => {})
  }
}

interface RemoteImage {
  name: string
  size: number
  sha256: string
  modified: string
  aot: { cpu?: string } | null
}

/** `images` on a daemon named with --host. */
export async function remoteImages(t: Transport, o: { quiet?: boolean; format?: string }, io: Io): Promise<void> {
  const list = await t.json<RemoteImage[]>('GET', '/v1/images')
  if (o.quiet) io.out(list.map((i) => i.name + '\n').join(''))
  else if (o.format === 'json') io.out(list.map((i) => JSON.stringify(i) + '\n').join(''))
  else {
    const rows = [['NAME', 'SIZE', 'SHA256', 'MODIFIED']]
    for (const i of list) rows.push([i.name, formatBytes(i.size), i.sha256.slice(0, 12), formatDate(new Date(i.modified))])
    io.out(formatTable(rows) + '\n')
  }
}

/** `pull` on a daemon named with --host. */
export async function remotePull(
  t: Transport,
  url: string,
  name: string | undefined,
  o: { force?: boolean; sha256?: string; maxSize?: number },
  io: Io,
): Promise<void> {
  const body: Record<string, unknown> = { url }
  if (name !== undefined) body.name = name
  if (o.force) body.force = true
  if (o.sha256 !== undefined) body.sha256 = o.sha256
  if (o.maxSize !== undefined) body.maxBytes = o.maxSize
  const info = await t.json<RemoteImage>('POST', '/v1/images/pull', body)
  io.out(`${info.name} ${info.sha256}\n`)
}

export function describe(t: Transport): string {
  return describeEndpoint(t.endpoint)
}

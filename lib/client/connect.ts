// The daemon's JS client: `connect()` gives a DaemonClient whose containers
// have the in-process Container's methods (start, stop, kill, pause,
// unpause, wait, remove), driven over the daemon's socket.
//
//   import { connect } from 'ocre-node'
//   const client = await connect({ workdir: '/var/lib/ocre' })
//   const c = await client.create({ image: 'app.wasm', restart: 'on-failure:5' })
//   await c.start()
import path from 'node:path'
import type { Readable } from 'node:stream'
import { OcreError } from '../errors'
import { CONTAINER_OPTION_KEYS, type CreateOptions, type ExitResult, type RemoveOptions, type StopOptions } from '../types'
import { checkOptions, typeError } from '../validate'
import { parseHost, readTokenFile, Transport } from './transport'
import { type AttachOptions, type AttachSession, attachSession } from './attach'

/** A container's status as the daemon reports it (`restarting`: waiting for its restart policy's next start). */
export type RemoteStatus = 'created' | 'running' | 'paused' | 'restarting' | 'stopped' | 'error'

export interface RestartPolicyObject {
  name: 'no' | 'on-failure' | 'always' | 'unless-stopped'
  /** on-failure only: most restarts (0: no limit). */
  maxRetries?: number
}

/** Options of {@link DaemonClient.create}: those of `Context.create` that make sense in a daemon, and more. */
export interface RemoteCreateOptions extends Omit<CreateOptions, 'stdio' | 'detached'> {
  /** `no` (default), `on-failure`, `on-failure:N`, `always`, `unless-stopped`, or an object. */
  restart?: string | RestartPolicyObject
  /** Grace period of stop() and of the daemon's shutdown, in ms (default 10 000). */
  stopTimeout?: number
  /**
   * Liveness, in ms: a running container that writes no output line (stdout
   * or stderr) for this long is killed, and that end counts as a failure
   * (exit 137) for its restart policy. Default: off.
   */
  liveness?: number
  /** Keep its stdin open as a pipe held by the daemon, fed through attach (default: /dev/null). */
  interactive?: boolean
}

/** What the daemon's list tells about a container (`GET /v1/containers`). */
export interface RemoteContainerSummary {
  id: string
  image: string
  args: string[]
  status: RemoteStatus
  created: string
  startedAt: string | null
  lastExit: (ExitResult & { time: string }) | null
  restartPolicy: string
  restartCount: number
  error: string | null
}

/** What the daemon tells about a container (`GET /v1/containers/{id}`). */
export interface RemoteContainerInfo extends RemoteContainerSummary {
  runtime?: string
  env: Record<string, string>
  capabilities: string[]
  mounts: { source: string; target: string; readonly?: boolean }[]
  memoryLimit?: number
  maxOpenFiles?: number
  stackSize?: number
  tier?: string
  restart: { name: RestartPolicyObject['name']; maxRetries: number }
  stopTimeout: number
  liveness?: number
  /** Its stdin is a pipe the daemon keeps open (attach feeds it). */
  interactive?: boolean
  desiredRunning: boolean
  runtimeName: string | null
  tierUsed: 'aot' | 'interpreter' | null
  logPath: string
}

export interface LogRecord {
  time: string
  stream: 'stdout' | 'stderr'
  line: string
}

export interface LogsOptions {
  /** Keep streaming new records (until `signal` aborts). */
  follow?: boolean
  /** Only the last N records. */
  tail?: number
  /** Only records at or after this time. */
  since?: Date
  signal?: AbortSignal
}

export interface DaemonEvent {
  time: string
  id: string
  image: string
  action: 'create' | 'start' | 'restart' | 'die' | 'stop' | 'kill' | 'pause' | 'unpause' | 'destroy' | 'unhealthy'
  exitCode?: number
  reason?: string
}

export interface ConnectOptions {
  /** `unix:///PATH`, an absolute socket path, or `tcp://HOST:PORT`. Default: $OCRE_HOST, else the workdir's socket. */
  host?: string
  /** Working directory whose daemon to use (its socket `<workdir>/ocre.sock`). Default: $OCRE_WORKDIR or /var/lib/ocre. */
  workdir?: string
  /** Bearer token (TCP). Default: read from `tokenFile` or $OCRE_TOKEN_FILE. */
  token?: string
  tokenFile?: string
}

const enc = encodeURIComponent

function restartObject(r: RemoteCreateOptions['restart']): RestartPolicyObject | undefined {
  if (r === undefined || typeof r === 'object') return r
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d{1,9}))?$/.exec(String(r))
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure'))
    throw typeError("'no', 'on-failure[:N]', 'always' or 'unless-stopped'", 'options.restart', r)
  return { name: m[1] as RestartPolicyObject['name'], ...(m[2] !== undefined && { maxRetries: Number(m[2]) }) }
}

/** A container of the daemon. Its fields are those of its last known info (see {@link refresh}). */
export class RemoteContainer {
  readonly id: string
  #client: DaemonClient
  #info: RemoteContainerSummary

  /** Containers come from {@link DaemonClient}. */
  constructor(client: DaemonClient, info: RemoteContainerSummary) {
    this.#client = client
    this.#info = info
    this.id = info.id
  }

  get image(): string {
    return this.#info.image
  }
  /** Status when last seen (refresh() asks again). */
  get status(): RemoteStatus {
    return this.#info.status
  }
  get exitResult(): ExitResult | null {
    const e = this.#info.lastExit
    if (!e) return null
    const { time: _t, ...r } = e
    return r
  }
  get restartCount(): number {
    return this.#info.restartCount
  }
  /** What was last seen: the whole info after create(), get(), refresh() or an action; a summary after list(). */
  get info(): RemoteContainerSummary | RemoteContainerInfo {
    return this.#info
  }

  #path(action?: string): string {
    return `/v1/containers/${enc(this.id)}${action ? `/${action}` : ''}`
  }

  async #act(action: string, body: object = {}): Promise<void> {
    this.#info = await this.#client.transport.json<RemoteContainerInfo>('POST', this.#path(action), body)
  }

  /** Ask the daemon for its current info. */
  async refresh(): Promise<RemoteContainerInfo> {
    const info = await this.#client.transport.json<RemoteContainerInfo>('GET', this.#path())
    this.#info = info
    return info
  }

  /** Start it; resolves once it runs (daemon containers are detached). */
  async start(): Promise<undefined> {
    await this.#act('start')
    return undefined
  }

  /** Stop it (stdin ends; killed after `timeout` ms, default its stopTimeout); resolves with the result once ended. */
  async stop(options: StopOptions = {}): Promise<ExitResult> {
    const o = checkOptions(options, 'options', ['timeout'])
    await this.#act('stop', o.timeout === undefined ? {} : { timeout: o.timeout })
    return this.#lastResult()
  }

  async kill(): Promise<ExitResult> {
    await this.#act('kill')
    return this.#lastResult()
  }

  async pause(): Promise<void> {
    await this.#act('pause')
  }

  async unpause(): Promise<void> {
    await this.#act('unpause')
  }

  /** Restart it (stop, then start). */
  async restart(options: StopOptions = {}): Promise<void> {
    const o = checkOptions(options, 'options', ['timeout'])
    await this.#act('restart', o.timeout === undefined ? {} : { timeout: o.timeout })
  }

  /**
   * Attach: its output from now on through `onOutput`, and for an
   * interactive container `stdin` to its stdin (the stream's end is
   * end-of-file there). `done` resolves with the run's result when it ends,
   * or with null after `detach()`, which leaves it running, stdin open.
   */
  attach(options: AttachOptions): AttachSession {
    const o = checkOptions(options, 'options', ['stdin', 'onOutput'])
    if (typeof o.onOutput !== 'function') throw new TypeError('options.onOutput must be a function')
    if (o.stdin !== undefined && o.stdin !== null && typeof (o.stdin as Readable).pipe !== 'function')
      throw new TypeError('options.stdin must be a readable stream or null')
    return attachSession(this.#client.transport, this.id, o as unknown as AttachOptions)
  }

  /** Wait for the end of the current run (the last result at once when stopped). */
  async wait(): Promise<ExitResult> {
    return this.#client.transport.json<ExitResult>('POST', this.#path('wait'), {})
  }

  /** Remove it, with its record and logs; `force` kills a running one first. */
  async remove(options: RemoveOptions = {}): Promise<void> {
    const o = checkOptions(options, 'options', ['force'])
    try {
      await this.#client.transport.json('DELETE', this.#path() + (o.force ? '?force=true' : ''))
    } catch (err) {
      if ((err as OcreError).code !== 'ERR_OCRE_NOT_FOUND') throw err
    }
  }

  /** Its captured output, record by record. */
  logs(options: LogsOptions = {}): AsyncGenerator<LogRecord> {
    const o = checkOptions(options, 'options', ['follow', 'tail', 'since', 'signal'])
    const q = new URLSearchParams()
    if (o.follow) q.set('follow', 'true')
    if (o.tail !== undefined) q.set('tail', String(o.tail))
    if (o.since !== undefined) q.set('since', (o.since as Date).toISOString())
    const qs = q.toString()
    return this.#client.transport.stream<LogRecord>(this.#path('logs') + (qs ? `?${qs}` : ''), o.signal as AbortSignal | undefined)
  }

  #lastResult(): ExitResult {
    const r = this.exitResult
    if (!r) throw new OcreError('ERR_OCRE_STATE', `container ${this.id} has no exit result`)
    return r
  }
}

/** A connection to a daemon (see {@link connect}). */
export class DaemonClient {
  /** @internal */
  readonly transport: Transport

  constructor(transport: Transport) {
    this.transport = transport
  }

  /** Create a container (stored by the daemon; it survives restarts). */
  async create(options: RemoteCreateOptions): Promise<RemoteContainer> {
    const o = checkOptions(options, 'options', [...CONTAINER_OPTION_KEYS, 'restart', 'stopTimeout', 'liveness', 'interactive'])
    const body = { ...o, restart: restartObject(o.restart as RemoteCreateOptions['restart']) }
    if (body.restart === undefined) delete body.restart
    return new RemoteContainer(this, await this.transport.json<RemoteContainerInfo>('POST', '/v1/containers', body))
  }

  /** The container with this id, or undefined. */
  async get(id: string): Promise<RemoteContainer | undefined> {
    try {
      return new RemoteContainer(this, await this.transport.json<RemoteContainerInfo>('GET', `/v1/containers/${enc(id)}`))
    } catch (err) {
      if ((err as OcreError).code === 'ERR_OCRE_NOT_FOUND') return undefined
      throw err
    }
  }

  /** All containers (default), or only running, paused and restarting ones. */
  async list(options: { all?: boolean } = {}): Promise<RemoteContainer[]> {
    const all = options.all ?? true
    const infos = await this.transport.json<RemoteContainerSummary[]>('GET', `/v1/containers${all ? '?all=true' : ''}`)
    return infos.map((i) => new RemoteContainer(this, i))
  }

  /** Live lifecycle events (with `since`, the kept ones from then first). */
  events(options: { since?: Date; signal?: AbortSignal } = {}): AsyncGenerator<DaemonEvent> {
    const qs = options.since ? `?since=${enc(options.since.toISOString())}` : ''
    return this.transport.stream<DaemonEvent>(`/v1/events${qs}`, options.signal)
  }

  /** Close the client's connections. */
  close(): void {
    this.transport.close()
  }
}

/** Resolve where the daemon is (host > $OCRE_HOST > `<workdir>/ocre.sock`). */
export function daemonHost(host?: string, workdir?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (host) return host
  if (env.OCRE_HOST) return env.OCRE_HOST
  const dir = workdir ?? env.OCRE_WORKDIR ?? '/var/lib/ocre'
  return `unix://${path.join(path.resolve(dir), 'ocre.sock')}`
}

/** Connect to a running daemon (checks that it answers: ERR_OCRE_NO_DAEMON otherwise). */
export async function connect(options: ConnectOptions = {}): Promise<DaemonClient> {
  const o = checkOptions(options, 'options', ['host', 'workdir', 'token', 'tokenFile'])
  const tokenFile = (o.tokenFile as string | undefined) ?? process.env.OCRE_TOKEN_FILE
  const token = (o.token as string | undefined) ?? (tokenFile ? readTokenFile(tokenFile) : undefined)
  const transport = new Transport({
    endpoint: parseHost(daemonHost(o.host as string | undefined, o.workdir as string | undefined)),
    token,
    keepAlive: true,
  })
  try {
    await transport.json('GET', '/v1/_ping')
  } catch (err) {
    transport.close()
    throw err
  }
  return new DaemonClient(transport)
}

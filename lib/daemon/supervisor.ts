// The supervisor: the daemon's containers on top of one Context. It keeps
// each container's definition and supervision state in the RecordStore,
// captures its output to a LogFile, applies its restart policy when a run
// ends on its own, restores everything when the daemon comes up, and emits
// lifecycle events. Lifecycle itself is the library's (Context/Container).
import { EventEmitter } from 'node:events'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { DaemonEvent } from '../client/connect'
import type { Container } from '../container'
import type { Context } from '../context'
import { OcreError } from '../errors'
import type { ExitResult } from '../types'
import { LogFile, type LogLimits } from './logs'
import { type BackoffOptions, DEFAULT_BACKOFF, decideRestart, formatRestartPolicy, startsAtBoot } from './restart'
import { type ContainerRecord, type Definition, type LastExit, RecordStore, type State } from './store'

export type { DaemonEvent }

export type DaemonStatus = 'created' | 'running' | 'paused' | 'restarting' | 'stopped' | 'error'

/** What `ps` shows (the list's entries). */
export interface ContainerSummary {
  id: string
  image: string
  args: string[]
  status: DaemonStatus
  created: string
  startedAt: string | null
  lastExit: LastExit | null
  restartPolicy: string
  restartCount: number
  error: string | null
}

/** What `inspect` shows. */
export interface ContainerInfo extends Omit<Definition, 'restart'> {
  status: DaemonStatus
  restartPolicy: string
  restart: Definition['restart']
  restartCount: number
  startedAt: string | null
  lastExit: LastExit | null
  /** Whether the daemon keeps it running (started and not stopped by a user or by its policy). */
  desiredRunning: boolean
  runtimeName: string | null
  tierUsed: 'aot' | 'interpreter' | null
  /** Why it could not be restored (image gone, ...): it then stays in `error` until removed or started again. */
  error: string | null
  logPath: string
}

export interface CreateRequest {
  image: string
  id?: string
  runtime?: string
  args?: string[]
  env?: Record<string, string>
  capabilities?: Definition['capabilities']
  mounts?: Definition['mounts']
  memoryLimit?: number
  maxOpenFiles?: number
  stackSize?: number
  tier?: Definition['tier']
  restart?: Definition['restart']
  stopTimeout?: number
  liveness?: number
  interactive?: boolean
}

export interface SupervisorOptions {
  logLimits: LogLimits
  backoff?: BackoffOptions
  /** Reports the daemon's own records (restore problems, restart failures). */
  log: (level: 'error' | 'warn' | 'info' | 'debug', msg: string, fields?: Record<string, unknown>) => void
}

const EVENT_HISTORY = 1000
const DEFAULT_STOP_TIMEOUT = 10_000

class Managed {
  container: Container | null = null
  error: string | null = null
  /** Short runs in a row (back-off). */
  streak = 0
  runStart = 0
  restartTimer: NodeJS.Timeout | null = null
  /** The current run is being stopped, killed or removed through the API: no restart. */
  manual = false
  removing = false
  /** Waiting for the end of the current run's output with no restart to come (logs --follow). */
  doneWaiters: (() => void)[] = []
  /** A start in flight (its event not yet emitted). */
  pendingStart: 'start' | 'restart' | null = null
  /** That start was reported by the exit of its run. */
  startedReported = false
  /** Liveness timer of the current run (refreshed by every output line). */
  liveness: NodeJS.Timeout | null = null
  disarm: (() => void) | null = null
  /** Attach sessions: each is given every run's container as the run begins. */
  attachers = new Set<(c: Container) => void>()

  settleDone(): void {
    const waiters = this.doneWaiters
    this.doneWaiters = []
    for (const w of waiters) w()
  }

  constructor(
    public def: Definition,
    public state: State,
    public log: LogFile,
  ) {}

  record(): ContainerRecord {
    return { version: 1, definition: this.def, state: this.state }
  }
}

function notFound(id: string): OcreError {
  return new OcreError('ERR_OCRE_NOT_FOUND', `no such container: ${id}`)
}

export class Supervisor extends EventEmitter<{ event: [DaemonEvent] }> {
  readonly ctx: Context
  readonly store: RecordStore
  readonly logDir: string
  #opts: SupervisorOptions
  #backoff: BackoffOptions
  #all = new Map<string, Managed>()
  #reserved = new Set<string>()
  #history: DaemonEvent[] = []
  #shuttingDown = false

  constructor(ctx: Context, opts: SupervisorOptions) {
    super()
    this.setMaxListeners(0)
    this.ctx = ctx
    this.#opts = opts
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF
    this.store = new RecordStore(path.join(ctx.workdir, 'daemon', 'containers'))
    this.logDir = path.join(ctx.workdir, 'daemon', 'logs')
  }

  get size(): number {
    return this.#all.size
  }

  // ---- events ----

  #emit(m: Managed, action: DaemonEvent['action'], extra: Partial<DaemonEvent> = {}): void {
    const event: DaemonEvent = { time: new Date().toISOString(), id: m.def.id, image: m.def.image, action, ...extra }
    this.#history.push(event)
    if (this.#history.length > EVENT_HISTORY) this.#history.splice(0, this.#history.length - EVENT_HISTORY)
    this.emit('event', event)
  }

  /** Events kept in memory (the last 1,000) at or after `since`. */
  history(since?: Date): DaemonEvent[] {
    if (!since) return []
    const t = since.toISOString()
    return this.#history.filter((e) => e.time >= t)
  }

  // ---- state ----

  #persist(m: Managed): Promise<void> {
    if (m.removing) return Promise.resolve()
    return this.store.save(m.record()).catch((err) => {
      this.#opts.log('error', 'cannot save container record', { id: m.def.id, error: (err as Error).message })
      throw err
    })
  }

  #get(id: string): Managed {
    const m = this.#all.get(id)
    if (!m || m.removing) throw notFound(id)
    return m
  }

  status(m: Managed): DaemonStatus {
    if (!m.container) return 'error'
    if (m.restartTimer) return 'restarting'
    const s = m.container.status
    // restored after a run: the library's container is new, the container is not
    return s === 'created' && m.state.lastExit ? 'stopped' : s
  }

  info(m: Managed): ContainerInfo {
    const { restart, ...def } = m.def
    return {
      ...def,
      status: this.status(m),
      restartPolicy: formatRestartPolicy(restart),
      restart,
      restartCount: m.state.restartCount,
      startedAt: m.state.startedAt,
      lastExit: m.state.lastExit,
      desiredRunning: m.state.running,
      runtimeName: m.container?.runtime ?? null,
      tierUsed: m.container?.tier ?? null,
      error: m.error,
      logPath: m.log.file,
    }
  }

  inspect(id: string): ContainerInfo {
    return this.info(this.#get(id))
  }

  /** Containers in creation order (all, or only running, paused and restarting ones). */
  list(all: boolean): ContainerSummary[] {
    const out: ContainerSummary[] = []
    for (const m of this.#all.values()) {
      if (m.removing) continue
      const status = this.status(m)
      if (!all && status !== 'running' && status !== 'paused' && status !== 'restarting') continue
      const { def, state } = m
      out.push({
        id: def.id,
        image: def.image,
        args: def.args,
        status,
        created: def.created,
        startedAt: state.startedAt,
        lastExit: state.lastExit,
        restartPolicy: formatRestartPolicy(def.restart),
        restartCount: state.restartCount,
        error: m.error,
      })
    }
    return out
  }

  logFile(id: string): LogFile {
    return this.#get(id).log
  }

  /**
   * Resolves when following its output can end: at once if it is stopped
   * or in error, else once a run has ended, its output is captured and no
   * restart is due; also when it is removed.
   */
  untilDone(id: string): Promise<void> {
    const m = this.#get(id)
    const s = this.status(m)
    if (s === 'stopped' || s === 'error') return Promise.resolve()
    return new Promise((resolve) => m.doneWaiters.push(resolve))
  }

  // ---- the library's container ----

  async #instantiate(m: Managed, restore: boolean): Promise<Container> {
    const d = m.def
    const c = await this.ctx.create({
      image: d.image,
      ...(d.id !== '' && { id: d.id }),
      ...(d.runtime !== undefined && { runtime: d.runtime }),
      args: d.args,
      env: d.env,
      capabilities: d.capabilities,
      mounts: d.mounts,
      ...(d.memoryLimit !== undefined && { memoryLimit: d.memoryLimit }),
      ...(d.maxOpenFiles !== undefined && { maxOpenFiles: d.maxOpenFiles }),
      ...(d.stackSize !== undefined && { stackSize: d.stackSize }),
      ...(d.tier !== undefined && { tier: d.tier }),
      stdio: [d.interactive ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
      // a restored container keeps its private directory (containers/<id>/)
      ...(restore && d.capabilities.includes('filesystem') && { restoreDirectory: true }),
    })
    c.on('exit', (result) => this.#onExit(m, result))
    c.on('close', () => {
      // its output is all captured; a follower stops unless a run comes next
      if (!m.restartTimer && c.status !== 'running' && c.status !== 'paused') m.settleDone()
    })
    m.container = c
    m.error = null
    return c
  }

  /** Start a run and report it (`start` or `restart`), before its end even if it ends at once. */
  async #startRun(m: Managed, c: Container, action: 'start' | 'restart'): Promise<void> {
    m.runStart = performance.now()
    m.pendingStart = action
    const starting = c.start()
    m.log.capture(c.stdout, 'stdout')
    m.log.capture(c.stderr, 'stderr')
    for (const onRun of m.attachers) onRun(c)
    this.#armLiveness(m, c)
    try {
      await starting
    } finally {
      m.pendingStart = null
    }
    // a run that ended at once was reported by #onExit already
    if (m.startedReported) m.startedReported = false
    else this.#reportStart(m, action)
  }

  #reportStart(m: Managed, action: 'start' | 'restart'): void {
    m.state.startedAt = new Date().toISOString()
    this.#emit(m, action)
  }

  /**
   * Liveness: a run that writes no output line for `def.liveness` ms is
   * killed, and its end counts as a failure (exit 137), not as a manual
   * kill: its restart policy applies.
   */
  #armLiveness(m: Managed, c: Container): void {
    this.#disarmLiveness(m)
    const ms = m.def.liveness
    if (!ms) return
    const refresh = () => m.liveness?.refresh()
    m.liveness = setTimeout(() => {
      if (c.status !== 'running' && c.status !== 'paused') return
      this.#opts.log('warn', 'no output within the liveness period: killing the container', { id: m.def.id, ms })
      this.#emit(m, 'unhealthy')
      c.kill().catch(() => {})
    }, ms)
    m.log.on('record', refresh)
    m.disarm = () => m.log.off('record', refresh)
  }

  #disarmLiveness(m: Managed): void {
    if (m.liveness) clearTimeout(m.liveness)
    m.liveness = null
    m.disarm?.()
    m.disarm = null
  }

  #onExit(m: Managed, result: ExitResult): void {
    this.#disarmLiveness(m)
    const runMs = performance.now() - m.runStart
    if (m.pendingStart) {
      // ended before its start() returned: its start comes first
      this.#reportStart(m, m.pendingStart)
      m.startedReported = true
    }
    m.state.lastExit = { ...result, time: new Date().toISOString() }
    // stopped by the shutdown, a paused container comes back paused; any other end unpauses it
    if (!this.#shuttingDown) m.state.paused = false
    this.#emit(m, 'die', { exitCode: result.exitCode, reason: result.reason })
    if (m.removing) return
    if (this.#shuttingDown) {
      // stopped by the shutdown: it runs again when the daemon comes back
      this.#persist(m).catch(() => {})
      return
    }
    if (m.manual) {
      m.manual = false
      m.state.running = false
      this.#persist(m).catch(() => {})
      return
    }
    const verdict = decideRestart(
      {
        policy: m.def.restart,
        exitCode: result.exitCode,
        restartCount: m.state.restartCount,
        runMs,
        streak: m.streak,
      },
      this.#backoff,
    )
    m.streak = verdict.streak
    if (!verdict.restart) {
      m.state.running = false
      this.#persist(m).catch(() => {})
      return
    }
    m.state.restartCount++
    const restart = () => {
      m.restartTimer = null
      const c = m.container
      if (!c || m.removing || this.#shuttingDown || c.status !== 'stopped') return
      this.#startRun(m, c, 'restart').then(
        () => this.#persist(m).catch(() => {}),
        (err) => this.#opts.log('error', 'restart failed', { id: m.def.id, error: (err as Error).message }),
      )
    }
    // Always through a timer, also without delay: not from inside the
    // container's 'exit' listener (the library settles that run first), and
    // cancellable by a stop, kill or remove meanwhile.
    m.restartTimer = setTimeout(restart, verdict.delayMs)
    if (verdict.delayMs > 0) this.#persist(m).catch(() => {})
  }

  #cancelRestart(m: Managed): boolean {
    if (!m.restartTimer) return false
    clearTimeout(m.restartTimer)
    m.restartTimer = null
    return true
  }

  // ---- API operations ----

  async create(req: CreateRequest): Promise<ContainerInfo> {
    if (req.id !== undefined && (this.#all.has(req.id) || this.#reserved.has(req.id)))
      throw new OcreError('ERR_OCRE_EXISTS', `container id '${req.id}' is already in use`)
    if (req.id !== undefined) this.#reserved.add(req.id)
    try {
      const def: Definition = {
        id: req.id ?? '',
        image: req.image,
        ...(req.runtime !== undefined && { runtime: req.runtime }),
        args: req.args ?? [],
        env: req.env ?? {},
        capabilities: req.capabilities ?? [],
        mounts: req.mounts ?? [],
        ...(req.memoryLimit !== undefined && { memoryLimit: req.memoryLimit }),
        ...(req.maxOpenFiles !== undefined && { maxOpenFiles: req.maxOpenFiles }),
        ...(req.stackSize !== undefined && { stackSize: req.stackSize }),
        ...(req.tier !== undefined && { tier: req.tier }),
        restart: req.restart ?? { name: 'no', maxRetries: 0 },
        stopTimeout: req.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
        ...(req.liveness && { liveness: req.liveness }),
        ...(req.interactive && { interactive: true }),
        created: new Date().toISOString(),
      }
      const state: State = { running: false, manuallyStopped: false, restartCount: 0, startedAt: null, lastExit: null }
      const m = new Managed(def, state, null as unknown as LogFile)
      const c = await this.#instantiate(m, false)
      def.id = c.id
      m.log = new LogFile(this.logDir, c.id, this.#opts.logLimits)
      try {
        await this.store.save(m.record())
      } catch (err) {
        await c.remove({ force: true }).catch(() => {})
        throw new OcreError('ERR_OCRE_IO', `cannot save container ${c.id}: ${(err as Error).message}`)
      }
      this.#all.set(c.id, m)
      this.#emit(m, 'create')
      return this.info(m)
    } finally {
      if (req.id !== undefined) this.#reserved.delete(req.id)
    }
  }

  async start(id: string): Promise<ContainerInfo> {
    const m = this.#get(id)
    const wasRestarting = this.#cancelRestart(m)
    let c = m.container
    if (!c) c = await this.#instantiate(m, true) // a restore that failed: try again
    if (!wasRestarting && c.status !== 'created' && c.status !== 'stopped')
      throw new OcreError('ERR_OCRE_STATE', `cannot start container ${id}: it is ${c.status}`)
    m.manual = false
    m.streak = 0
    m.state.restartCount = 0
    m.state.running = true
    m.state.paused = false
    m.state.manuallyStopped = false
    await this.#startRun(m, c, 'start')
    await this.#persist(m)
    return this.info(m)
  }

  /** Stop (grace period `timeoutMs`, default the container's); resolves with its info once it has ended. */
  async stop(id: string, timeoutMs?: number): Promise<ContainerInfo> {
    const m = this.#get(id)
    this.#cancelRestart(m)
    const c = m.container
    m.state.running = false
    m.state.manuallyStopped = true
    if (c && (c.status === 'running' || c.status === 'paused')) {
      m.manual = true
      this.#emit(m, 'stop')
      const stopping = c.stop({ timeout: timeoutMs ?? m.def.stopTimeout })
      await this.#persist(m)
      await stopping
    } else {
      await this.#persist(m)
    }
    return this.info(m)
  }

  async kill(id: string): Promise<ContainerInfo> {
    const m = this.#get(id)
    const c = m.container
    if (!c || (c.status !== 'running' && c.status !== 'paused')) {
      if (this.#cancelRestart(m)) {
        m.state.running = false
        m.state.manuallyStopped = true
        await this.#persist(m)
        return this.info(m)
      }
      throw new OcreError('ERR_OCRE_STATE', `cannot kill container ${id}: it is ${this.status(m)}`)
    }
    m.manual = true
    m.state.running = false
    m.state.manuallyStopped = true
    this.#emit(m, 'kill')
    const killing = c.kill()
    await this.#persist(m)
    await killing
    return this.info(m)
  }

  /** Pause; the paused state is on disk before the reply (a new daemon brings it back paused). */
  async pause(id: string): Promise<ContainerInfo> {
    const m = this.#get(id)
    if (!m.container) throw new OcreError('ERR_OCRE_STATE', `cannot pause container ${id}: it is ${this.status(m)}`)
    await m.container.pause()
    m.state.paused = true
    this.#emit(m, 'pause')
    await this.#persist(m)
    return this.info(m)
  }

  async unpause(id: string): Promise<ContainerInfo> {
    const m = this.#get(id)
    if (!m.container) throw new OcreError('ERR_OCRE_STATE', `cannot unpause container ${id}: it is ${this.status(m)}`)
    await m.container.unpause()
    m.state.paused = false
    this.#emit(m, 'unpause')
    await this.#persist(m)
    return this.info(m)
  }

  /**
   * Attach: `onRun` is given the container of its current run (at once, if
   * one is under way) and of every run that begins, until the returned
   * function is called. `stdin`: the session feeds the container's stdin,
   * which only an interactive container has. A stopped container cannot be
   * attached to (start it first), a created or restarting one waits for its
   * run.
   */
  attach(id: string, stdin: boolean, onRun: (c: Container) => void): () => void {
    const m = this.#get(id)
    if (stdin && !m.def.interactive)
      throw new OcreError('ERR_OCRE_STATE', `container ${id} has no stdin to attach to: create it interactive (-i)`)
    const status = this.status(m)
    if (status === 'stopped' || status === 'error')
      throw new OcreError('ERR_OCRE_STATE', `cannot attach to container ${id}: it is ${status} (start it first)`)
    m.attachers.add(onRun)
    const c = m.container
    if (c && (m.pendingStart || c.status === 'running' || c.status === 'paused')) onRun(c)
    return () => void m.attachers.delete(onRun)
  }

  /** The end of the current run (the last one's at once when stopped). */
  async wait(id: string): Promise<ExitResult> {
    const m = this.#get(id)
    if (!m.container) throw new OcreError('ERR_OCRE_STATE', `cannot wait for container ${id}: it is ${this.status(m)}`)
    if ((m.restartTimer || m.container.status === 'created') && m.state.lastExit) {
      const { time: _t, ...result } = m.state.lastExit
      return result
    }
    const result = await m.container.wait()
    // what the end of the run did to its state (restart or not) is on disk before the reply
    await this.store.settled(m.def.id)
    return result
  }

  async restart(id: string, timeoutMs?: number): Promise<ContainerInfo> {
    await this.stop(id, timeoutMs)
    return this.start(id)
  }

  async remove(id: string, force: boolean): Promise<void> {
    const m = this.#get(id)
    const c = m.container
    if (!force && c && (c.status === 'running' || c.status === 'paused'))
      throw new OcreError(
        'ERR_OCRE_STATE',
        `cannot remove container ${id}: it is ${c.status} (stop it first, or force the removal)`,
      )
    m.removing = true
    this.#cancelRestart(m)
    this.#disarmLiveness(m)
    try {
      if (c) {
        m.manual = true
        await c.remove({ force })
      }
    } catch (err) {
      m.removing = false
      m.manual = false
      throw err
    }
    await this.store.delete(id)
    this.#all.delete(id)
    m.settleDone()
    await m.log.remove().catch(() => {})
    this.#emit(m, 'destroy')
  }

  // ---- daemon life ----

  /** Load the records and bring the containers back; start those that should run. Returns counts. */
  async restore(): Promise<{ restored: number; started: number; failed: number }> {
    await fsp.mkdir(this.logDir, { recursive: true, mode: 0o750 })
    const records = await this.store.load((file, err) =>
      this.#opts.log('error', 'unreadable container record skipped', { file, error: err.message }),
    )
    let failed = 0
    let started = 0
    const toStart: Managed[] = []
    for (const r of records) {
      const m = new Managed(r.definition, r.state, new LogFile(this.logDir, r.definition.id, this.#opts.logLimits))
      this.#all.set(r.definition.id, m)
      try {
        await this.#instantiate(m, true)
      } catch (err) {
        failed++
        m.error = `${(err as OcreError).code ?? 'ERR_OCRE_UNKNOWN'}: ${(err as Error).message}`
        this.#opts.log('error', 'cannot restore container', { id: r.definition.id, error: m.error })
        continue
      }
      if (startsAtBoot(r.definition.restart, r.state.running, r.state.manuallyStopped)) toStart.push(m)
    }
    for (const m of toStart) {
      try {
        m.state.running = true
        const c = m.container!
        await this.#startRun(m, c, 'start')
        if (m.state.paused) {
          if (c.status === 'running') {
            await c.pause()
            this.#emit(m, 'pause')
          } else m.state.paused = false // it ended at once
        }
        this.#persist(m).catch(() => {})
        started++
      } catch (err) {
        failed++
        this.#opts.log('error', 'cannot start restored container', { id: m.def.id, error: (err as Error).message })
      }
    }
    return { restored: records.length, started, failed }
  }

  /**
   * Graceful shutdown: stop every running container with its grace period
   * (they stay marked as running: they start again with the daemon), save
   * the state, close the logs and the context.
   */
  async shutdown(killNow = false): Promise<void> {
    this.#shuttingDown = true
    const stops: Promise<unknown>[] = []
    for (const m of this.#all.values()) {
      this.#cancelRestart(m)
      this.#disarmLiveness(m)
      const c = m.container
      if (c && (c.status === 'running' || c.status === 'paused'))
        stops.push((killNow ? c.kill() : c.stop({ timeout: m.def.stopTimeout })).catch(() => {}))
    }
    await Promise.all(stops)
    await this.store.idle()
    await Promise.all([...this.#all.values()].map((m) => m.log.close()))
    for (const m of this.#all.values()) m.settleDone()
  }

  /** Kill every container now (a second SIGTERM during shutdown). */
  killAll(): void {
    for (const m of this.#all.values()) {
      const c = m.container
      if (c && (c.status === 'running' || c.status === 'paused')) c.kill().catch(() => {})
    }
  }
}

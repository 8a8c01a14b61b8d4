// Container: one ocre container, an EventEmitter like ChildProcess.
//
// Where its state comes from: the addon delivers every C status change
// through a ThreadSafeFunction with a fresh snapshot of the state (status,
// completed runs, last exit, as numbers: NativeStateHandler). `#sync()` folds
// snapshots into the JS view: a new run count means a run ended ('exit'); a
// different status emits 'status'. Nothing in here waits in native code:
// waits are promises settled by those events.
import { EventEmitter } from 'node:events'
import type { Readable, Writable } from 'node:stream'
import type { NativeContainer, NativeStateHandler } from './binding'
import { type CallSite, captureCallSite, OcreError, withCallSite } from './errors'
import { RunStdio, type StdioSlot } from './stdio'
import type { ContainerStatus, ExitResult, RemoveOptions, StopOptions } from './types'
import { checkBoolean, checkInteger, checkOptions } from './validate'

/** Events of a {@link Container}. */
export interface ContainerEvents {
  /** The status changed. Every run is seen as `running` before it is `stopped`. */
  status: [status: ContainerStatus]
  /** A run ended. */
  exit: [result: ExitResult]
  /** A run ended and its piped stdout/stderr have closed (all output read). */
  close: [result: ExitResult]
}

/** What a Container needs from its Context (internal). */
export interface ContainerOwner {
  /** Throws once closing (before work on the context starts). */
  check(): void
  /** Track pool work so that close() waits for it; returns it. */
  track<T>(work: Promise<T>): Promise<T>
  forget(container: Container): void
}

/** Package-internal operations on containers (not re-exported by index.ts). */
export interface ContainerInternals {
  create(native: NativeContainer, owner: ContainerOwner, stdio: readonly StdioSlot[]): Container
  /**
   * The handler of every container's events (createContainer's onEvent):
   * delivers the snapshot to the Container of the NativeContainer it is
   * called on.
   */
  onEvent: NativeStateHandler
  /** Start the next run without waiting for its exit, whatever `detached` says. */
  begin(c: Container): Promise<number>
  /** The exit of the current (or next) run. */
  nextExit(c: Container): Promise<ExitResult>
  /** The 'close' of the current (or next) run: its exit, once its piped outputs have closed. */
  nextClose(c: Container): Promise<ExitResult>
  /** The context removed it (its close()). */
  markRemoved(c: Container): void
  /** What the last run wrote to captured stream 1 or 2 (run()'s stdio 'capture'). */
  takeOutput(c: Container, stream: 1 | 2): { data: Buffer; truncated: boolean } | null
}

// eslint-disable-next-line prefer-const
export let containerInternals: ContainerInternals

const MAX_TIMEOUT = 0xffffffff
const REMOVE_KEYS = ['force']
/** withCallSite() leaves an error's own stack alone with this. */
const NO_CALL_SITE: CallSite = {}

/** ExitResult.reason by the addon's reason number (1 exit, 2 killed, 3 trap). */
const REASONS: readonly ExitResult['reason'][] = ['exit', 'exit', 'killed', 'trap']
/** Public status by ocre_container_status_t (unknown: error; exited: stopped). */
const STATUSES: readonly ContainerStatus[] = ['error', 'created', 'running', 'paused', 'stopped', 'stopped', 'error']

function toResult(exitCode: number, reason: number, message: string | undefined): ExitResult {
  const result: ExitResult = { exitCode, reason: REASONS[reason] ?? 'exit' }
  if (message) result.message = message
  return result
}

function isOpen(s: Readable | null | undefined): s is Readable {
  return !!s && !s.closed && !s.destroyed
}

/** The Container of a NativeContainer (set once it exists; events before are dropped). */
const OWNER = Symbol('ocre.container')
type OwnedNative = NativeContainer & { [OWNER]?: Container }

/** What `start()` resolves with: the exit result when attached, `undefined` when detached. */
export type StartResult<Detached extends boolean> = Detached extends true ? undefined : ExitResult

/**
 * A container. Get one from {@link Context.create}. Its state lives in the C
 * runtime; this object follows it through events. `Detached` is its
 * `detached` option when known at compile time (it types `start()`).
 */
export class Container<Detached extends boolean = boolean> extends EventEmitter<ContainerEvents> {
  /** The id, unique in its context. */
  readonly id: string
  /** The image file name it was created from. */
  readonly image: string
  /** The engine that runs it, e.g. `wamr/wasip1`. */
  readonly runtime: string
  /** How it runs: `'aot'` (its image's verified AOT artifact) or `'interpreter'`. */
  readonly tier: 'aot' | 'interpreter'
  /** Whether `start()` resolves once running (detached) or at exit (attached). */
  readonly detached: Detached

  #native: NativeContainer
  #owner: ContainerOwner
  #stdioSlots: readonly StdioSlot[]
  #status: ContainerStatus = 'created'
  #runsSeen = 0
  #lastExit: ExitResult | null = null
  #waiters: { run: number; resolve: (r: ExitResult) => void }[] = []
  /** run()'s wait for the next 'close' (internal: no listener on the emitter). */
  #closeWaiter: ((r: ExitResult) => void) | null = null
  /** The stdio of every run when no slot is a pipe (nothing per run to make). */
  #fixedRun: RunStdio | null = null
  #run: RunStdio | null = null
  #starting = false
  /** The start in flight (settles when the core's start has returned). */
  #startWork: Promise<unknown> | null = null
  #removed = false
  #refWanted = true
  #refed = false
  /** start() / remove() settle inline: an error then has the caller's stack already */
  #inlineStart: boolean
  #inlineRemove: boolean

  static {
    containerInternals = {
      create: (native, owner, stdio) => new Container(native, owner, stdio),
      onEvent(this: OwnedNative | undefined, status, runs, exitCode, reason, message) {
        const c = this?.[OWNER]
        if (c) c.#sync(status, runs, exitCode, reason, message)
      },
      begin: (c) => c.#begin(),
      nextExit: (c) => c.#exitOfRun(c.#runsSeen + 1),
      nextClose: (c) => new Promise((resolve) => (c.#closeWaiter = resolve)),
      markRemoved: (c) => c.#markRemoved(),
      takeOutput: (c, stream) => c.#native.takeOutput(stream),
    }
  }

  /** Containers come from {@link Context.create}. */
  private constructor(native: NativeContainer, owner: ContainerOwner, stdio: readonly StdioSlot[]) {
    super()
    const info = native.info()
    this.id = info.id
    this.image = info.image
    this.runtime = info.runtime
    this.tier = info.tier
    this.detached = info.detached as Detached
    this.#native = native
    this.#owner = owner
    this.#stdioSlots = stdio
    this.#inlineStart = info.inlineStart
    this.#inlineRemove = info.inlineRemove
    ;(native as OwnedNative)[OWNER] = this
  }

  /** Current status (`created`, `running`, `paused`, `stopped`, `error`). */
  get status(): ContainerStatus {
    return this.#status
  }

  /** How the last run ended, or null if none has. */
  get exitResult(): ExitResult | null {
    return this.#lastExit
  }

  /** Whether it has been removed (by remove() or the context's close()). */
  get removed(): boolean {
    return this.#removed
  }

  /**
   * Ocre API events (timer expiries, messages, GPIO changes) this container
   * lost because its event queue (64 events) was full, over all its runs.
   */
  get eventsDropped(): number {
    return this.#native.eventsDropped()
  }

  /** Its memory limit in bytes (see CreateOptions.memoryLimit). */
  get memoryLimit(): number {
    return this.#native.info().memoryLimit
  }

  /** The niceness its runs get (see CreateOptions.nice). */
  get nice(): number {
    return this.#native.info().nice
  }

  /** The current run's stdin, when stdin is `'pipe'` (a new stream per start). */
  get stdin(): Writable | null {
    return this.#run?.stdin ?? null
  }

  /** The current run's stdout, when stdout is `'pipe'`. Ends when the container exits. */
  get stdout(): Readable | null {
    return this.#run?.stdout ?? null
  }

  /** The current run's stderr, when stderr is `'pipe'`. Ends when the container exits. */
  get stderr(): Readable | null {
    return this.#run?.stderr ?? null
  }

  // ---- events from the addon ----

  #setStatus(status: ContainerStatus): void {
    if (status === this.#status) return
    this.#status = status
    this.#updateRef()
    this.emit('status', status)
  }

  #sync(status: number, runs: number, exitCode: number, reason: number, message: string | undefined): void {
    if (runs > this.#runsSeen) {
      // A run ended (snapshots may skip one if the container was restarted
      // from a listener: the last one is what the core kept).
      if (this.#status !== 'running' && this.#status !== 'paused') this.#setStatus('running')
      this.#runsSeen = runs
      const result = toResult(exitCode, reason, message)
      this.#lastExit = result
      this.#setStatus('stopped')
      this.#onRunEnded(result)
    }
    const now = STATUSES[status] ?? 'error'
    if (!this.#starting || now !== 'created') this.#setStatus(now)
  }

  /** #sync() with the current state, read now. */
  #refresh(): void {
    this.#native.snapshot(containerInternals.onEvent)
  }

  #emitClose(result: ExitResult): void {
    const waiter = this.#closeWaiter
    this.#closeWaiter = null
    waiter?.(result)
    this.emit('close', result)
  }

  #onRunEnded(result: ExitResult): void {
    const run = this.#run
    // Like ChildProcess: our end of stdin is closed when the program is gone.
    run?.stdin?.destroy()
    if (this.#waiters.length > 0) {
      const waiters = this.#waiters.filter((w) => w.run <= this.#runsSeen)
      this.#waiters = this.#waiters.filter((w) => w.run > this.#runsSeen)
      for (const w of waiters) w.resolve(result)
    }
    this.emit('exit', result)
    // 'close' once the piped outputs of that run have closed too.
    const out = isOpen(run?.stdout) ? run?.stdout : null
    const err = isOpen(run?.stderr) ? run?.stderr : null
    if (!out && !err) {
      this.#emitClose(result)
      return
    }
    let pending = (out ? 1 : 0) + (err ? 1 : 0)
    const onClose = () => {
      if (--pending === 0) this.#emitClose(result)
    }
    out?.once('close', onClose)
    err?.once('close', onClose)
  }

  #updateRef(): void {
    const want = this.#refWanted && !this.#removed && (this.#status === 'running' || this.#status === 'paused')
    if (want === this.#refed) return
    this.#refed = want
    this.#native.setRef(want)
  }

  /** Resolves with the exit of run number `run` (1-based). */
  #exitOfRun(run: number): Promise<ExitResult> {
    if (this.#runsSeen >= run && this.#lastExit) return Promise.resolve(this.#lastExit)
    return new Promise((resolve) => this.#waiters.push({ run, resolve }))
  }

  // ---- lifecycle ----

  /** Start the next run; resolves once it runs (or has already ended). */
  async #begin(): Promise<number> {
    // An inline native start creates its errors with this call's stack; only
    // pool work needs the call site captured now (capturing costs several µs).
    const site = this.#inlineStart ? NO_CALL_SITE : captureCallSite(this.start)
    if (this.#starting) {
      throw withCallSite(new OcreError('ERR_OCRE_STATE', `cannot start container ${this.id}: it is starting`), site)
    }
    // A restart may come before the previous exit event: settle that run
    // first, so that its end is reported on its own streams. (A container
    // that never ran has no run to settle: only start() moves it on.)
    if (this.#status !== 'created' || this.#runsSeen > 0) this.#refresh()
    // Streams exist from here on, so that `c.start(); c.stdout.pipe(...)` works.
    // Without pipes there is nothing to make per run: one RunStdio serves all.
    const run = this.#fixedRun ?? new RunStdio(this.#stdioSlots)
    if (!run.hasPipes) this.#fixedRun = run
    const previous = this.#run
    this.#run = run
    this.#starting = true
    const runNumber = this.#runsSeen + 1
    try {
      // Once removed, the core says so (ERR_OCRE_NOT_FOUND).
      if (!this.#removed) this.#owner.check()
      const fds = run.childFds
      // Inline (small image): started now, no promise; else pool work.
      const p = this.#native.start(fds[0], fds[1], fds[2])
      if (p) {
        this.#startWork = this.#removed ? p : this.#owner.track(p)
        await this.#startWork
      } else {
        // as after pool work: listeners added right after start() see the run
        await undefined
      }
    } catch (err) {
      run.abort()
      this.#run = previous
      this.#starting = false
      this.#startWork = null
      this.#refresh()
      throw withCallSite(err, site)
    }
    run.closeChildEnds()
    this.#starting = false
    this.#startWork = null
    this.#refresh()
    return runNumber
  }

  /** kill/stop/pause right after start(): act on the run being started. */
  async #afterStart(): Promise<void> {
    if (this.#startWork) await this.#startWork.catch(() => {})
  }

  /**
   * Start (from `created` or `stopped`; a restart gets fresh stdio streams).
   * Attached containers: resolves when the run ends, with its result.
   * Detached: resolves once it runs, with `undefined`.
   * Errors: ERR_OCRE_STATE (wrong state), ERR_OCRE_RUNTIME (no thread for
   * it: status becomes `error`), ERR_OCRE_NOT_FOUND (removed). A module the
   * engine cannot instantiate is not an error here: the run ends with
   * reason `trap`, exit code 134 and the engine's message.
   */
  async start(): Promise<StartResult<Detached>> {
    const run = await this.#begin()
    if (this.detached) return undefined as StartResult<Detached>
    return (await this.#exitOfRun(run)) as StartResult<Detached>
  }

  /**
   * Wait for the end of the current run; resolves with the last result at
   * once when stopped. ERR_OCRE_STATE for a container that never ran
   * (`created`, `error`); ERR_OCRE_NOT_FOUND once removed.
   */
  async wait(): Promise<ExitResult> {
    const site = captureCallSite(this.wait)
    await this.#afterStart()
    let running: boolean
    try {
      running = this.#native.probeWait()
    } catch (err) {
      throw withCallSite(err, site)
    }
    if (!running) {
      this.#refresh()
      if (this.#lastExit) return this.#lastExit
    }
    return this.#exitOfRun(this.#runsSeen + 1)
  }

  /**
   * Kill a running or paused container (busy, asleep, blocked on stdin or
   * paused: it ends within milliseconds with exit code 137, reason
   * `killed`). Resolves with the result once it has ended; for a stopped
   * container at once, with its last result. ERR_OCRE_STATE for `created`
   * and `error`. Called while a start() is in flight, it acts once the
   * container runs (so does stop() and pause()).
   */
  async kill(): Promise<ExitResult> {
    const site = captureCallSite(this.kill)
    await this.#afterStart()
    try {
      this.#native.kill()
    } catch (err) {
      throw withCallSite(err, site)
    }
    return this.wait()
  }

  /**
   * Ask the container to finish (its stdin reads end-of-file), kill it after
   * `timeout` ms (default 10 000; 0: at once). The kill happens on the
   * runtime's timer thread. Resolves with the result once it has ended.
   */
  async stop(options: StopOptions = {}): Promise<ExitResult> {
    const o = checkOptions(options, 'options', ['timeout'])
    const timeout = o.timeout === undefined ? 10_000 : checkInteger(o.timeout, 'options.timeout', 0, MAX_TIMEOUT)
    const site = captureCallSite(this.stop)
    await this.#afterStart()
    try {
      this.#native.stop(timeout)
    } catch (err) {
      throw withCallSite(err, site)
    }
    return this.wait()
  }

  /**
   * Pause a running container: it makes no progress past its next host call
   * (WASI or Ocre API call). A pure compute loop without host calls keeps
   * running until its next host call. ERR_OCRE_STATE unless running.
   */
  async pause(): Promise<void> {
    const site = captureCallSite(this.pause)
    await this.#afterStart()
    try {
      this.#native.pause()
    } catch (err) {
      throw withCallSite(err, site)
    }
    this.#refresh()
  }

  /** Resume a paused container. ERR_OCRE_STATE unless paused. */
  async unpause(): Promise<void> {
    const site = captureCallSite(this.unpause)
    try {
      this.#native.unpause()
    } catch (err) {
      throw withCallSite(err, site)
    }
    this.#refresh()
  }

  /**
   * Remove it (from `created`, `stopped` or `error`): frees it, deletes its
   * private directory and destroys the last run's stdio streams (read the
   * output first, e.g. after the 'close' event). Idempotent. ERR_OCRE_STATE
   * while running or paused, unless `force` (kill first).
   */
  async remove(options: RemoveOptions = {}): Promise<void> {
    const o = checkOptions(options, 'options', REMOVE_KEYS)
    const force = o.force === undefined ? false : checkBoolean(o.force, 'options.force')
    if (this.#removed) return
    if (!force && this.#inlineRemove && !this.#startWork) {
      // Nothing to wait for and an inline native remove: it runs now, in the
      // caller's stack, which its errors then carry (no call site to capture).
      try {
        this.#owner.check()
        const p = this.#native.remove() // inline: done now, no promise
        await (p && this.#owner.track(p))
      } catch (err) {
        // removed meanwhile (a concurrent close()): the state asked for
        if ((err as { code?: string }).code !== 'ERR_OCRE_NOT_FOUND') throw err
      }
      this.#markRemoved()
      return
    }
    const site = captureCallSite(this.remove)
    // Like kill/stop/pause: act on the state a start in flight leads to.
    await this.#afterStart()
    if (this.#removed) return
    // A forced remove wins against concurrent restarts (a few rounds of
    // kill + remove), like `docker rm -f`.
    for (let attempt = 1; ; attempt++) {
      if (force && (this.#status === 'running' || this.#status === 'paused')) {
        try {
          await this.kill()
        } catch {
          // ended meanwhile: remove below says if anything is wrong
        }
      }
      try {
        this.#owner.check()
        const p = this.#native.remove()
        await (p && this.#owner.track(p))
        break
      } catch (err) {
        const code = (err as { code?: string }).code
        // Removed meanwhile (a concurrent remove() or close()): that is the
        // state asked for, so remove() stays idempotent.
        if (code === 'ERR_OCRE_NOT_FOUND') break
        if (!(force && code === 'ERR_OCRE_STATE' && attempt < 5)) throw withCallSite(err, site)
        this.#refresh()
        await this.#afterStart()
      }
    }
    this.#markRemoved()
  }

  #markRemoved(): void {
    if (this.#removed) return
    // The core only removes a container whose run has ended: account for that
    // end now (its exit event may still be queued behind us), so waiters and
    // an attached start() settle before the event loop reference goes. Not
    // needed when no run is known to be going on: every start goes through
    // #begin(), which reports the run as running.
    if (this.#status === 'running' || this.#status === 'paused') {
      try {
        this.#refresh()
      } catch {
        // no snapshot: nothing more to learn
      }
    }
    this.#removed = true
    this.#updateRef()
    // Everything goes with the container, unread output included.
    const run = this.#run
    if (run?.hasPipes) for (const s of [run.stdin, run.stdout, run.stderr]) s?.destroy()
    this.#owner.forget(this)
  }

  /**
   * Let the process exit while this container runs (like ChildProcess.unref):
   * its events and piped stdio no longer keep the event loop alive. When the
   * process exits, running containers are killed.
   */
  unref(): this {
    this.#refWanted = false
    this.#updateRef()
    for (const s of [this.#run?.stdin, this.#run?.stdout, this.#run?.stderr])
      (s as { unref?: () => void } | null | undefined)?.unref?.()
    return this
  }

  /** Undo unref(): a running container keeps the event loop alive (the default). */
  ref(): this {
    this.#refWanted = true
    this.#updateRef()
    for (const s of [this.#run?.stdin, this.#run?.stdout, this.#run?.stderr])
      (s as { ref?: () => void } | null | undefined)?.ref?.()
    return this
  }
}

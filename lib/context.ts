// Context: one working directory and its containers (one per workdir in a
// process). open() makes one; close() kills, waits for and removes every
// container. Open contexts are held in a per-environment registry until
// closed, so that neither a context nor its containers is ever collected
// while they run; at process exit the addon kills and joins them.
import path from 'node:path'
import { binding, type NativeContainer, type NativeContext } from './binding'
import { type Container, type ContainerOwner, containerInternals as internals } from './container'
import { Gpio, Sensors } from './devices'
import { AbortError, type CallSite, captureCallSite, isOcreError, OcreError, withCallSite } from './errors'
import { checkLoadable, forgetVerdict, loadableDigest } from './images/gate'
import { ImageStore } from './images/store'
import './log'
import { Messaging } from './messaging'
import { normalizeStdio, type StdioSlot } from './stdio'
import { CONTAINER_OPTION_KEYS, type CreateOptions, type OpenOptions, type RunOptions, type RunResult, type Tier } from './types'
import {
  checkAbsolutePath,
  checkBoolean,
  checkEnv,
  checkInteger,
  checkMounts,
  checkNonEmptyString,
  checkOptions,
  checkString,
  checkStringArray,
  checkSignal,
  typeError,
} from './validate'

const CREATE_KEYS = [...CONTAINER_OPTION_KEYS, 'stdio', 'detached', 'restoreDirectory'] as const
const TIERS = ['auto', 'aot', 'interpreter'] as const
/** Highest niceness (Linux's, OCRE_NICE_MAX). */
const NICE_MAX = 19
const RUN_KEYS = [...CREATE_KEYS.filter((k) => k !== 'image' && k !== 'detached'), 'signal', 'input', 'maxBuffer'] as const
/** An absent list option (only the addon reads it). */
const NONE: readonly string[] = Object.freeze([])
/** run()'s default maxBuffer, child_process.execFile's. */
const DEFAULT_MAX_BUFFER = 1024 * 1024

function checkMaxBuffer(value: unknown, name: string): number {
  if (typeof value !== 'number') throw typeError('a number', name, value)
  if (Number.isNaN(value) || value < 0 || (!Number.isInteger(value) && value !== Infinity))
    throw new RangeError(`Expected a non-negative integer or Infinity for ${name} but received ${value}`)
  return value
}

/** Contexts open in this environment (main thread or worker). */
const live = new Set<Context>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // process.exit() on the main thread skips environment cleanup hooks: kill
  // and join here, synchronously, so the process exits promptly and cleanly.
  // (Worker exits and normal ends also run the addon's cleanup hook.)
  process.on('exit', () => {
    if (live.size > 0) binding.shutdown()
  })
}

let createContext: (native: NativeContext) => Context

function checkTier(value: unknown, what: string): Tier {
  if (!TIERS.includes(value as Tier)) throw typeError("'auto', 'aot' or 'interpreter'", what, value)
  return value as Tier
}

/** Validate create options; returns what the addon takes. */
function parseCreateOptions(options: unknown, name: string, keys: readonly string[], image?: string) {
  const o = checkOptions(options, name, keys)
  const native = {
    image: image ?? checkNonEmptyString(o.image, `${name}.image`),
    id: o.id === undefined ? undefined : checkNonEmptyString(o.id, `${name}.id`),
    runtime: o.runtime === undefined ? undefined : checkString(o.runtime, `${name}.runtime`),
    args: o.args === undefined ? NONE : checkStringArray(o.args, `${name}.args`),
    env: o.env === undefined ? NONE : checkEnv(o.env, `${name}.env`),
    capabilities: o.capabilities === undefined ? NONE : checkStringArray(o.capabilities, `${name}.capabilities`),
    mounts: o.mounts === undefined ? NONE : checkMounts(o.mounts, `${name}.mounts`),
    detached: o.detached === undefined ? false : checkBoolean(o.detached, `${name}.detached`),
    memoryLimit:
      o.memoryLimit === undefined
        ? undefined
        : checkInteger(o.memoryLimit, `${name}.memoryLimit`, 0, Number.MAX_SAFE_INTEGER),
    maxOpenFiles:
      o.maxOpenFiles === undefined ? undefined : checkInteger(o.maxOpenFiles, `${name}.maxOpenFiles`, 0, 1 << 20),
    stackSize:
      o.stackSize === undefined || o.stackSize === 0
        ? undefined
        : checkInteger(o.stackSize, `${name}.stackSize`, 4096, 256 * 1024 * 1024),
    tier: o.tier === undefined ? undefined : checkTier(o.tier, `${name}.tier`),
    restoreDirectory:
      o.restoreDirectory === undefined ? undefined : checkBoolean(o.restoreDirectory, `${name}.restoreDirectory`),
    nice: o.nice === undefined ? undefined : checkInteger(o.nice, `${name}.nice`, 0, NICE_MAX),
    outputLimit: undefined as number | undefined, // run()'s maxBuffer, for captured output
    imageSha256: undefined as string | undefined, // set by #create: the gate's digest
  }
  const stdio = normalizeStdio(o.stdio, `${name}.stdio`)
  return { native, stdio, rest: o }
}

const ignore = () => {}
/** run()'s piped stdout/stderr (stdio 'capture'); slots are never modified. */
const CAPTURE: StdioSlot = Object.freeze({ kind: 'capture' })
let devNull: StdioSlot | null = null

/** run()'s stdin without input: this environment's /dev/null. */
function devNullSlot(): StdioSlot {
  devNull ??= Object.freeze({ kind: 'fd', fd: binding.devNull() })
  return devNull
}

/** run()'s AbortError, with the call site of run(). */
function runAbortError(signal: AbortSignal, site: CallSite | null): AbortError {
  const err = new AbortError(undefined, { cause: signal.reason })
  return site ? withCallSite(err, site) : err
}

/** run()'s abort listener (only with a signal): kills the run. */
class RunAbort {
  aborted = false
  #c: Container

  constructor(c: Container) {
    this.#c = c
  }

  handleEvent(): void {
    this.aborted = true
    this.#c.kill().catch(ignore) // not running yet: killed once started (run())
  }
}

/** run()'s collection of streamed stdout/stderr (maxBuffer 0), like execFile. */
class PipedOutput {
  readonly stdout: Buffer[] = []
  readonly stderr: Buffer[] = []
  overflow: 'stdout' | 'stderr' | null = null
  #kept = { stdout: 0, stderr: 0 }

  constructor(c: Container, maxBuffer: number) {
    const collect = (name: 'stdout' | 'stderr') => (b: Buffer) => {
      if (this.overflow) return
      const room = maxBuffer - this.#kept[name]
      if (b.length <= room) {
        this[name].push(b)
        this.#kept[name] += b.length
        return
      }
      // Like execFile: keep maxBuffer bytes, end the program, report it.
      if (room > 0) this[name].push(b.subarray(0, room))
      this.#kept[name] = maxBuffer
      this.overflow = name
      c.kill().catch(ignore) // ended meanwhile: fine
    }
    c.stdout?.on('data', collect('stdout'))
    c.stderr?.on('data', collect('stderr'))
  }
}

/** A working directory and its containers. Get one with {@link open}. */
export class Context implements AsyncDisposable {
  /** The working directory (absolute, symlinks resolved). */
  readonly workdir: string
  /** The image store, `<workdir>/images/`. */
  readonly images: ImageStore
  /** The message bus shared with this context's `ocre:api` containers. */
  readonly messaging: Messaging
  /** Sensors offered to this context's `ocre:api` containers. */
  readonly sensors: Sensors
  /** GPIO ports offered to this context's `ocre:api` containers. */
  readonly gpio: Gpio

  #native: NativeContext
  #containers = new Map<string, Container>()
  /** Pool work in flight (see #track); close() waits until it is 0. */
  #pending = 0
  #idle: (() => void) | null = null
  /** Settles one tracked piece of work (made once: no closure per call). */
  #settled = () => {
    if (--this.#pending === 0 && this.#idle) {
      const idle = this.#idle
      this.#idle = null
      idle()
    }
  }
  #closing: Promise<void> | null = null
  #owner: ContainerOwner

  static {
    createContext = (native) => new Context(native)
  }

  /** Contexts come from {@link open}. */
  private constructor(native: NativeContext) {
    this.#native = native
    this.workdir = native.workdir
    const closed = () => this.#closing !== null
    this.messaging = new Messaging(native, closed)
    this.sensors = new Sensors(native, closed)
    this.gpio = new Gpio(native, closed)
    this.images = new ImageStore(path.join(this.workdir, 'images'), (name) =>
      this.list().some((c) => c.image === name),
    )
    this.#owner = {
      check: () => this.#check(),
      track: (work) => this.#track(work),
      forget: (c) => {
        if (this.#containers.get(c.id) === c) this.#containers.delete(c.id)
      },
    }
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#closing !== null
  }

  /** Number of containers (not yet removed). */
  get size(): number {
    return this.#containers.size
  }

  /** The container with this id, if any. */
  get(id: string): Container | undefined {
    checkString(id, 'id')
    return this.#containers.get(id)
  }

  /** All containers, in creation order. */
  list(): Container[] {
    return [...this.#containers.values()]
  }

  #closedError(): OcreError {
    return new OcreError('ERR_OCRE_STATE', `the context on ${this.workdir} is closed`)
  }

  /** Throws once closing: work on the context may not start any more. */
  #check(): void {
    if (this.#closing) throw this.#closedError()
  }

  /** Pool work that close() waits for (started after a #check()). Returns `work`. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#pending++
    work.then(this.#settled, this.#settled)
    return work
  }

  /**
   * Create a container (status `created`). The image is loaded now, so a
   * missing or invalid image fails here: ERR_OCRE_IMAGE_NOT_FOUND,
   * ERR_OCRE_INVALID_IMAGE; also ERR_OCRE_INVALID_NAME, ERR_OCRE_EXISTS (id
   * in use, or a private directory `containers/<id>/` is already there and
   * `restoreDirectory` is not set), ERR_OCRE_RUNTIME (unknown runtime),
   * ERR_OCRE_INVALID_MOUNT, ERR_OCRE_INVALID_CAPABILITY.
   */
  async create(options: CreateOptions & { detached: true }): Promise<Container<true>>
  async create(options: CreateOptions & { detached?: false }): Promise<Container<false>>
  async create(options: CreateOptions): Promise<Container>
  async create(options: CreateOptions): Promise<Container> {
    const { native, stdio } = parseCreateOptions(options, 'options', CREATE_KEYS)
    return this.#create(native, stdio, null, this.create)
  }

  /**
   * The common path of create() and run(). Runs synchronously, in the
   * caller's stack (so its errors carry it), and returns the container
   * without a promise when it can: an image whose verdict is cached and
   * that the addon loads inline never waits. The call site (`site`, or
   * captured below `callee`, which costs microseconds) is only needed by
   * errors that come after a wait (#createAfterWait).
   */
  #create(
    native: ReturnType<typeof parseCreateOptions>['native'],
    stdio: ReturnType<typeof parseCreateOptions>['stdio'],
    site: CallSite | null,
    callee: Function,
  ): Container | Promise<Container> {
    let created: NativeContainer | Promise<NativeContainer>
    try {
      const digest = loadableDigest(this.images.dir, native.image)
      if (digest instanceof Promise)
        return this.#createAfterWait(native, stdio, site ?? captureCallSite(callee), digest, null, 0)
      this.#check()
      try {
        created = this.#createNative(native, digest)
      } catch (err) {
        if (!isOcreError(err, 'ERR_OCRE_IMAGE_CHANGED')) throw err
        // The file changed since its verdict: validated again, once.
        forgetVerdict(this.images.dir, native.image)
        return this.#createAfterWait(native, stdio, site ?? captureCallSite(callee), null, null, 1)
      }
    } catch (err) {
      throw site ? withCallSite(err, site) : err
    }
    if (created instanceof Promise)
      return this.#createAfterWait(native, stdio, site ?? captureCallSite(callee), null, created, 0)
    return this.#adopt(created, stdio)
  }

  /**
   * #create() from its first wait on: the image's validation (`digestWait`)
   * or the pool's creation (`createWait`) in flight, or the second attempt.
   * Its errors get `site`.
   */
  async #createAfterWait(
    native: ReturnType<typeof parseCreateOptions>['native'],
    stdio: ReturnType<typeof parseCreateOptions>['stdio'],
    site: CallSite,
    digestWait: Promise<string> | null,
    createWait: Promise<NativeContainer> | null,
    attempt: number,
  ): Promise<Container> {
    try {
      // The engine loads only the bytes the gate validated (imageSha256);
      // if the file changed in between, it is validated again, once.
      for (; ; attempt++) {
        let nc: NativeContainer
        try {
          let created: NativeContainer | Promise<NativeContainer> | null = createWait
          createWait = null
          if (created === null) {
            const digest = await (digestWait ?? checkLoadable(this.images.dir, native.image))
            digestWait = null
            this.#check()
            created = this.#createNative(native, digest)
          }
          nc = created instanceof Promise ? await this.#track(created) : created
        } catch (err) {
          if (attempt > 0 || !isOcreError(err, 'ERR_OCRE_IMAGE_CHANGED')) throw err
          forgetVerdict(this.images.dir, native.image)
          continue
        }
        return this.#adopt(nc, stdio)
      }
    } catch (err) {
      throw withCallSite(err, site)
    }
  }

  #createNative(
    native: ReturnType<typeof parseCreateOptions>['native'],
    digest: string | undefined,
  ): NativeContainer | Promise<NativeContainer> {
    native.imageSha256 = digest
    return this.#native.createContainer(native, internals.onEvent)
  }

  #adopt(nc: NativeContainer, stdio: ReturnType<typeof parseCreateOptions>['stdio']): Container {
    const container = internals.create(nc, this.#owner, stdio)
    this.#containers.set(container.id, container)
    return container
  }

  /**
   * Create, start, wait for and remove a container; resolves with its exit
   * result and, for piped stdout/stderr (the default), everything it wrote.
   * A piped stdin receives `options.input` and is then closed. Aborting
   * `options.signal` kills the container and rejects with an AbortError.
   * A piped output over `options.maxBuffer` bytes (default 1 MiB) kills it
   * and rejects with ERR_OCRE_MAX_BUFFER (a MaxBufferError).
   */
  async run(image: string, options: RunOptions = {}): Promise<RunResult> {
    checkNonEmptyString(image, 'image')
    const { native, stdio, rest } = parseCreateOptions(options, 'options', RUN_KEYS, image)
    // No input: the program reads end-of-file from /dev/null, with no pipe
    // and stream to make and tear down (a third of a piped run's cost).
    if (rest.input === undefined && stdio[0].kind === 'pipe') stdio[0] = devNullSlot()
    const signal = rest.signal === undefined ? undefined : checkSignal(rest.signal, 'options.signal')
    const input = rest.input
    if (input !== undefined && typeof input !== 'string' && !(input instanceof Uint8Array))
      throw typeError('a string or a Uint8Array', 'options.input', input)
    const maxBuffer = rest.maxBuffer === undefined ? DEFAULT_MAX_BUFFER : checkMaxBuffer(rest.maxBuffer, 'options.maxBuffer')
    // Errors after a wait carry the stack of the caller, captured now. Only
    // an abort and an output over maxBuffer come after one here (#create
    // captures its own when it waits): capturing costs microseconds (~8 µs
    // between runs), so it is done only when one of them is possible.
    const mayOverflow =
      maxBuffer !== Infinity && (stdio[1].kind === 'pipe' || stdio[2].kind === 'pipe')
    const site = signal || mayOverflow ? captureCallSite(this.run) : null
    if (signal?.aborted) throw runAbortError(signal, site)
    // Piped output that only this result reads is kept by the engine
    // (OCRE_STDIO_CAPTURE): the program still writes to a pipe of its own,
    // but there is no pipe end, stream or event-loop work per chunk on this
    // side (most of a piped run's cost), and the engine applies maxBuffer
    // itself (it keeps maxBuffer bytes and kills the run, as below). With
    // maxBuffer 0 the streams stay (the engine's limit is at least a byte).
    let captureOut = false
    let captureErr = false
    if (maxBuffer >= 1) {
      if (stdio[1].kind === 'pipe') {
        stdio[1] = CAPTURE
        captureOut = true
      }
      if (stdio[2].kind === 'pipe') {
        stdio[2] = CAPTURE
        captureErr = true
      }
      if (captureOut || captureErr) native.outputLimit = maxBuffer
    }

    native.detached = true
    const c = await this.#create(native, stdio, site, this.run)
    // Only with a signal: an abort listener (no closure per run otherwise).
    const abort = signal ? new RunAbort(c) : null
    if (abort) signal?.addEventListener('abort', abort, { once: true })
    try {
      if (signal?.aborted) throw runAbortError(signal, site)
      const closed = internals.nextClose(c)
      const starting = internals.begin(c)
      // Streams only with maxBuffer 0 (else the engine captures).
      const piped = c.stdout || c.stderr ? new PipedOutput(c, maxBuffer) : null
      if (c.stdin) {
        if (input === undefined) c.stdin.end()
        else c.stdin.end(input)
      }
      await starting
      if (abort?.aborted) await c.kill().catch(ignore)
      const result: RunResult = { ...(await closed) }
      if (abort?.aborted) throw runAbortError(signal as AbortSignal, site)
      let overflow = piped?.overflow ?? null
      if (captureOut) {
        const out = internals.takeOutput(c, 1)
        result.stdout = out ? out.data : Buffer.alloc(0)
        if (out?.truncated) overflow ??= 'stdout'
      }
      if (captureErr) {
        const out = internals.takeOutput(c, 2)
        result.stderr = out ? out.data : Buffer.alloc(0)
        if (out?.truncated) overflow ??= 'stderr'
      }
      if (piped && stdio[1].kind === 'pipe') result.stdout = Buffer.concat(piped.stdout)
      if (piped && stdio[2].kind === 'pipe') result.stderr = Buffer.concat(piped.stderr)
      if (overflow) {
        const { stdout, stderr, ...exit } = result
        const err = new OcreError(
          'ERR_OCRE_MAX_BUFFER',
          `${overflow} maxBuffer length exceeded (${maxBuffer} bytes): container ${c.id} was killed`,
        )
        Object.assign(err, { stream: overflow, result: exit, stdout, stderr })
        throw site ? withCallSite(err, site) : err
      }
      return result
    } finally {
      if (abort) signal?.removeEventListener('abort', abort)
      if (c.status === 'running' || c.status === 'paused') await c.kill().catch(ignore)
      await c.remove().catch(ignore)
    }
  }

  /**
   * Kill every running container, wait for them, remove all containers and
   * release the working directory. Idempotent: later calls return the same
   * promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#doClose()
    return this.#closing
  }

  async #doClose(): Promise<void> {
    // Pool work in flight (creates, starts, removes) finishes first.
    while (this.#pending > 0) await new Promise<void>((resolve) => (this.#idle = resolve))
    const running = this.list().filter((c) => c.status === 'running' || c.status === 'paused')
    const exits = running.map((c) => internals.nextExit(c))
    for (const c of running) c.kill().catch(() => {}) // ended meanwhile: fine
    // Kills what is still running, joins it and removes every container. The
    // exit events are queued by then and still delivered.
    this.messaging._closeAll()
    let stuck: unknown
    try {
      await this.#native.close()
    } catch (err) {
      stuck = err // ERR_OCRE_TIMEOUT: a run ignored its kill; the context is gone all the same
    }
    // A run left behind by the bounded close delivers no exit event.
    if (stuck === undefined) await Promise.all(exits)
    for (const c of this.list()) internals.markRemoved(c)
    live.delete(this)
    if (stuck !== undefined) throw stuck
  }

  /** `await using ctx = await open(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/**
 * Open a context on a working directory (one per directory in a process:
 * ERR_OCRE_EXISTS if it is already open, also from another worker thread).
 */
export async function open(options: OpenOptions = {}): Promise<Context> {
  const site = captureCallSite(open)
  const o = checkOptions(options, 'options', ['workdir', 'nice'])
  const workdir = o.workdir === undefined ? null : checkAbsolutePath(o.workdir, 'options.workdir')
  const nice = o.nice === undefined ? undefined : checkInteger(o.nice, 'options.nice', 0, NICE_MAX)
  let native: NativeContext
  try {
    native = await binding.openContext(workdir)
  } catch (err) {
    throw withCallSite(err, site)
  }
  if (nice !== undefined) native.setContainerNice(nice)
  const ctx = createContext(native)
  live.add(ctx)
  installExitHook()
  return ctx
}

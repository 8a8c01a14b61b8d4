// Context: one working directory and its containers (one per workdir in a
// process). open() makes one; close() kills, waits for and removes every
// container. Open contexts are held in a per-environment registry until
// closed, so that neither a context nor its containers is ever collected
// while they run; at process exit the addon kills and joins them.
import path from 'node:path'
import { binding, type NativeContainer, type NativeContext, type NativeSnapshot } from './binding'
import { type Container, type ContainerOwner, containerInternals as internals } from './container'
import { Gpio, Sensors } from './devices'
import { AbortError, type CallSite, captureCallSite, isOcreError, OcreError, withCallSite } from './errors'
import { checkLoadable, forgetVerdict } from './images/gate'
import { ImageStore } from './images/store'
import './log'
import { Messaging } from './messaging'
import { normalizeStdio } from './stdio'
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
    args: o.args === undefined ? [] : checkStringArray(o.args, `${name}.args`),
    env: o.env === undefined ? [] : checkEnv(o.env, `${name}.env`),
    capabilities: o.capabilities === undefined ? [] : checkStringArray(o.capabilities, `${name}.capabilities`),
    mounts: o.mounts === undefined ? [] : checkMounts(o.mounts, `${name}.mounts`),
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
  }
  const stdio = normalizeStdio(o.stdio, `${name}.stdio`)
  return { native, stdio, rest: o }
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

  /** Run `work` as pool work that close() waits for. */
  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(this.#closedError())
    const p = work()
    this.#pending++
    p.then(this.#settled, this.#settled)
    return p
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
   * The common path of create() and run(). Runs synchronously (in the
   * caller's stack, so its errors carry it) as far as it can: an image whose
   * verdict is cached and that the addon loads inline never waits. The call
   * site (`site`, or captured below `callee`, which costs several µs) is only
   * needed by errors that come after a wait.
   */
  async #create(
    native: ReturnType<typeof parseCreateOptions>['native'],
    stdio: ReturnType<typeof parseCreateOptions>['stdio'],
    site: CallSite | null,
    callee: Function,
  ): Promise<Container> {
    let container: Container | undefined
    const onEvent = (snap: NativeSnapshot) => container && internals.onEvent(container, snap)
    try {
      // The engine loads only the bytes the gate validated (imageSha256);
      // if the file changed in between, it is validated again, once.
      for (let attempt = 0; ; attempt++) {
        let digest = checkLoadable(this.images.dir, native.image)
        if (digest instanceof Promise) {
          site ??= captureCallSite(callee)
          digest = await digest
        }
        if (this.#closing) throw this.#closedError()
        let nc: NativeContainer
        try {
          const created = this.#native.createContainer(digest ? { ...native, imageSha256: digest } : native, onEvent)
          if (created instanceof Promise) {
            site ??= captureCallSite(callee)
            nc = await this.#track(() => created)
          } else {
            nc = created
          }
        } catch (err) {
          if (attempt > 0 || !isOcreError(err, 'ERR_OCRE_IMAGE_CHANGED')) throw err
          forgetVerdict(this.images.dir, native.image)
          continue
        }
        container = internals.create(nc, this.#owner, stdio)
        break
      }
    } catch (err) {
      throw site ? withCallSite(err, site) : err
    }
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
    const site = captureCallSite(this.run)
    checkNonEmptyString(image, 'image')
    const { native, stdio, rest } = parseCreateOptions(options, 'options', RUN_KEYS, image)
    // No input: the program reads end-of-file from /dev/null, with no pipe
    // and stream to make and tear down (a third of a piped run's cost).
    if (rest.input === undefined && stdio[0].kind === 'pipe') stdio[0] = { kind: 'fd', fd: binding.devNull() }
    const signal = rest.signal === undefined ? undefined : checkSignal(rest.signal, 'options.signal')
    const input = rest.input
    if (input !== undefined && typeof input !== 'string' && !(input instanceof Uint8Array))
      throw typeError('a string or a Uint8Array', 'options.input', input)
    const maxBuffer = rest.maxBuffer === undefined ? DEFAULT_MAX_BUFFER : checkMaxBuffer(rest.maxBuffer, 'options.maxBuffer')
    const abortError = () => withCallSite(new AbortError(undefined, { cause: signal?.reason }), site)
    if (signal?.aborted) throw abortError()
    // Piped output that only this result reads is kept by the engine
    // (OCRE_STDIO_CAPTURE): the program still writes to a pipe of its own,
    // but there is no pipe end, stream or event-loop work per chunk on this
    // side (most of a piped run's cost), and the engine applies maxBuffer
    // itself (it keeps maxBuffer bytes and kills the run, as below). With
    // maxBuffer 0 the streams stay (the engine's limit is at least a byte).
    const captured = [false, false, false]
    if (maxBuffer >= 1) {
      for (const i of [1, 2] as const) {
        if (stdio[i].kind !== 'pipe') continue
        stdio[i] = { kind: 'capture' }
        captured[i] = true
      }
      if (captured[1] || captured[2]) native.outputLimit = maxBuffer
    }

    native.detached = true
    const c = await this.#create(native, stdio, site, this.run)
    let aborted = false
    const onAbort = () => {
      aborted = true
      c.kill().catch(() => {}) // not running yet: killed once started, below
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      if (signal?.aborted) throw abortError()
      const closed = new Promise<RunResult>((resolve) => c.once('close', resolve))
      const chunks: { stdout: Buffer[]; stderr: Buffer[] } = { stdout: [], stderr: [] }
      const kept = { stdout: 0, stderr: 0 }
      let overflow: 'stdout' | 'stderr' | null = null
      const collect = (name: 'stdout' | 'stderr') => (b: Buffer) => {
        if (overflow) return
        const room = maxBuffer - kept[name]
        if (b.length <= room) {
          chunks[name].push(b)
          kept[name] += b.length
          return
        }
        // Like execFile: keep maxBuffer bytes, end the program, report it.
        if (room > 0) chunks[name].push(b.subarray(0, room))
        kept[name] = maxBuffer
        overflow = name
        c.kill().catch(() => {}) // ended meanwhile: fine
      }
      const starting = internals.begin(c)
      c.stdout?.on('data', collect('stdout'))
      c.stderr?.on('data', collect('stderr'))
      if (c.stdin) {
        if (input === undefined) c.stdin.end()
        else c.stdin.end(input)
      }
      await starting
      if (aborted) await c.kill().catch(() => {})
      const result: RunResult = { ...(await closed) }
      if (aborted) throw abortError()
      for (const [i, name] of [
        [1, 'stdout'],
        [2, 'stderr'],
      ] as const) {
        if (!captured[i]) continue
        const out = internals.takeOutput(c, i)
        result[name] = out.data
        if (out.truncated) overflow ??= name
      }
      if (stdio[1].kind === 'pipe') result.stdout = Buffer.concat(chunks.stdout)
      if (stdio[2].kind === 'pipe') result.stderr = Buffer.concat(chunks.stderr)
      if (overflow) {
        const { stdout, stderr, ...exit } = result
        const err = new OcreError(
          'ERR_OCRE_MAX_BUFFER',
          `${overflow} maxBuffer length exceeded (${maxBuffer} bytes): container ${c.id} was killed`,
        )
        Object.assign(err, { stream: overflow, result: exit, stdout, stderr })
        throw withCallSite(err, site)
      }
      return result
    } finally {
      signal?.removeEventListener('abort', onAbort)
      if (c.status === 'running' || c.status === 'paused') await c.kill().catch(() => {})
      await c.remove().catch(() => {})
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

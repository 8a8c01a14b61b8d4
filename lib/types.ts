// Public types shared by the API's modules.

/**
 * A container's status. `exited` (the C core's transient state between the
 * end of a run and its observation) is never visible: a container that has
 * ended is `stopped`.
 */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopped' | 'error'

/** Why a run ended. */
export type ExitReason = 'exit' | 'killed' | 'trap'

/** How a run ended. */
export interface ExitResult {
  /**
   * Exit status: the program's exit code (0..255) for `reason: 'exit'`,
   * 137 for `'killed'`, 134 for `'trap'`.
   */
  exitCode: number
  reason: ExitReason
  /** The trap or engine message (e.g. `unreachable`), for `reason: 'trap'`. */
  message?: string
}

/** Capabilities a container may be granted. */
export type Capability = 'filesystem' | 'networking' | 'ocre:api'

/** A host directory made visible to a container. */
export interface Mount {
  /** Absolute host path of an existing directory. */
  source: string
  /**
   * Guest path: absolute (`/` makes `source` the guest's root; not with the
   * `filesystem` capability), or relative, such as `.` (a preopen named `.`,
   * which older WASI programs resolve relative paths against). No `.` or `..`
   * components; each target at most once.
   */
  target: string
  /** Mount read-only (default false). */
  readonly?: boolean
}

/**
 * Where one of a container's stdio streams goes, as in `child_process.spawn`:
 * - `'pipe'` (also `null`/`undefined`): a pipe to the `stdin`/`stdout`/`stderr` stream of the {@link Container};
 * - `'inherit'`: the process's own stdin/stdout/stderr (file descriptors 0, 1, 2);
 * - `'ignore'`: `/dev/null`;
 * - a file descriptor (a non-negative integer), or an object with a numeric `fd`
 *   (e.g. `process.stdout`, an opened `fs.WriteStream`): that descriptor.
 */
export type StdioSpec = 'pipe' | 'inherit' | 'ignore' | number | { fd: number } | null | undefined

/** stdio option: one spec for all three streams, or `[stdin, stdout, stderr]` (missing entries are `'pipe'`). */
export type StdioOptions = 'pipe' | 'inherit' | 'ignore' | readonly StdioSpec[]

/**
 * The options of {@link CreateOptions} that describe the container itself
 * (what a daemon stores too); `ctx.create()` adds the process-local ones.
 * @internal
 */
export const CONTAINER_OPTION_KEYS = [
  'image',
  'id',
  'runtime',
  'args',
  'env',
  'capabilities',
  'mounts',
  'memoryLimit',
  'maxOpenFiles',
  'stackSize',
  'tier',
] as const

/** Options of {@link Context.create}. */
export interface CreateOptions {
  /** Image file name in `<workdir>/images/`, e.g. `hello.wasm`. */
  image: string
  /** Container id (`[a-z0-9._-]`, not starting with `.` or `-`). Default: 8 random hex digits. */
  id?: string
  /** Engine name. Default: the best engine for the image (today `wamr/wasip1`). */
  runtime?: string
  /** Arguments after argv[0] (argv[0] is the image name). */
  args?: readonly string[]
  /** Environment variables. */
  env?: Readonly<Record<string, string>>
  capabilities?: readonly Capability[]
  mounts?: readonly Mount[]
  /** Default `'pipe'` for all three, like `child_process.spawn`. */
  stdio?: StdioOptions
  /**
   * `start()` of a detached container resolves once it runs; of an attached
   * one (the default), when it exits, with its {@link ExitResult}.
   */
  detached?: boolean
  /** Largest linear memory in bytes (0 or absent: the runtime's default, 256 MiB). */
  memoryLimit?: number
  /**
   * Most files and sockets the guest may hold open at once, counting its
   * stdio and preopened directories (0 or absent: 128). Opening more fails in
   * the guest with EMFILE, so one container cannot exhaust the process's fds.
   */
  maxOpenFiles?: number
  /**
   * WebAssembly stack in bytes (0 or absent: 512 KiB; 4 KiB to 256 MiB). Deep
   * recursion traps with `call stack overflow` past it. See docs/platform.md
   * for depths per tier and what it costs.
   */
  stackSize?: number
  /**
   * How the image runs (default `'auto'`): `'auto'` runs its AOT artifact
   * (see `images.compile()`) when it has one compiled by this store for this
   * exact image, else the interpreter; `'aot'` requires that artifact
   * (ERR_OCRE_NO_AOT otherwise); `'interpreter'` never loads native code. An
   * artifact that fails verification (tampered or foreign) makes `'auto'` and
   * `'aot'` fail with ERR_OCRE_AOT_REJECTED: only `'interpreter'` then runs
   * the image. {@link Container.tier} tells which ran.
   */
  tier?: Tier
  /**
   * With the `filesystem` capability: reuse the container's private
   * directory `<workdir>/containers/<id>/` if it is already there (e.g. a
   * supervisor re-creating its containers after a restart). Default false:
   * a new container gets a new, empty directory, and creation fails with
   * ERR_OCRE_EXISTS if one is there (left by a process that died).
   */
  restoreDirectory?: boolean
}

/** Execution tier requested at creation. */
export type Tier = 'auto' | 'aot' | 'interpreter'

/** Options of {@link Context.run}. */
export interface RunOptions extends Omit<CreateOptions, 'image' | 'detached'> {
  /** Aborting kills the container; `run()` then rejects with an AbortError. */
  signal?: AbortSignal
  /**
   * Written to the container's stdin (when it is `'pipe'`), which is then
   * closed. Without it a piped stdin is closed at once (the program reads EOF).
   */
  input?: string | Uint8Array
  /**
   * Largest amount of data in bytes kept from each of a piped stdout and
   * stderr (default 1 MiB, like `child_process.execFile`; `Infinity`: no
   * limit). Past it the container is killed and `run()` rejects with an
   * OcreError `ERR_OCRE_MAX_BUFFER` ({@link MaxBufferError}).
   */
  maxBuffer?: number
}

/**
 * What `run()` rejects with when a piped output exceeds `maxBuffer`: an
 * OcreError with code `ERR_OCRE_MAX_BUFFER` carrying the run's result and
 * the output kept (each at most `maxBuffer` bytes).
 */
export interface MaxBufferError extends Error {
  code: 'ERR_OCRE_MAX_BUFFER'
  /** The stream that went over: `'stdout'` or `'stderr'`. */
  stream: 'stdout' | 'stderr'
  /** How the run ended (normally `killed`, 137). */
  result: ExitResult
  stdout?: Buffer
  stderr?: Buffer
}

/** Result of {@link Context.run}. */
export interface RunResult extends ExitResult {
  /** Everything the container wrote to stdout, when stdout was `'pipe'`. */
  stdout?: Buffer
  /** Everything the container wrote to stderr, when stderr was `'pipe'`. */
  stderr?: Buffer
}

/** Options of {@link Container.stop}. */
export interface StopOptions {
  /** Grace period in ms before the container is killed (default 10 000; 0 kills at once). */
  timeout?: number
}

/** Options of {@link Container.remove}. */
export interface RemoveOptions {
  /** Kill a running or paused container first (default false: ERR_OCRE_STATE). */
  force?: boolean
}

/** Options of {@link open}. */
export interface OpenOptions {
  /**
   * Absolute path of the working directory (created if missing, with its
   * `images/` and `containers/`). Default: the runtime's default,
   * `/var/lib/ocre`.
   */
  workdir?: string
}

/** Log levels, most severe first; `'none'` turns logging off. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'none'

/** A log record from the runtime. */
export interface LogRecord {
  level: Exclude<LogLevel, 'none'>
  /** The C module that logged it, e.g. `container`, `context`, `wamr`. */
  module: string
  message: string
  /** When it was logged (wall clock). */
  time: Date
}

/** A logger object such as `console`, pino or winston: one method per level. */
export interface LoggerObject {
  error(message: string): unknown
  warn(message: string): unknown
  info(message: string): unknown
  debug(message: string): unknown
}

/** A function receiving every record. */
export type LogFunction = (record: LogRecord) => void

export type Logger = LoggerObject | LogFunction

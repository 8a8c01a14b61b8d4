// Loads the native addon (build/Release/ocre_node.node or a prebuild) with
// node-gyp-build, hands it the OcreError class and the log handler, and
// describes its (internal) interface. Nothing here is public API.
import path from 'node:path'
import { OcreError } from './errors'

/**
 * What the addon reports about a container (read on the JS thread), as plain
 * numbers so that an event allocates nothing: `status` is the core's
 * ocre_container_status_t (0 unknown, 1 created, 2 running, 3 paused,
 * 5 stopped, 6 error), `runs` the completed runs, `exitCode` the last exit
 * status, `reason` 0 none, 1 exit, 2 killed, 3 trap, and `message` the
 * engine's message (undefined when empty).
 */
export type NativeStateHandler = (
  status: number,
  runs: number,
  exitCode: number,
  reason: number,
  message: string | undefined,
) => void

export interface NativeContainerInfo {
  id: string
  image: string
  runtime: string
  tier: 'aot' | 'interpreter'
  detached: boolean
  memoryLimit: number
  nice: number
  /** start() / remove() run inline on the JS thread (their errors are created in the caller's stack) */
  inlineStart: boolean
  inlineRemove: boolean
}

export interface NativeContainer {
  info(): NativeContainerInfo
  /** Inline (small image): undefined once started, or a synchronous throw; else pool work. */
  start(stdinFd: number, stdoutFd: number, stderrFd: number): Promise<void> | undefined
  /** Inline (small image, no private directory) or already removed: undefined; else pool work. */
  remove(): Promise<void> | undefined
  kill(): void
  stop(graceMs: number): void
  pause(): void
  unpause(): void
  probeWait(): boolean
  /** Calls `onState` with the current state, synchronously. */
  snapshot(onState: NativeStateHandler): void
  setRef(ref: boolean): void
  setMemoryLimit(bytes: number): void
  eventsDropped(): number
  /** What the last run wrote to captured stream 1 or 2 (OCRE_STDIO_CAPTURE), null for nothing; taken once. */
  takeOutput(stream: 1 | 2): { data: Buffer; truncated: boolean } | null
}

export interface NativeCreateOptions {
  image: string
  runtime?: string
  id?: string
  detached?: boolean
  args?: readonly string[]
  env?: readonly string[]
  capabilities?: readonly string[]
  mounts?: readonly string[]
  memoryLimit?: number
  maxOpenFiles?: number
  stackSize?: number
  tier?: 'auto' | 'aot' | 'interpreter'
  /** SHA-256 (hex) of the bytes the V8 gate validated: the engine loads only those. */
  imageSha256?: string
  restoreDirectory?: boolean
  /** 0..19; absent: the context's. */
  nice?: number
  /** Bytes kept per captured stream (>= 1 or Infinity); absent: 1 MiB. */
  outputLimit?: number
}

export interface NativeContext {
  readonly workdir: string
  /** Small images: the container at once (or a synchronous throw); others: a promise (pool work). */
  createContainer(
    options: NativeCreateOptions,
    onEvent: NativeStateHandler,
  ): NativeContainer | Promise<NativeContainer>
  close(): Promise<void>
  count(): number
  /** The niceness of containers created from now on (0..19). */
  setContainerNice(nice: number): void
  publish(topic: string, contentType: string, payload: Uint8Array): number
  subscribe(prefix: string, queueSize: number, onBatch: (batch: unknown[]) => void): number
  unsubscribe(id: number): void
  subscriptionDropped(id: number): number
  registerSensor(
    name: string,
    channelTypes: number[],
    dispatch: (op: number, index: number, arg: number, done: (result: number, value: number) => void) => void,
  ): number
  registerRandomSensor(): number
  registerGpio(
    name: string,
    pins: (string | null)[],
    dispatch: (op: number, index: number, arg: number, done: (result: number, value: number) => void) => void,
  ): number
  gpioChanged(port: number, pin: number, state: number): number
}

export interface NativeAotInspection {
  /** `none` without a record (or without a digest to judge against). */
  verdict: 'none' | 'stale' | 'ok' | 'rejected'
  /** Why it is not `ok`. */
  reason: string
  /** The record's fields ({} if it cannot be read or names no artifact). */
  fields: Record<string, string>
}

export type NativeLogHandler = (level: number, module: string, message: string, timeMs: number) => void

export interface NativeBinding {
  init(options: { OcreError: typeof OcreError; onLog: NativeLogHandler }): void
  version(): string
  /** The engine's WAMR version, this machine's CPU fingerprint and the AOT target architecture. */
  aotRuntime(): { wamr: string; machine: string; target: string; bounds: 'guard' | 'software' }
  /** An AOT record of `values` (one string per record field) signed with the 32-byte store key. */
  aotSign(values: Record<string, string>, key: Buffer): string
  /** The engine's reading of an image's AOT record (see native/include/ocre/runtime/wamr.h). */
  aotInspect(imagePath: string, imageSha256: string | null): NativeAotInspection
  /** [read, write]; the container's end (`childEnd`) is closed by closeFd() or at environment cleanup */
  pipe(childEnd: 0 | 1): [number, number]
  closeFd(fd: number): void
  /** This environment's /dev/null (read-write), shared by every 'ignore' slot; never close it. */
  devNull(): number
  /** Whether `<dir>/<name>` is a regular file (stat(2)); then `out` = [dev, ino, size, mtime s, mtime ns]. */
  fileIdentity(dir: string, name: string, out: Float64Array): boolean
  setLogLevel(level: number): void
  getLogLevel(): number
  emitLog(level: number, module: string, message: string, count?: number): void
  shutdown(): void
  openContext(workdir: string | null): Promise<NativeContext>
}

/** The package root (lib/ and dist/ both sit one level below it). */
const root = path.resolve(__dirname, '..')

function load(): NativeBinding {
  let loaded: unknown
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown
    loaded = nodeGypBuild(root)
  } catch (err) {
    const tried = [
      path.join(root, 'build', 'Release', 'ocre_node.node'),
      path.join(root, 'build', 'Debug', 'ocre_node.node'),
      path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, '*.node'),
    ]
    throw new Error(
      `ocre-node: cannot load the native addon (${(err as Error).message.trim()}).\n` +
        `Tried, in this order:\n${tried.map((t) => `  ${t}`).join('\n')}\n` +
        'Prebuilt binaries ship for linux-x64, linux-arm64 and linux-armv7 (glibc, Node-API 8); ' +
        'elsewhere the package is built from source when it is installed. To fix it: `npm rebuild ocre-node` ' +
        '(runs its install script, which says what is missing: cmake >= 3.16 and a C/C++ compiler), ' +
        'or, in a checkout, `node scripts/build-addon.mjs` (`--debug` for a debug build).',
      { cause: err },
    )
  }
  return loaded as NativeBinding
}

/** Where log records go until lib/log.ts installs its dispatcher. */
let logHandler: NativeLogHandler = (level, module, message) => {
  if (level <= 2) process.stderr.write(`ocre <${level === 1 ? 'err' : 'wrn'}> ${module}: ${message}\n`)
}

/** lib/log.ts routes records to the current logger through this. */
export function setNativeLogHandler(handler: NativeLogHandler): void {
  logHandler = handler
}

export const binding: NativeBinding = load()
binding.init({ OcreError, onLog: (level, module, message, timeMs) => logHandler(level, module, message, timeMs) })

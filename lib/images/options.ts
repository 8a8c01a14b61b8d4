// The options of the image store's operations, checked with validate.ts's
// rules (TypeError for a wrong type or value, RangeError for a number out of
// range, unknown option names rejected).
import type { CompileOptions } from '../aot'
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkOptions,
  checkSafeInteger,
  checkSignal,
  typeError,
} from '../validate'
import type { Progress } from './tempfile'

/** Default size limit of a pull (and of an add from an http(s) URL): 256 MiB. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024

export interface AddOptions {
  /** Replace an existing image of the same name (default false: ERR_OCRE_EXISTS). */
  replace?: boolean
  /** Expected SHA-256 (64 hex digits, optionally prefixed `sha256:`); ERR_OCRE_DIGEST_MISMATCH otherwise. */
  sha256?: string
  /** Aborts the transfer: the promise rejects with an AbortError and nothing is left behind. */
  signal?: AbortSignal
  /** Called after every chunk written. An exception thrown here aborts the operation with it. */
  onProgress?: (progress: Progress) => void
  /** Size limit in bytes (ERR_OCRE_TOO_LARGE). Default: DEFAULT_MAX_BYTES for http(s), none for local sources. */
  maxBytes?: number
  /** http(s) only: idle timeout in ms (default DEFAULT_PULL_TIMEOUT; 0 disables it). */
  timeout?: number
  /**
   * Also compile it to native code (see {@link ImageStore.compile}; `true` or
   * the compile options). The image is admitted only if it compiles.
   */
  aot?: boolean | Omit<CompileOptions, 'signal' | 'onProgress'>
}

export interface PullOptions extends AddOptions {
  /** Image name; default: the last segment of the URL's path (OCI: of the repository, plus `.wasm`). */
  name?: string | null
  /** OCI: a docker config.json with registry credentials (default: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json). */
  authFile?: string
  /** OCI: plain http for a registry not on the loopback interface (loopback registries always use http). */
  insecure?: boolean
}

/** Options of {@link ImageStore.push}. */
export interface PushOptions {
  /** A docker config.json with registry credentials (as for pull). */
  authFile?: string
  /** Plain http for a registry not on the loopback interface. */
  insecure?: boolean
  /** Idle timeout in ms (default DEFAULT_PULL_TIMEOUT; 0 disables it). */
  timeout?: number
  /** Aborts the push (AbortError). */
  signal?: AbortSignal
}

export const ADD_OPTIONS = ['replace', 'sha256', 'signal', 'onProgress', 'maxBytes', 'timeout', 'aot'] as const
export const COMPILE_OPTIONS = ['cpu', 'opt', 'memoryLimit', 'timeLimit', 'parts', 'jobs', 'onProgress', 'signal'] as const
/** The compile options add()'s `aot` takes. */
export const AOT_ADD_OPTIONS = ['cpu', 'opt', 'memoryLimit', 'timeLimit', 'parts', 'jobs'] as const
export const PULL_OPTIONS = [...ADD_OPTIONS, 'name', 'authFile', 'insecure'] as const
export const PUSH_OPTIONS = ['authFile', 'insecure', 'timeout', 'signal'] as const

/** The registry options of pull() and push(), checked. */
export function checkRegistryOptions(o: Record<string, unknown>, what: string): void {
  if (o.authFile !== undefined && (typeof o.authFile !== 'string' || o.authFile === ''))
    throw typeError('a file path', `${what}.authFile`, o.authFile)
  if (o.insecure !== undefined) checkBoolean(o.insecure, `${what}.insecure`)
}

/** `options` of push(), checked; {} for none. */
export function checkPushOptions(options: unknown, what = 'options'): PushOptions {
  if (options === undefined || options === null) return {}
  const o = checkOptions(options, what, PUSH_OPTIONS)
  checkRegistryOptions(o, what)
  if (o.timeout !== undefined) checkSafeInteger(o.timeout, `${what}.timeout`, 0)
  if (o.signal !== undefined) checkSignal(o.signal, `${what}.signal`)
  return o as PushOptions
}

/** `options` of add() (allowed: ADD_OPTIONS) or pull() (PULL_OPTIONS), checked; {} for none. */
export function checkAddOptions<T extends AddOptions>(
  options: unknown,
  allowed: readonly string[],
  what = 'options',
): T {
  if (options === undefined || options === null) return {} as T
  const o = checkOptions(options, what, allowed)
  if (o.replace !== undefined) checkBoolean(o.replace, `${what}.replace`)
  if (o.sha256 !== undefined) normalizeDigest(o.sha256, `${what}.sha256`)
  if (o.signal !== undefined) checkSignal(o.signal, `${what}.signal`)
  if (o.onProgress !== undefined) checkFunction(o.onProgress, `${what}.onProgress`)
  if (o.aot !== undefined && typeof o.aot !== 'boolean') checkCompileOptions(o.aot, `${what}.aot`, AOT_ADD_OPTIONS)
  if (o.maxBytes !== undefined) checkSafeInteger(o.maxBytes, `${what}.maxBytes`, 1)
  if (o.timeout !== undefined) checkSafeInteger(o.timeout, `${what}.timeout`, 0)
  checkRegistryOptions(o, what)
  return options as T
}

/** `options` of list() and get(): their onProgress, checked. */
export function checkListOptions<P>(options: unknown, what = 'options'): ((p: P) => void) | undefined {
  if (options === undefined || options === null) return undefined
  const o = checkOptions(options, what, ['onProgress'])
  if (o.onProgress !== undefined) checkFunction(o.onProgress, `${what}.onProgress`)
  return o.onProgress as ((p: P) => void) | undefined
}

/** `options` of compile() (or of add()'s `aot`, allowed: ['cpu']), checked; {} for none. */
export function checkCompileOptions(
  options: unknown,
  what = 'options',
  allowed: readonly string[] = COMPILE_OPTIONS,
): CompileOptions {
  if (options === undefined || options === null) return {}
  const o = checkOptions(options, what, allowed)
  if (o.cpu !== undefined && (typeof o.cpu !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(o.cpu)))
    throw typeError("a CPU name such as 'x86-64' or 'native'", `${what}.cpu`, o.cpu)
  if (o.opt !== undefined && o.opt !== 'auto' && ![0, 1, 2, 3].includes(o.opt as number))
    throw typeError("0, 1, 2, 3 or 'auto'", `${what}.opt`, o.opt)
  if (o.memoryLimit !== undefined) checkSafeInteger(o.memoryLimit, `${what}.memoryLimit`, 1)
  if (o.timeLimit !== undefined) checkSafeInteger(o.timeLimit, `${what}.timeLimit`, 0)
  if (o.parts !== undefined && o.parts !== 'auto') checkInteger(o.parts, `${what}.parts`, 1, 65536)
  if (o.jobs !== undefined) checkInteger(o.jobs, `${what}.jobs`, 1, 256)
  if (o.onProgress !== undefined) checkFunction(o.onProgress, `${what}.onProgress`)
  if (o.signal !== undefined) checkSignal(o.signal, `${what}.signal`)
  return o as CompileOptions
}

/** A SHA-256 given as 64 hex digits (optionally `sha256:`-prefixed), in lower case without prefix. */
export function normalizeDigest(value: unknown, what: string): string {
  if (typeof value !== 'string') throw typeError('a string', what, value)
  const hex = value.replace(/^sha256:/i, '').toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex)) throw typeError('64 hexadecimal digits (a SHA-256)', what, value)
  return hex
}

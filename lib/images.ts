// The image store: the `.wasm` files in `<workdir>/images/` (SPEC §6).
//
// An image's name is its file name in the store (e.g. `hello.wasm`), the same
// string a container is created from. Names follow SPEC §4: non-empty, at most
// 255 characters of [a-z0-9._-], not starting with '.'; so files starting with
// '.' are never images and this module keeps its own files under such names:
//
//   images/<name>               an image
//   images/.meta/<name>         its sidecar: JSON { sha256, size, mtimeMs, ino }
//   images/.tmp-<pid>-<hex>     a write in progress (renamed or linked into place)
//   images/.aot/                its AOT artifacts (see aot.ts)
//
// Only valid WebAssembly enters the store: every write goes to a temp file in
// the same directory, is fsync'ed, validated and digest-checked, and only then
// renamed (replace) or hard-linked (no-clobber) to its name. A failed or aborted
// write removes its temp file; one left by a process that was killed is swept
// by the next store operation of any process (its pid is no longer alive).
//
// The sha256 is computed once at admission and kept in the sidecar; a sidecar
// is trusted only while the image's size, mtime and inode still match, so an
// image that another tool dropped in or replaced is hashed once by list().
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AotStore, type AotInfo, type CompileOptions, type PreparedArtifact } from './aot'
import { AbortError, OcreError } from './errors'
import { checkOptions as checkKnownOptions, describe, isAbortSignal, rangeError, typeError } from './validate'

/** Default size limit of a pull (and of an add from an http(s) URL): 256 MiB. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024
/** Default idle timeout of a pull: no data for this long aborts it (ms). */
export const DEFAULT_PULL_TIMEOUT = 30_000
/** Redirects followed by a pull before it fails. */
export const MAX_REDIRECTS = 5

const NAME_MAX = 255
const META_DIR = '.meta'
const TMP_PREFIX = '.tmp-'
/** A temp file untouched for this long is swept even if its pid looks alive. */
const STALE_TMP_MS = 24 * 60 * 60 * 1000
const HASH_CHUNK = 1 << 20

/** One image of the store. */
export interface ImageInfo {
  /** File name in the store, e.g. `hello.wasm`: what `ctx.create({ image })` takes. */
  name: string
  /** Absolute path of the image file. */
  path: string
  /** Size in bytes. */
  size: number
  /** Lower-case hex SHA-256 of the file. */
  sha256: string
  /** Last modification time of the file. */
  modified: Date
  /** Its AOT artifact (see {@link ImageStore.compile}), or null if it has none. */
  aot: AotInfo | null
}

export interface Progress {
  /** Bytes received (written to the temp file) so far. */
  received: number
  /** Expected total, when known (Content-Length, or the size of a local file). */
  total?: number
}

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
  aot?: boolean | Omit<CompileOptions, 'signal'>
}

export interface PullOptions extends AddOptions {
  /** Image name; default: the last segment of the URL's path. */
  name?: string | null
}

export type ImageSource = string | URL | Uint8Array | ArrayBuffer

const ADD_OPTIONS = ['replace', 'sha256', 'signal', 'onProgress', 'maxBytes', 'timeout', 'aot'] as const
const COMPILE_OPTIONS = ['cpu', 'signal'] as const
const PULL_OPTIONS = [...ADD_OPTIONS, 'name'] as const

// ---------------------------------------------------------------------------
// names

/** The reason `name` is not a valid image name, or null if it is valid. */
export function imageNameProblem(name: string): string | null {
  if (name.length === 0) return 'image name must not be empty'
  if (name.length > NAME_MAX) return `image name is longer than ${NAME_MAX} characters`
  if (name.startsWith('.')) return `image name '${name}' must not start with '.'`
  if (!/^[a-z0-9._-]+$/.test(name)) return `image name '${name}' may only contain a-z, 0-9, '.', '_' and '-'`
  return null
}

/** True if `name` can name an image (SPEC §4). */
export function isValidImageName(name: unknown): name is string {
  return typeof name === 'string' && imageNameProblem(name) === null
}

/**
 * A valid image name close to `base` (lower-cased, other characters replaced
 * by '-', leading dots dropped), or null if nothing is left.
 */
export function suggestImageName(base: string): string | null {
  const s = base
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[.]+/, '')
    .slice(0, NAME_MAX)
  return s && isValidImageName(s) ? s : null
}

function checkName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string') throw typeError('a string', what, name)
  const problem = imageNameProblem(name)
  if (problem) throw ocreError('ERR_OCRE_INVALID_NAME', problem)
  return name
}

/** The default name for a source whose path ends in `base` (SPEC §4 or an error suggesting one). */
function derivedName(base: string, from: string): string {
  if (!base) throw ocreError('ERR_OCRE_INVALID_NAME', `cannot derive an image name from ${from}; pass a name`)
  const problem = imageNameProblem(base)
  if (!problem) return base
  const suggestion = suggestImageName(base)
  throw ocreError(
    'ERR_OCRE_INVALID_NAME',
    `${problem} (derived from ${from}); pass a valid name` + (suggestion ? `, e.g. '${suggestion}'` : ''),
  )
}

// ---------------------------------------------------------------------------
// argument checks (as in validate.ts: TypeError for a wrong type or value,
// RangeError for a number out of range)

function checkOptions<T extends object>(options: unknown, allowed: readonly string[], what = 'options'): T {
  if (options === undefined || options === null) return {} as T
  const o = checkKnownOptions(options, what, allowed)
  if (o.replace !== undefined && typeof o.replace !== 'boolean')
    throw typeError('a boolean', `${what}.replace`, o.replace)
  if (o.sha256 !== undefined) normalizeDigest(o.sha256, `${what}.sha256`)
  if (o.signal !== undefined && !isAbortSignal(o.signal)) throw typeError('an AbortSignal', `${what}.signal`, o.signal)
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
    throw typeError('a function', `${what}.onProgress`, o.onProgress)
  if (o.aot !== undefined && typeof o.aot !== 'boolean') checkCompileOptions(o.aot, `${what}.aot`, ['cpu'])
  for (const key of ['maxBytes', 'timeout']) {
    const v = o[key]
    if (v === undefined) continue
    if (typeof v !== 'number') throw typeError('a number', `${what}.${key}`, v)
    const min = key === 'maxBytes' ? 1 : 0
    if (!Number.isSafeInteger(v) || v < min) throw rangeError(`an integer >= ${min}`, `${what}.${key}`, v)
  }
  return options as T
}

function checkCompileOptions(options: unknown, what: string, allowed: readonly string[]): CompileOptions {
  if (options === undefined || options === null) return {}
  const o = checkKnownOptions(options, what, allowed)
  if (o.cpu !== undefined && (typeof o.cpu !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(o.cpu)))
    throw typeError("a CPU name such as 'x86-64' or 'native'", `${what}.cpu`, o.cpu)
  if (o.signal !== undefined && !isAbortSignal(o.signal)) throw typeError('an AbortSignal', `${what}.signal`, o.signal)
  return o as CompileOptions
}

function normalizeDigest(value: unknown, what: string): string {
  if (typeof value !== 'string') throw typeError('a string', what, value)
  const hex = value.replace(/^sha256:/i, '').toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex)) throw typeError('64 hexadecimal digits (a SHA-256)', what, value)
  return hex
}

// ---------------------------------------------------------------------------
// errors

function ocreError(code: string, message: string): OcreError {
  return new OcreError(code, message)
}

function abortError(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason })
}

// ---------------------------------------------------------------------------
// validation

// The JS engine's WebAssembly API (the project's TS lib settings have no DOM types).
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => object
}

/** Why `bytes` is not a WebAssembly module V8 accepts, or null if it is one. */
export function wasmProblem(bytes: Uint8Array): string | null {
  if (WebAssembly.validate(bytes)) return null
  try {
    new WebAssembly.Module(bytes)
  } catch (err) {
    return String((err as Error).message).replace(/^WebAssembly\.Module\(\): /, '')
  }
  return 'WebAssembly.validate rejected it'
}

async function checkWasm(name: string, bytes: Uint8Array): Promise<void> {
  const problem = wasmProblem(bytes)
  if (problem) throw ocreError('ERR_OCRE_INVALID_IMAGE', `'${name}' is not a valid WebAssembly module: ${problem}`)
}

// ---------------------------------------------------------------------------
// file helpers

interface Sidecar {
  sha256: string
  size: number
  mtimeMs: number
  ino: number
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errno(err) === 'EPERM'
  }
}

function hashFileSync(file: string): string {
  const hash = createHash('sha256')
  const fd = fs.openSync(file, 'r')
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK)
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      hash.update(buf.subarray(0, n))
    }
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest('hex')
}

/** Whether `name` in a store directory is a temp file its writer abandoned. */
function staleTmp(file: string, name: string): boolean {
  const m = /^\.tmp-(\d+)-[0-9a-f]+$/.exec(name)
  if (!m) return false
  const pid = Number(m[1])
  const stale = Date.now() - fs.statSync(file).mtimeMs > STALE_TMP_MS
  return stale || (pid !== process.pid && !pidAlive(pid))
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined
  try {
    fh = await fsp.open(dir, 'r')
    await fh.sync()
  } catch {
    // some file systems cannot fsync a directory; the rename is still atomic
  } finally {
    await fh?.close().catch(() => {})
  }
}

/** A temp file being filled: hashes, counts and size-limits what is written. */
class TempFile {
  readonly hash = createHash('sha256')
  received = 0
  total: number | undefined
  private fh: fsp.FileHandle | undefined

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly name: string,
    private readonly onProgress?: (p: Progress) => void,
  ) {}

  async open(): Promise<void> {
    this.fh = await fsp.open(this.path, 'wx', 0o644)
  }

  checkTotal(total: number | undefined): void {
    this.total = total
    if (total !== undefined && total > this.maxBytes)
      throw ocreError(
        'ERR_OCRE_TOO_LARGE',
        `image '${this.name}' is ${total} bytes, larger than the limit of ${this.maxBytes} bytes`,
      )
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.received + chunk.length > this.maxBytes)
      throw ocreError('ERR_OCRE_TOO_LARGE', `image '${this.name}' is larger than the limit of ${this.maxBytes} bytes`)
    this.hash.update(chunk)
    let off = 0
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh!.write(chunk, off, chunk.length - off)
      off += bytesWritten
    }
    this.received += chunk.length
    if (this.onProgress) {
      const p: Progress = { received: this.received }
      if (this.total !== undefined) p.total = this.total
      this.onProgress(p)
    }
  }

  /** fsync and close; returns the hex digest. */
  async finish(): Promise<string> {
    await this.fh!.sync()
    await this.fh!.close()
    this.fh = undefined
    return this.hash.digest('hex')
  }

  async discard(): Promise<void> {
    await this.fh?.close().catch(() => {})
    this.fh = undefined
    await fsp.rm(this.path, { force: true }).catch(() => {})
  }
}

// ---------------------------------------------------------------------------
// HTTP

/** Start a GET; the request exists at once (so it can be destroyed), the response comes later. */
function httpGet(
  url: URL,
  timeout: number,
): { req: http.ClientRequest; response: Promise<http.IncomingMessage>; timedOut: () => Error | undefined } {
  const mod = url.protocol === 'https:' ? https : http
  const req = mod.get(url, {
    agent: false,
    headers: { accept: 'application/wasm, */*;q=0.8', 'user-agent': 'ocre-node' },
  })
  let timeoutError: Error | undefined
  if (timeout > 0)
    req.setTimeout(timeout, () => {
      timeoutError = ocreError('ERR_OCRE_PULL', `no data from ${url.host} for ${timeout / 1000} s`)
      req.destroy(timeoutError)
    })
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve)
    req.on('error', reject) // later errors also surface through the response stream
  })
  return { req, response, timedOut: () => timeoutError }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

function displayUrl(url: URL): string {
  // never print credentials
  if (!url.username && !url.password) return url.href
  const u = new URL(url.href)
  u.username = ''
  u.password = ''
  return u.href
}

// ---------------------------------------------------------------------------
// the store

/**
 * The images of one working directory. `ctx.images` is one of these; it can
 * also be used alone (it needs no native addon).
 */
// Verdicts of V8's validator on image files, by file identity, for the whole
// process: an image is validated once, not at every create.
const verdicts = new Map<string, string | null>()
const VERDICTS_MAX = 4096

function invalidImage(name: string, problem: string): OcreError {
  return ocreError('ERR_OCRE_INVALID_IMAGE', `image ${name} is not valid WebAssembly: ${problem}`)
}

function identity(file: string, st: fs.Stats): string {
  return `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`
}

/**
 * ImageStore.ensureLoadable() of `dir`, without a promise when the answer is
 * already known (the file's verdict is cached for its current identity):
 * returns undefined, or throws; returns a promise only when the file has to
 * be read. Context.create() uses it to stay synchronous. Same checks.
 * Package-internal (not re-exported by index.ts).
 * @throws OcreError ERR_OCRE_INVALID_IMAGE with V8's reason
 */
export function checkLoadable(dir: string, name: string): Promise<void> | undefined {
  if (imageNameProblem(name) !== null) return // the engine reports bad names
  // A valid name is one plain path component: no need for path.join()
  const file = dir.endsWith('/') ? dir + name : `${dir}/${name}`
  let st: fs.Stats
  try {
    st = fs.statSync(file)
  } catch {
    return
  }
  if (!st.isFile()) return
  const key = identity(file, st)
  const problem = verdicts.get(key)
  if (problem === undefined) return validate(name, file, key)
  if (problem !== null) throw invalidImage(name, problem)
}

async function validate(name: string, file: string, key: string): Promise<void> {
  const bytes = await fsp.readFile(file)
  const now = fs.statSync(file, { throwIfNoEntry: false })
  const problem = wasmProblem(bytes)
  // cache only if the file did not change while it was read
  if (now && identity(file, now) === key) {
    if (verdicts.size >= VERDICTS_MAX) verdicts.clear()
    verdicts.set(key, problem)
  }
  if (problem !== null) throw invalidImage(name, problem)
}

export class ImageStore {
  /** Absolute path of the images directory. */
  readonly dir: string
  readonly #isInUse: (image: string) => boolean
  readonly #metaDir: string
  readonly #aot: AotStore

  /**
   * @param imagesDir the images directory (created on the first write)
   * @param isInUse tells whether a container uses an image (remove refuses those)
   */
  constructor(imagesDir: string, isInUse: (image: string) => boolean = () => false) {
    if (typeof imagesDir !== 'string' || imagesDir === '')
      throw typeError('a directory path', 'imagesDir', imagesDir)
    if (typeof isInUse !== 'function')
      throw typeError('a function', 'isInUse', isInUse)
    this.dir = path.resolve(imagesDir)
    this.#isInUse = isInUse
    this.#metaDir = path.join(this.dir, META_DIR)
    this.#aot = new AotStore(this.dir)
  }

  /** Path of an image file (whether or not it exists). */
  path(name: string): string {
    return path.join(this.dir, checkName(name))
  }

  /**
   * Make sure the engine may load image `name`: validated with V8 once per
   * file version (whoever put it there). WAMR 1.1.2's loader is not safe on
   * malformed modules, so nothing V8 rejects reaches it. A missing file is
   * left for the engine to report (ERR_OCRE_IMAGE_NOT_FOUND).
   * @throws OcreError ERR_OCRE_INVALID_IMAGE with V8's reason
   */
  async ensureLoadable(name: string): Promise<void> {
    await checkLoadable(this.dir, name)
  }

  /** True if the image exists. */
  has(name: string): boolean {
    return this.get(name) !== undefined
  }

  /** The image, or undefined if there is none of that name. */
  get(name: string): ImageInfo | undefined {
    checkName(name)
    this.#sweep()
    return this.#info(name)
  }

  /** All images, sorted by name. */
  list(): ImageInfo[] {
    let entries: string[]
    try {
      entries = fs.readdirSync(this.dir)
    } catch (err) {
      if (errno(err) === 'ENOENT') return []
      throw err
    }
    this.#sweep(entries)
    const out: ImageInfo[] = []
    for (const name of entries.sort()) {
      if (!isValidImageName(name)) continue
      const info = this.#info(name)
      if (info) out.push(info)
    }
    const names = new Set(out.map((i) => i.name))
    this.#sweepSidecars(names)
    this.#aot.sweep(names, staleTmp)
    return out
  }

  /**
   * Compile image `name` to native code with the AOT compiler (built when LLVM
   * 15 was present at build time; ERR_OCRE_NO_COMPILER otherwise). The
   * artifact is bound to the image's SHA-256, the WAMR version and the
   * options, and from then on containers of the image run it (tier `auto`).
   * Recompiling replaces it atomically. ERR_OCRE_AOT_COMPILE if the compiler
   * fails (its reason in the message).
   */
  async compile(name: string, options?: CompileOptions): Promise<AotInfo> {
    checkName(name)
    const opts = checkCompileOptions(options, 'options', COMPILE_OPTIONS)
    if (opts.signal?.aborted) throw abortError(opts.signal)
    const file = path.join(this.dir, name)
    // compile a private copy: the record names the SHA-256 of exactly the bytes compiled
    let bytes: Buffer
    try {
      bytes = await fsp.readFile(file)
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'EISDIR')
        throw ocreError('ERR_OCRE_IMAGE_NOT_FOUND', `image '${name}' not found in ${this.dir}`)
      throw err
    }
    await checkWasm(name, bytes)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    await fsp.mkdir(this.#aot.dir, { recursive: true, mode: 0o700 })
    const copy = path.join(this.#aot.dir, this.#tmpName())
    try {
      await fsp.writeFile(copy, bytes, { mode: 0o600, flag: 'wx' })
      const prepared = await this.#aot.prepare(name, copy, sha256, opts)
      try {
        return await prepared.install()
      } finally {
        await prepared.discard()
      }
    } finally {
      await fsp.rm(copy, { force: true })
    }
  }

  /**
   * Add an image from a file path, a `file:`/`http:`/`https:` URL (also as a
   * string starting with such a scheme) or bytes. `name` null/undefined: the
   * last segment of the path (an invalid one is an error that suggests a name).
   */
  async add(name: string | null | undefined, source: ImageSource, options?: AddOptions): Promise<ImageInfo> {
    const opts = checkOptions<AddOptions>(options, ADD_OPTIONS)
    if (name !== undefined && name !== null) checkName(name)
    let src: ImageSource = source
    if (typeof src === 'string' && /^(https?|file):\/\//i.test(src)) src = new URL(src)
    if (src instanceof URL) {
      if (src.protocol === 'http:' || src.protocol === 'https:') return this.pull(src, { ...opts, name })
      if (src.protocol !== 'file:')
        throw new TypeError(`Expected a file:, http: or https: URL for source but received ${src.protocol} URL`)
      src = fileURLToPath(src)
    }
    if (typeof src === 'string') {
      if (src === '') throw new TypeError('Expected a file path for source but received ""')
      const file = path.resolve(src)
      const imageName = name ?? derivedName(path.basename(file), file)
      return this.#admit(imageName, opts, async (tmp, signal) => {
        const stat = await fsp.stat(file)
        if (!stat.isFile()) throw ocreError('ERR_OCRE_INVALID_IMAGE', `${file} is not a regular file`)
        tmp.checkTotal(stat.size)
        for await (const chunk of fs.createReadStream(file, { signal, highWaterMark: 1 << 20 }))
          await tmp.write(chunk as Buffer)
      })
    }
    let bytes: Uint8Array
    if (src instanceof Uint8Array) bytes = src
    else if (src instanceof ArrayBuffer) bytes = new Uint8Array(src)
    else
      throw new TypeError(
        `Expected a file path, URL, Buffer or Uint8Array for source but received ${describe(source)}`,
      )
    if (name === undefined || name === null)
      throw typeError('a string', 'name (required when source is a buffer)', name)
    // reject invalid bytes before touching the disk
    await checkWasm(name, bytes)
    return this.#admit(
      name,
      opts,
      async (tmp) => {
        tmp.checkTotal(bytes.length)
        await tmp.write(bytes)
      },
      true,
    )
  }

  /**
   * Download an image over http(s) (a `file:` URL is copied), streaming it to
   * a temp file that is validated before it gets its name.
   */
  async pull(url: string | URL, options?: PullOptions): Promise<ImageInfo> {
    const opts = checkOptions<PullOptions>(options, PULL_OPTIONS)
    let u: URL
    if (url instanceof URL) u = url
    else if (typeof url === 'string') {
      try {
        u = new URL(url)
      } catch {
        throw typeError('an absolute URL', 'url', url)
      }
    } else throw typeError('a URL or a string', 'url', url)
    const { name, ...rest } = opts
    if (name !== undefined && name !== null) checkName(name, 'options.name')
    if (u.protocol === 'file:') return this.add(name, u, rest)
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new TypeError(`Expected an http:, https: or file: URL for url but received ${u.protocol} URL`)
    const segment = u.pathname.split('/').pop() ?? ''
    let base = segment
    try {
      base = decodeURIComponent(segment)
    } catch {
      // keep it encoded: derivedName reports it as invalid
    }
    const imageName = name ?? derivedName(base, displayUrl(u))
    const maxBytes = rest.maxBytes ?? DEFAULT_MAX_BYTES
    const timeout = rest.timeout ?? DEFAULT_PULL_TIMEOUT
    return this.#admit(imageName, { ...rest, maxBytes }, (tmp, signal) => this.#download(u, tmp, signal, timeout))
  }

  /** Remove an image and its sidecar; refused while a container uses it. */
  async remove(name: string): Promise<void> {
    checkName(name)
    const file = path.join(this.dir, name)
    let stat: fs.Stats
    try {
      stat = await fsp.stat(file)
    } catch (err) {
      if (errno(err) === 'ENOENT')
        throw ocreError('ERR_OCRE_IMAGE_NOT_FOUND', `image '${name}' not found in ${this.dir}`)
      throw err
    }
    if (!stat.isFile()) throw ocreError('ERR_OCRE_IMAGE_NOT_FOUND', `image '${name}' not found in ${this.dir}`)
    if (this.#isInUse(name)) throw ocreError('ERR_OCRE_IN_USE', `image '${name}' is used by a container`)
    await this.#aot.remove(name)
    await fsp.rm(file, { force: true })
    await fsp.rm(path.join(this.#metaDir, name), { force: true })
    await fsyncDir(this.dir)
  }

  // -------------------------------------------------------------------------

  #info(name: string): ImageInfo | undefined {
    const file = path.join(this.dir, name)
    let stat: fs.Stats
    try {
      stat = fs.statSync(file)
    } catch {
      return undefined
    }
    if (!stat.isFile()) return undefined
    let sha256: string | undefined
    const metaFile = path.join(this.#metaDir, name)
    try {
      const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as Sidecar
      if (
        meta.size === stat.size &&
        meta.mtimeMs === stat.mtimeMs &&
        meta.ino === stat.ino &&
        typeof meta.sha256 === 'string' &&
        /^[0-9a-f]{64}$/.test(meta.sha256)
      )
        sha256 = meta.sha256
    } catch {
      // no sidecar (dropped in by another tool) or a broken one
    }
    if (!sha256) {
      sha256 = hashFileSync(file)
      try {
        // hash once: a later list() reads it (ignored if the store is read-only)
        this.#writeSidecarSync(name, { sha256, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino })
      } catch {
        // best effort
      }
    }
    return { name, path: file, size: stat.size, sha256, modified: stat.mtime, aot: this.#aot.info(name, sha256) }
  }

  #tmpName(): string {
    return `${TMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`
  }

  #writeSidecarSync(name: string, meta: Sidecar): void {
    fs.mkdirSync(this.#metaDir, { recursive: true })
    const tmp = path.join(this.#metaDir, this.#tmpName())
    try {
      fs.writeFileSync(tmp, JSON.stringify(meta) + '\n', { mode: 0o644 })
      fs.renameSync(tmp, path.join(this.#metaDir, name))
    } catch (err) {
      fs.rmSync(tmp, { force: true })
      throw err
    }
  }

  async #writeSidecar(name: string, meta: Sidecar): Promise<void> {
    await fsp.mkdir(this.#metaDir, { recursive: true })
    const tmp = path.join(this.#metaDir, this.#tmpName())
    try {
      await fsp.writeFile(tmp, JSON.stringify(meta) + '\n', { mode: 0o644 })
      await fsp.rename(tmp, path.join(this.#metaDir, name))
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      throw err
    }
  }

  /** Remove temp files left by processes that died mid-write. */
  #sweep(entries?: string[]): void {
    for (const [dir, list] of [
      [this.dir, entries],
      [this.#metaDir, undefined],
    ] as const) {
      let names: string[]
      try {
        names = list ?? fs.readdirSync(dir)
      } catch {
        continue
      }
      for (const n of names) {
        const file = path.join(dir, n)
        try {
          if (staleTmp(file, n)) fs.rmSync(file, { force: true })
        } catch {
          // raced with its owner or another sweeper
        }
      }
    }
  }

  /** Remove sidecars of images that are gone. */
  #sweepSidecars(images: Set<string>): void {
    let names: string[]
    try {
      names = fs.readdirSync(this.#metaDir)
    } catch {
      return
    }
    for (const n of names)
      if (isValidImageName(n) && !images.has(n)) fs.rmSync(path.join(this.#metaDir, n), { force: true })
  }

  /**
   * The one way into the store: fill a temp file with `fill`, fsync it, check
   * size, digest and WebAssembly validity, then give it its name atomically.
   */
  async #admit(
    name: string,
    opts: AddOptions,
    fill: (tmp: TempFile, signal: AbortSignal | undefined) => Promise<void>,
    prevalidated = false,
  ): Promise<ImageInfo> {
    const { signal, replace = false } = opts
    const expected = opts.sha256 === undefined ? undefined : normalizeDigest(opts.sha256, 'options.sha256')
    if (signal?.aborted) throw abortError(signal)
    const final = path.join(this.dir, name)
    if (!replace && fs.existsSync(final)) throw this.#exists(name)
    await fsp.mkdir(this.dir, { recursive: true })
    this.#sweep()

    const tmp = new TempFile(
      path.join(this.dir, this.#tmpName()),
      opts.maxBytes ?? Number.MAX_SAFE_INTEGER,
      name,
      opts.onProgress,
    )
    let prepared: PreparedArtifact | null = null
    try {
      await tmp.open()
      try {
        await fill(tmp, signal)
      } catch (err) {
        if (signal?.aborted) throw abortError(signal)
        throw err
      }
      if (signal?.aborted) throw abortError(signal)
      const sha256 = await tmp.finish()
      if (expected && expected !== sha256)
        throw ocreError('ERR_OCRE_DIGEST_MISMATCH', `sha256 of '${name}' is ${sha256}, expected ${expected}`)
      if (!prevalidated) await checkWasm(name, await fsp.readFile(tmp.path))
      if (signal?.aborted) throw abortError(signal)
      // compiled before it gets its name: an image that does not compile is not admitted
      prepared = opts.aot
        ? await this.#aot.prepare(name, tmp.path, sha256, {
            ...(typeof opts.aot === 'object' ? opts.aot : {}),
            signal,
          })
        : null
      if (signal?.aborted) throw abortError(signal)

      if (replace) {
        await fsp.rename(tmp.path, final)
      } else {
        try {
          await fsp.link(tmp.path, final) // fails if the name appeared meanwhile: never clobbers
        } catch (err) {
          if (errno(err) === 'EEXIST') throw this.#exists(name)
          // no hard links on this file system: check, then rename
          if (fs.existsSync(final)) throw this.#exists(name)
          await fsp.rename(tmp.path, final)
        }
        await fsp.rm(tmp.path, { force: true })
      }
      await fsyncDir(this.dir)
      const stat = await fsp.stat(final)
      try {
        await this.#writeSidecar(name, { sha256, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino })
      } catch {
        // list() recomputes a missing sidecar
      }
      // a replaced image's old artifact is stale: it goes (or is replaced)
      const aot = prepared ? await prepared.install() : (await this.#aot.remove(name), null)
      return { name, path: final, size: stat.size, sha256, modified: stat.mtime, aot }
    } finally {
      await tmp.discard()
      await prepared?.discard()
    }
  }

  #exists(name: string): Error {
    return ocreError('ERR_OCRE_EXISTS', `image '${name}' already exists (replace it with { replace: true })`)
  }

  async #download(url: URL, tmp: TempFile, signal: AbortSignal | undefined, timeout: number): Promise<void> {
    let current = url
    for (let redirects = 0; ; redirects++) {
      if (signal?.aborted) throw abortError(signal)
      const { req, response, timedOut } = httpGet(current, timeout)
      let res: http.IncomingMessage | undefined
      const onAbort = () => {
        const err = abortError(signal!)
        req.destroy(err)
        res?.destroy(err)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      try {
        try {
          res = await response
        } catch (err) {
          if (signal?.aborted) throw abortError(signal)
          throw timedOut() ?? this.#pullError(err, current)
        }
        if (signal?.aborted) throw abortError(signal)
        const status = res.statusCode ?? 0
        if (REDIRECTS.has(status) && res.headers.location) {
          res.resume()
          if (redirects >= MAX_REDIRECTS)
            throw ocreError(
              'ERR_OCRE_PULL',
              `too many redirects (more than ${MAX_REDIRECTS}) pulling ${displayUrl(url)}`,
            )
          let next: URL
          try {
            next = new URL(res.headers.location, current)
          } catch {
            throw ocreError('ERR_OCRE_PULL', `bad redirect location from ${displayUrl(current)}`)
          }
          if (next.protocol !== 'http:' && next.protocol !== 'https:')
            throw ocreError('ERR_OCRE_PULL', `refusing redirect to a ${next.protocol} URL from ${displayUrl(current)}`)
          if (current.protocol === 'https:' && next.protocol === 'http:')
            throw ocreError('ERR_OCRE_PULL', `refusing redirect from https to http (${displayUrl(next)})`)
          current = next
          continue
        }
        if (status < 200 || status > 299) {
          res.resume()
          throw ocreError(
            'ERR_OCRE_PULL',
            `GET ${displayUrl(current)} failed: HTTP ${status}${res.statusMessage ? ' ' + res.statusMessage : ''}`,
          )
        }
        const length = res.headers['content-length']
        const total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
        tmp.checkTotal(total)
        const body = res[Symbol.asyncIterator]()
        for (;;) {
          let next: IteratorResult<Buffer>
          try {
            next = await body.next()
          } catch (err) {
            if (signal?.aborted) throw abortError(signal)
            throw timedOut() ?? this.#pullError(err, current, tmp.received)
          }
          if (next.done) break
          await tmp.write(next.value) // its errors (size limit, onProgress) propagate as they are
        }
        if (total !== undefined && tmp.received !== total)
          throw ocreError(
            'ERR_OCRE_PULL',
            `connection closed after ${tmp.received} of ${total} bytes from ${displayUrl(current)}`,
          )
        return
      } finally {
        signal?.removeEventListener('abort', onAbort)
        res?.destroy()
        req.destroy()
      }
    }
  }

  #pullError(err: unknown, url: URL, received?: number): Error {
    const e = err as Error & { code?: string }
    if (e instanceof AbortError || e?.name === 'AbortError') return e
    if (e?.code?.startsWith('ERR_OCRE_')) return e
    const where = received === undefined ? '' : ` after ${received} bytes`
    return ocreError('ERR_OCRE_PULL', `GET ${displayUrl(url)} failed${where}: ${e?.message ?? String(err)}`)
  }
}

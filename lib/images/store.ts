// The image store: the `.wasm` files in `<workdir>/images/` (SPEC §6).
//
// An image's name is its file name in the store (e.g. `hello.wasm`), the same
// string a container is created from (names.ts). Files starting with '.' are
// never images, so the store keeps its own files under such names:
//
//   images/<name>               an image
//   images/.meta/<name>         its sidecar: JSON { sha256, size, mtimeMs, ino }
//   images/.tmp-<pid>-<hex>     a write in progress (tempfile.ts)
//   images/.aot/                its AOT artifacts (see ../aot.ts)
//
// Only valid WebAssembly enters the store: every write goes to a temp file in
// the same directory, is fsync'ed, validated (gate.ts) and digest-checked, and
// only then renamed (replace) or hard-linked (no-clobber) to its name. A
// failed or aborted write removes its temp file; one left by a process that
// was killed is swept by the next store operation of any process (its pid is
// no longer alive).
//
// The sha256 is computed once at admission and kept in the sidecar; a sidecar
// is trusted only while the image's size, mtime and inode still match, so an
// image that another tool dropped in or replaced is hashed once by list().
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AotStore, type AotInfo, type CompileOptions, type PreparedArtifact } from '../aot'
import { abortError, errnoCode as errno, OcreError } from '../errors'
import { describe, typeError } from '../validate'
import { checkLoadable, checkWasm } from './gate'
import { DEFAULT_PULL_TIMEOUT, displayUrl, download } from './http'
import { checkName, derivedName, isValidImageName } from './names'
import {
  ADD_OPTIONS,
  type AddOptions,
  checkAddOptions,
  checkCompileOptions,
  checkListOptions,
  DEFAULT_MAX_BYTES,
  normalizeDigest,
  PULL_OPTIONS,
  type PullOptions,
  checkPushOptions,
  type PushOptions,
} from './options'
import { fsyncDir, type Progress, staleTmp, TempFile, tmpName } from './tempfile'
import {
  defaultImageName,
  parseOciReference,
  pullModule,
  pushModule,
  type PushResult,
  registryClient,
} from '../registry'

const META_DIR = '.meta'
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

export type ImageSource = string | URL | Uint8Array | ArrayBuffer

interface Sidecar {
  sha256: string
  size: number
  mtimeMs: number
  ino: number
}

/** What list()/get() report while they hash a file the store has no digest of. */
export interface HashProgress extends Progress {
  /** The image being hashed. */
  name: string
}

/** Options of {@link ImageStore.list} and {@link ImageStore.get}. */
export interface ListOptions {
  /**
   * Called after every chunk (1 MiB) hashed of an image that has no valid
   * sidecar (dropped in or replaced by another tool): `received` bytes of
   * `total`. An exception thrown here aborts the call with it.
   */
  onProgress?: (progress: HashProgress) => void
}

/**
 * SHA-256 of a file, read in 1 MiB chunks by libuv's thread pool: the event
 * loop runs between chunks (a 2 GiB file never blocks it for more than one
 * chunk's digest update).
 */
async function hashFile(file: string, name: string, size: number, onProgress?: (p: HashProgress) => void): Promise<string> {
  const hash = createHash('sha256')
  let received = 0
  for await (const chunk of fs.createReadStream(file, { highWaterMark: HASH_CHUNK })) {
    hash.update(chunk as Buffer)
    received += (chunk as Buffer).length
    onProgress?.({ name, received, total: size })
  }
  return hash.digest('hex')
}

/**
 * Every failure of the store is an OcreError with a code: a file-system error
 * that is not already one (e.g. another process removed a file between two
 * steps) becomes ERR_OCRE_IO, its message naming the operation, with the
 * original as `cause`. Bad input (TypeError, RangeError) and aborts pass.
 */
function storeError(err: unknown, what: string): unknown {
  if (err instanceof OcreError || err instanceof TypeError || err instanceof RangeError) return err
  if ((err as { name?: string })?.name === 'AbortError') return err
  const e = err as { code?: unknown; message?: unknown }
  if (typeof e?.code === 'string' && e.code.startsWith('ERR_OCRE_')) return err
  return new OcreError('ERR_OCRE_IO', `${what}: ${typeof e?.message === 'string' ? e.message : String(err)}`, {
    cause: err,
  })
}

function notFound(name: string, dir: string): OcreError {
  return new OcreError('ERR_OCRE_IMAGE_NOT_FOUND', `image '${name}' not found in ${dir}`)
}

/**
 * The images of one working directory. `ctx.images` is one of these; it can
 * also be used alone (it needs no native addon).
 */
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

  /** True if the image exists (it is not hashed). */
  async has(name: string): Promise<boolean> {
    checkName(name)
    try {
      return (await fsp.stat(path.join(this.dir, name))).isFile()
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return false
      throw storeError(err, `cannot read image '${name}'`)
    }
  }

  /**
   * The image, or undefined if there is none of that name. An image without
   * a valid sidecar is hashed first, off the event loop (see ListOptions).
   */
  async get(name: string, options?: ListOptions): Promise<ImageInfo | undefined> {
    checkName(name)
    const onProgress = checkListOptions<HashProgress>(options)
    try {
      this.#sweep()
      return await this.#info(name, onProgress)
    } catch (err) {
      throw storeError(err, `cannot read image '${name}'`)
    }
  }

  /** All images, sorted by name (hashing those without a valid sidecar, as get() does). */
  async list(options?: ListOptions): Promise<ImageInfo[]> {
    const onProgress = checkListOptions<HashProgress>(options)
    try {
      let entries: string[]
      try {
        entries = await fsp.readdir(this.dir)
      } catch (err) {
        if (errno(err) === 'ENOENT') return []
        throw err
      }
      this.#sweep(entries)
      const out: ImageInfo[] = []
      for (const name of entries.sort()) {
        if (!isValidImageName(name)) continue
        const info = await this.#info(name, onProgress)
        if (info) out.push(info)
      }
      const names = new Set(out.map((i) => i.name))
      this.#sweepSidecars(names)
      this.#aot.sweep(names, staleTmp)
      return out
    } catch (err) {
      throw storeError(err, `cannot list the images in ${this.dir}`)
    }
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
    const opts = checkCompileOptions(options)
    try {
      return await this.#compile(name, opts)
    } catch (err) {
      throw storeError(err, `cannot compile image '${name}'`)
    }
  }

  async #compile(name: string, opts: ReturnType<typeof checkCompileOptions>): Promise<AotInfo> {
    if (opts.signal?.aborted) throw abortError(opts.signal)
    const file = path.join(this.dir, name)
    // compile a private copy: the record names the SHA-256 of exactly the bytes compiled
    let bytes: Buffer
    try {
      bytes = await fsp.readFile(file)
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'EISDIR')
        throw notFound(name, this.dir)
      throw err
    }
    checkWasm(name, bytes)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    await fsp.mkdir(this.#aot.dir, { recursive: true, mode: 0o700 })
    const copy = path.join(this.#aot.dir, tmpName())
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
    const opts = checkAddOptions<AddOptions>(options, ADD_OPTIONS)
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
        let stat: fs.Stats
        try {
          stat = await fsp.stat(file)
        } catch (err) {
          throw new OcreError('ERR_OCRE_IO', `cannot read ${file}: ${(err as Error).message}`, { cause: err })
        }
        if (!stat.isFile()) throw new OcreError('ERR_OCRE_INVALID_IMAGE', `${file} is not a regular file`)
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
    checkWasm(name, bytes)
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
    const opts = checkAddOptions<PullOptions>(options, PULL_OPTIONS)
    const oci = typeof url === 'string' ? parseOciReference(url) : url instanceof URL && url.protocol === 'oci:' ? parseOciReference(url.href) : null
    if (oci) {
      const { name, authFile, insecure, ...rest } = opts
      if (name !== undefined && name !== null) checkName(name, 'options.name')
      const timeout = rest.timeout ?? DEFAULT_PULL_TIMEOUT
      return this.#admit(name ?? defaultImageName(oci), { ...rest, maxBytes: rest.maxBytes ?? DEFAULT_MAX_BYTES }, async (tmp, signal) => {
        await pullModule(registryClient(oci, { authFile, insecure, timeout, signal }, 'ERR_OCRE_PULL'), tmp)
      })
    }
    if (opts.authFile !== undefined || opts.insecure !== undefined)
      throw new TypeError('options.authFile and options.insecure apply to OCI references (oci://HOST/REPO:TAG) only')
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
    return this.#admit(imageName, { ...rest, maxBytes }, (tmp, signal) => download(u, tmp, signal, timeout))
  }

  /**
   * Publish an image to an OCI registry (`oci://HOST[:PORT]/REPO[:TAG]` or
   * `HOST/REPO:TAG`) as a wasm artifact: one
   * `application/vnd.wasm.content.layer.v1+wasm` layer.
   */
  async push(name: string, reference: string, options?: PushOptions): Promise<PushResult> {
    checkName(name)
    if (typeof reference !== 'string') throw typeError('an OCI reference string', 'reference', reference)
    const ref = parseOciReference(reference)
    if (!ref) throw typeError('an OCI reference (oci://HOST[:PORT]/REPO[:TAG] or HOST/REPO:TAG)', 'reference', reference)
    const opts = checkPushOptions(options)
    if (opts.signal?.aborted) throw abortError(opts.signal)
    let bytes: Buffer
    try {
      bytes = await fsp.readFile(path.join(this.dir, name))
    } catch (err) {
      if (errno(err) === 'ENOENT') throw notFound(name, this.dir)
      throw err
    }
    const client = registryClient(
      ref,
      { authFile: opts.authFile, insecure: opts.insecure, timeout: opts.timeout ?? DEFAULT_PULL_TIMEOUT, signal: opts.signal },
      'ERR_OCRE_PUSH',
    )
    return pushModule(client, bytes, name)
  }

  /** Remove an image and its sidecar; refused while a container uses it. */
  async remove(name: string): Promise<void> {
    checkName(name)
    try {
      await this.#remove(name)
    } catch (err) {
      throw storeError(err, `cannot remove image '${name}'`)
    }
  }

  async #remove(name: string): Promise<void> {
    const file = path.join(this.dir, name)
    let stat: fs.Stats
    try {
      stat = await fsp.stat(file)
    } catch (err) {
      if (errno(err) === 'ENOENT')
        throw notFound(name, this.dir)
      throw err
    }
    if (!stat.isFile()) throw notFound(name, this.dir)
    if (this.#isInUse(name)) throw new OcreError('ERR_OCRE_IN_USE', `image '${name}' is used by a container`)
    await this.#aot.remove(name)
    await fsp.rm(file, { force: true })
    await fsp.rm(path.join(this.#metaDir, name), { force: true })
    await fsyncDir(this.dir)
  }

  // -------------------------------------------------------------------------

  async #info(name: string, onProgress?: (p: HashProgress) => void): Promise<ImageInfo | undefined> {
    const file = path.join(this.dir, name)
    let stat: fs.Stats
    try {
      stat = await fsp.stat(file)
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined
      throw err
    }
    if (!stat.isFile()) return undefined
    let sha256: string | undefined
    const metaFile = path.join(this.#metaDir, name)
    try {
      const meta = JSON.parse(await fsp.readFile(metaFile, 'utf8')) as Sidecar
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
      try {
        sha256 = await hashFile(file, name, stat.size, onProgress)
      } catch (err) {
        if (errno(err) === 'ENOENT') return undefined // removed meanwhile
        throw err
      }
      try {
        // hash once: a later list() reads it (ignored if the store is read-only)
        await this.#writeSidecar(name, { sha256, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino })
      } catch {
        // best effort
      }
    }
    return { name, path: file, size: stat.size, sha256, modified: stat.mtime, aot: this.#aot.info(name, sha256) }
  }

  async #writeSidecar(name: string, meta: Sidecar): Promise<void> {
    await fsp.mkdir(this.#metaDir, { recursive: true })
    const tmp = path.join(this.#metaDir, tmpName())
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
    try {
      return await this.#admitUnwrapped(name, opts, fill, prevalidated)
    } catch (err) {
      throw storeError(err, `cannot add image '${name}'`)
    }
  }

  async #admitUnwrapped(
    name: string,
    opts: AddOptions,
    fill: (tmp: TempFile, signal: AbortSignal | undefined) => Promise<void>,
    prevalidated: boolean,
  ): Promise<ImageInfo> {
    const { signal, replace = false } = opts
    const expected = opts.sha256 === undefined ? undefined : normalizeDigest(opts.sha256, 'options.sha256')
    if (signal?.aborted) throw abortError(signal)
    const final = path.join(this.dir, name)
    if (!replace && fs.existsSync(final)) throw this.#exists(name)
    await fsp.mkdir(this.dir, { recursive: true })
    this.#sweep()

    const tmp = new TempFile(
      path.join(this.dir, tmpName()),
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
        throw new OcreError('ERR_OCRE_DIGEST_MISMATCH', `sha256 of '${name}' is ${sha256}, expected ${expected}`)
      if (!prevalidated) checkWasm(name, await fsp.readFile(tmp.path))
      if (signal?.aborted) throw abortError(signal)
      // compiled before it gets its name: an image that does not compile is not admitted
      prepared = opts.aot
        ? await this.#aot.prepare(name, tmp.path, sha256, {
            ...(typeof opts.aot === 'object' ? opts.aot : {}),
            signal,
          })
        : null
      if (signal?.aborted) throw abortError(signal)

      // the image's identity now: after the rename another process may
      // already have removed or replaced it
      const stat = await fsp.stat(tmp.path)
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
    return new OcreError('ERR_OCRE_EXISTS', `image '${name}' already exists (replace it with { replace: true })`)
  }
}

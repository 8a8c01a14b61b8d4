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
// only then renamed (replace) or hard-linked (no-clobber) to its name
// (admit.ts). A
// failed or aborted write removes its temp file; one left by a process that
// was killed is swept by the next store operation of any process (its pid is
// no longer alive).
//
// The sha256 is computed once at admission and kept in the sidecar; a sidecar
// is trusted only while the image's size, mtime and inode still match, so an
// image that another tool dropped in or replaced is hashed once by list()
// (meta.ts). Every failure is an OcreError with a code (errors.ts).
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AotStore, type AotInfo, type CompileOptions } from '../aot'
import { abortError, errnoCode as errno, OcreError } from '../errors'
import { describe, typeError } from '../validate'
import { admit } from './admit'
import { notFound, storeError } from './errors'
import { checkLoadable, checkWasm } from './gate'
import { DEFAULT_PULL_TIMEOUT, displayUrl, download } from './http'
import {
  type HashProgress,
  type ImageInfo,
  type ImageSource,
  imageInfo,
  type ListOptions,
  META_DIR,
  type StoreDirs,
  sweepSidecars,
  sweepTemps,
} from './meta'
import { checkName, derivedName, isValidImageName } from './names'
import {
  ADD_OPTIONS,
  type AddOptions,
  checkAddOptions,
  checkCompileOptions,
  checkListOptions,
  DEFAULT_MAX_BYTES,
  PULL_OPTIONS,
  type PullOptions,
  checkPushOptions,
  type PushOptions,
} from './options'
import { fsyncDir, staleTmp, tmpName } from './tempfile'
import {
  defaultImageName,
  parseOciReference,
  pullModule,
  pushModule,
  type PushResult,
  registryClient,
} from '../registry'

export type { HashProgress, ImageInfo, ImageSource, ListOptions } from './meta'

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
  readonly #where: StoreDirs

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
    this.#where = { dir: this.dir, metaDir: this.#metaDir, aot: this.#aot }
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
      sweepTemps(this.#where)
      return await imageInfo(this.#where, name, onProgress)
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
      sweepTemps(this.#where, entries)
      const out: ImageInfo[] = []
      for (const name of entries.sort()) {
        if (!isValidImageName(name)) continue
        const info = await imageInfo(this.#where, name, onProgress)
        if (info) out.push(info)
      }
      const names = new Set(out.map((i) => i.name))
      sweepSidecars(this.#metaDir, names)
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
      return admit(this.#where, imageName, opts, async (tmp, signal) => {
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
    return admit(
      this.#where,
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
      return admit(this.#where, name ?? defaultImageName(oci), { ...rest, maxBytes: rest.maxBytes ?? DEFAULT_MAX_BYTES }, async (tmp, signal) => {
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
    return admit(this.#where, imageName, { ...rest, maxBytes }, (tmp, signal) => download(u, tmp, signal, timeout))
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
}

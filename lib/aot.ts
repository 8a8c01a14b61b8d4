// AOT artifacts of the image store: compiling an image to native code with
// the `ocre-aotc` compiler, and the record that lets the engine trust it.
//
// Layout:
//
//   images/.aot/key                  32 random bytes, 0600, one per store
//   images/.aot/<name>.meta          the record (text, below), 0600
//   images/.aot/<name>.<hex16>.aot   the artifact it names, 0600
//   images/.aot/.tmp-<pid>-<hex>     a compile in progress
//
// The record binds the artifact to the image's sha256, the WAMR version and
// the compile options, and ends with an HMAC-SHA-256 under the store key of
// every line before it, so only artifacts compiled by this store are loaded.
// Its format belongs to the engine (native/runtime/wamr/aot.c, which verifies
// it before loading): this file signs and reads records only through the
// addon (aotSign, aotInspect). A recompile writes the artifact under a new
// name, renames the new record over the old one (atomic switch), then deletes
// the old artifact.
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { NativeAotInspection, NativeBinding } from './binding'
import { AbortError, OcreError } from './errors'
import { runCompiler } from './aot-compiler'

export const AOT_DIR = '.aot'
const KEY_FILE = 'key'
const KEY_SIZE = 32
/** An artifact no record names, older than this, is swept. */
const ORPHAN_MS = 10 * 60 * 1000

/** The AOT artifact of an image, as {@link ImageStore.list} reports it. */
export interface AotInfo {
  /**
   * `ready`: the engine runs the image from it (tier `auto` or `aot`);
   * `stale`: compiled for another version of the image, another WAMR or
   * another CPU: the interpreter runs the image until it is recompiled;
   * `rejected`: the record does not verify (tampered or foreign): creating a
   * container fails unless it asks for the `interpreter` tier.
   */
  status: 'ready' | 'stale' | 'rejected'
  /** Why it is not `ready`. */
  reason?: string
  /** Absolute path of the artifact. */
  path: string
  /** Artifact size in bytes. */
  size: number
  /** Lower-case hex SHA-256 of the artifact. */
  sha256: string
  /** LLVM CPU the code was compiled for (`x86-64`, or `generic` on ARM, unless a `cpu` was given). */
  cpu: string
  /** WAMR version of the compiler. */
  wamr: string
  /** LLVM optimisation level. */
  opt: number
  /** When it was compiled. */
  compiled: Date
}

/** How far a compile is (see {@link CompileOptions.onProgress}). */
export interface CompileProgress {
  /**
   * `translate`: `done` of `total` functions translated to LLVM IR (reported
   * about 100 times); then `optimize` (LLVM's passes over the whole module)
   * and `codegen` (machine code and the artifact), each once with `done` 0:
   * LLVM does not report inside those. In a split compile
   * ({@link CompileOptions.parts}) the parts overlap: `translate` counts the
   * functions translated over all parts; once all are, `optimize` reports
   * `done` functions whose part is compiled (at each part's end); `codegen`
   * (`done` 0) is the merge of the parts and the writing of the artifact.
   */
  phase: 'translate' | 'optimize' | 'codegen'
  done: number
  total: number
}

export interface CompileOptions {
  /**
   * CPU to compile for. Default: the architecture's baseline (`x86-64`, or
   * `generic` on 64-bit ARM), which runs on every machine of the
   * architecture. `native` (or an LLVM CPU name): this machine's CPU and
   * features; the artifact is then only used on a machine with the same CPU
   * model and feature flags.
   */
  cpu?: string
  /**
   * LLVM optimisation level, 0-3, or `'auto'` (the default): 3 for modules
   * with up to 4 MiB of code, 2 up to 12 MiB, 1 above (WAMR optimises the
   * whole module at once; the cost of O3 grows much faster than the code:
   * BENCHMARKS.md "AOT compile of a large module").
   */
  opt?: 0 | 1 | 2 | 3 | 'auto'
  /**
   * Most memory the compiler may use, in bytes (default: half of the
   * machine's physical memory): in a split compile, the sum of the resident
   * memory of its processes running at once. Past it the compile fails with
   * ERR_OCRE_AOT_MEMORY and nothing is stored.
   */
  memoryLimit?: number
  /**
   * Most time the compile may take, in milliseconds (default 0: no limit),
   * all its parts included. Past it the compiler is killed and the compile
   * fails with ERR_OCRE_AOT_TIMEOUT; nothing is stored.
   */
  timeLimit?: number
  /**
   * Parts the module is compiled in, each its own LLVM module compiled by
   * its own compiler process: a large module as one LLVM module needs
   * memory and time out of proportion to its code (BENCHMARKS.md "AOT
   * compile of a large module"). `'auto'` (the default): one part up to 4
   * MiB of code, above that one part per 2 MiB. `OCRE_AOT_PARTS` in the
   * environment replaces the default. The parts' objects are merged by
   * `ld.lld -r` (Debian: `apt-get install lld`; found on PATH, needed only to
   * compile): without it a module is compiled in one part and a warning
   * (`OCRE_AOT_NO_LINKER`) is printed once. The artifact is the same kind of
   * WAMR 1.1.2 AOT file either way.
   */
  parts?: number | 'auto'
  /**
   * Compiler processes run at once in a split compile (default 2; 1 on a
   * machine with one CPU). Their
   * memory together stays under `memoryLimit`; the `timeLimit` is the whole
   * compile's.
   */
  jobs?: number
  /** Called as the compile progresses (see {@link CompileProgress}). */
  onProgress?: (progress: CompileProgress) => void
  /** Aborts the compile (the compiler process is killed; nothing is left behind). */
  signal?: AbortSignal
}

export { compilerPath } from './aot-compiler'

/** A compiled artifact not yet in place (see {@link AotStore.prepare}). */
export interface PreparedArtifact {
  install(): Promise<AotInfo>
  discard(): Promise<void>
}

// ---------------------------------------------------------------------------
// records (through the engine, which owns their format)

// Artifact digests by file version, so list() hashes each artifact once.
const digests = new Map<string, string>()

function artifactDigest(file: string, st: fs.Stats): string {
  const key = `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
  let digest = digests.get(key)
  if (digest === undefined) {
    digest = sha256Hex(fs.readFileSync(file))
    if (digests.size >= 4096) digests.clear()
    digests.set(key, digest)
  }
  return digest
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

type RecordBinding = Pick<NativeBinding, 'aotRuntime' | 'aotSign' | 'aotInspect'>

/**
 * The addon's AOT record calls (one definition of the record, the machine
 * fingerprint and the WAMR version: the engine's). Loaded on first use: the
 * image commands of the CLI do not load the runtime unless an artifact needs
 * classifying. Null if it cannot load.
 */
function engine(): RecordBinding | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('./binding') as typeof import('./binding')).binding
  } catch {
    return null
  }
}

function tmpName(): string {
  return `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`
}

/** Owner-only regular file check, as the engine applies it. */
function privateFileProblem(st: fs.Stats): string | null {
  if (!st.isFile()) return 'not a regular file'
  if (st.mode & 0o077) return 'readable or writable by others'
  if (typeof process.geteuid === 'function' && st.uid !== process.geteuid()) return 'owned by another user'
  return null
}

/** The artifacts of one image store. */
export class AotStore {
  readonly dir: string
  readonly #imagesDir: string

  constructor(imagesDir: string) {
    this.#imagesDir = imagesDir
    this.dir = path.join(imagesDir, AOT_DIR)
  }

  async #key(): Promise<Buffer> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 })
    const file = path.join(this.dir, KEY_FILE)
    try {
      return await this.#readKey(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    // made once; two processes racing: link() lets exactly one key win
    const tmp = path.join(this.dir, tmpName())
    await fsp.writeFile(tmp, randomBytes(KEY_SIZE), { mode: 0o600, flag: 'wx' })
    try {
      await fsp.link(tmp, file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    } finally {
      await fsp.rm(tmp, { force: true })
    }
    return this.#readKey(file)
  }

  async #readKey(file: string): Promise<Buffer> {
    const st = await fsp.lstat(file)
    const problem = privateFileProblem(st)
    if (problem) throw new OcreError('ERR_OCRE_AOT_REJECTED', `the store key ${file} is ${problem}`)
    const key = await fsp.readFile(file)
    if (key.length !== KEY_SIZE) throw new OcreError('ERR_OCRE_AOT_REJECTED', `the store key ${file} is malformed`)
    return key
  }

  /**
   * Compile the WebAssembly file `src` (whose bytes have SHA-256 `imageSha256`)
   * for image `name` into a temp artifact. `install()` puts it in place
   * (record switch) once the image itself is; `discard()` (always safe to
   * call, also after install) removes what is left of it.
   */
  async prepare(
    name: string,
    src: string,
    imageSha256: string,
    options: CompileOptions = {},
  ): Promise<PreparedArtifact> {
    const { signal } = options
    const key = await this.#key()
    const tmp = path.join(this.dir, tmpName())
    try {
      const result = await runCompiler(src, tmp, options)
      const bytes = await fsp.readFile(tmp)
      const st = await fsp.stat(tmp)
      const problem = privateFileProblem(st)
      if (problem) throw new OcreError('ERR_OCRE_AOT_COMPILE', `the compiler's output is ${problem}`)
      const sha256 = sha256Hex(bytes)
      const artifact = `${name}.${sha256.slice(0, 16)}.aot`
      const rt = engine()
      if (!rt) throw new OcreError('ERR_OCRE_AOT_COMPILE', 'the runtime cannot be loaded to sign the AOT record')
      const compiled = new Date()
      const record = rt.aotSign(
        {
          image: name,
          artifact,
          'image-sha256': imageSha256,
          'artifact-sha256': sha256,
          'artifact-size': String(bytes.length),
          wamr: result.wamr,
          target: result.target,
          cpu: result.cpu,
          features: result.features || '-',
          opt: String(result.opt),
          bounds: result.bounds,
          machine: result.portable ? '-' : rt.aotRuntime().machine,
          created: compiled.toISOString(),
        },
        key,
      )
      const discard = () => fsp.rm(tmp, { force: true })
      const install = async (): Promise<AotInfo> => {
        try {
          if (signal?.aborted) throw new AbortError('The operation was aborted', { cause: signal.reason })
          const before = this.#recordedArtifact(name)
          const finalArtifact = path.join(this.dir, artifact)
          await fsp.rename(tmp, finalArtifact)
          const recordTmp = path.join(this.dir, tmpName())
          try {
            const fh = await fsp.open(recordTmp, 'wx', 0o600)
            try {
              await fh.writeFile(record)
              await fh.sync()
            } finally {
              await fh.close()
            }
            await fsp.rename(recordTmp, path.join(this.dir, `${name}.meta`))
          } catch (err) {
            await fsp.rm(recordTmp, { force: true })
            if (before !== artifact) await fsp.rm(finalArtifact, { force: true })
            throw err
          }
          if (before && before !== artifact) await fsp.rm(path.join(this.dir, before), { force: true })
          const info = this.info(name, imageSha256)
          if (!info) throw new OcreError('ERR_OCRE_AOT_COMPILE', `the artifact of '${name}' vanished`)
          return info
        } finally {
          await discard()
        }
      }
      return { install, discard }
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      throw err
    }
  }

  /** The engine's reading of the record of `name` (no record: null, without loading the runtime). */
  #inspect(name: string, imageSha256: string | null): NativeAotInspection | null | 'no-runtime' {
    if (!fs.existsSync(path.join(this.dir, `${name}.meta`))) return null
    const rt = engine()
    return rt ? rt.aotInspect(path.join(this.#imagesDir, name), imageSha256) : 'no-runtime'
  }

  /** The artifact file name the record of `name` names, if any. */
  #recordedArtifact(name: string): string | null {
    const r = this.#inspect(name, null)
    return (r !== null && r !== 'no-runtime' && r.fields.artifact) || null
  }

  /**
   * The artifact of image `name` whose current SHA-256 is `imageSha256`, or
   * null if it has none: the engine's verdict (aot.c), and the artifact's
   * digest (hashed once per file version).
   */
  info(name: string, imageSha256: string): AotInfo | null {
    const r = this.#inspect(name, imageSha256)
    if (r === null) return null
    if (r === 'no-runtime')
      return {
        status: 'stale',
        reason: 'the runtime cannot be loaded to check it',
        path: '',
        size: 0,
        sha256: '',
        cpu: '',
        wamr: '',
        opt: 0,
        compiled: new Date(0),
      }
    if (r.verdict === 'none') return null
    const f = r.fields
    const file = path.join(this.dir, f.artifact ?? '')
    let status: AotInfo['status'] = r.verdict === 'ok' ? 'ready' : r.verdict
    let reason = r.reason || undefined
    let st: fs.Stats | undefined
    try {
      st = f.artifact ? fs.lstatSync(file) : undefined
    } catch {
      // missing: the engine said so
    }
    if (status === 'ready' && st && artifactDigest(file, st) !== f['artifact-sha256']) {
      status = 'rejected'
      reason = 'its AOT artifact does not match its recorded digest: tampered'
    }
    const info: AotInfo = {
      status,
      path: file,
      size: st ? st.size : Number(f['artifact-size'] ?? 0),
      sha256: f['artifact-sha256'] ?? '',
      cpu: f.cpu ?? '',
      wamr: f.wamr ?? '',
      opt: Number(f.opt ?? 0),
      compiled: new Date(f.created ?? 0),
    }
    if (reason) info.reason = reason
    return info
  }

  /** Delete the record and artifact of `name` (the record first: the switch point). */
  async remove(name: string): Promise<void> {
    const artifact = this.#recordedArtifact(name)
    await fsp.rm(path.join(this.dir, `${name}.meta`), { force: true })
    if (artifact && !artifact.includes('/')) await fsp.rm(path.join(this.dir, artifact), { force: true })
  }

  /**
   * Remove what no image needs: records of images that are gone, artifacts no
   * record names (after ORPHAN_MS: one may be between its rename and its
   * record's), and temp files of dead processes (`isStaleTmp`).
   */
  sweep(images: Set<string>, isStaleTmp: (file: string, name: string) => boolean): void {
    let names: string[]
    try {
      names = fs.readdirSync(this.dir)
    } catch {
      return
    }
    const named = new Set<string>()
    for (const n of names) {
      if (!n.endsWith('.meta')) continue
      const image = n.slice(0, -5)
      if (!images.has(image)) {
        fs.rmSync(path.join(this.dir, n), { force: true })
        continue
      }
      const a = this.#recordedArtifact(image)
      if (a) named.add(a)
    }
    for (const n of names) {
      const file = path.join(this.dir, n)
      try {
        if (n.startsWith('.tmp-')) {
          if (isStaleTmp(file, n)) fs.rmSync(file, { force: true })
        } else if (n.endsWith('.aot') && !named.has(n) && Date.now() - fs.statSync(file).mtimeMs > ORPHAN_MS) {
          fs.rmSync(file, { force: true })
        }
      } catch {
        // raced with another process
      }
    }
  }
}

// What the store knows of its images besides their bytes: the sidecars
// (images/.meta/<name>: JSON { sha256, size, mtimeMs, ino }), the digests of
// images without a valid sidecar, and the sweeps of what dead writers and
// removed images left.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { AotInfo, AotStore } from '../aot'
import { errnoCode as errno } from '../errors'
import { isValidImageName } from './names'
import { type Progress, staleTmp, tmpName } from './tempfile'

export const META_DIR = '.meta'
const HASH_CHUNK = 1 << 20

/** The directories of one store (and its AOT artifacts). */
export interface StoreDirs {
  /** images/ */
  dir: string
  /** images/.meta/ */
  metaDir: string
  aot: AotStore
}

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

export interface Sidecar {
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

export async function imageInfo(
  where: StoreDirs,
  name: string,
  onProgress?: (p: HashProgress) => void,
): Promise<ImageInfo | undefined> {
  const file = path.join(where.dir, name)
  let stat: fs.Stats
  try {
    stat = await fsp.stat(file)
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined
    throw err
  }
  if (!stat.isFile()) return undefined
  let sha256: string | undefined
  const metaFile = path.join(where.metaDir, name)
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
      await writeSidecar(where.metaDir, name, { sha256, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino })
    } catch {
      // best effort
    }
  }
  return { name, path: file, size: stat.size, sha256, modified: stat.mtime, aot: where.aot.info(name, sha256) }
}


export async function writeSidecar(metaDir: string, name: string, meta: Sidecar): Promise<void> {
  await fsp.mkdir(metaDir, { recursive: true })
  const tmp = path.join(metaDir, tmpName())
  try {
    await fsp.writeFile(tmp, JSON.stringify(meta) + '\n', { mode: 0o644 })
    await fsp.rename(tmp, path.join(metaDir, name))
  } catch (err) {
    await fsp.rm(tmp, { force: true })
    throw err
  }
}


/** Remove temp files left by processes that died mid-write. */
export function sweepTemps(where: StoreDirs, entries?: string[]): void {
  for (const [dir, list] of [
    [where.dir, entries],
    [where.metaDir, undefined],
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
export function sweepSidecars(metaDir: string, images: Set<string>): void {
  let names: string[]
  try {
    names = fs.readdirSync(metaDir)
  } catch {
    return
  }
  for (const n of names)
    if (isValidImageName(n) && !images.has(n)) fs.rmSync(path.join(metaDir, n), { force: true })
}


// The one way into the store: a temp file filled by the caller (a copy, a
// download, bytes), fsync'ed, checked (size, digest, WebAssembly validity,
// optionally compiled ahead of time) and only then given its name atomically.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { PreparedArtifact } from '../aot'
import { abortError, errnoCode as errno, OcreError } from '../errors'
import { existsError, storeError } from './errors'
import { checkWasm } from './gate'
import { type ImageInfo, type StoreDirs, sweepTemps, writeSidecar } from './meta'
import { type AddOptions, normalizeDigest } from './options'
import { fsyncDir, TempFile, tmpName } from './tempfile'

/** Fills the temp file of an admission (aborted through `signal`). */
export type Fill = (tmp: TempFile, signal: AbortSignal | undefined) => Promise<void>

/**
 * The one way into the store: fill a temp file with `fill`, fsync it, check
 * size, digest and WebAssembly validity, then give it its name atomically.
 */
export async function admit(
  where: StoreDirs,
  name: string,
  opts: AddOptions,
  fill: Fill,
  prevalidated = false,
): Promise<ImageInfo> {
  try {
    return await admitUnwrapped(where, name, opts, fill, prevalidated)
  } catch (err) {
    throw storeError(err, `cannot add image '${name}'`)
  }
}

async function admitUnwrapped(
  where: StoreDirs,
  name: string,
  opts: AddOptions,
  fill: Fill,
  prevalidated: boolean,
): Promise<ImageInfo> {
  const { signal, replace = false } = opts
  const expected = opts.sha256 === undefined ? undefined : normalizeDigest(opts.sha256, 'options.sha256')
  if (signal?.aborted) throw abortError(signal)
  const final = path.join(where.dir, name)
  if (!replace && fs.existsSync(final)) throw existsError(name)
  await fsp.mkdir(where.dir, { recursive: true })
  sweepTemps(where)

  const tmp = new TempFile(
    path.join(where.dir, tmpName()),
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
      ? await where.aot.prepare(name, tmp.path, sha256, {
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
        if (errno(err) === 'EEXIST') throw existsError(name)
        // no hard links on this file system: check, then rename
        if (fs.existsSync(final)) throw existsError(name)
        await fsp.rename(tmp.path, final)
      }
      await fsp.rm(tmp.path, { force: true })
    }
    await fsyncDir(where.dir)
    try {
      await writeSidecar(where.metaDir, name, { sha256, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino })
    } catch {
      // list() recomputes a missing sidecar
    }
    // a replaced image's old artifact is stale: it goes (or is replaced)
    const aot = prepared ? await prepared.install() : (await where.aot.remove(name), null)
    return { name, path: final, size: stat.size, sha256, modified: stat.mtime, aot }
  } finally {
    await tmp.discard()
    await prepared?.discard()
  }
}


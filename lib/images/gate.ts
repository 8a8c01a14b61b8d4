// The validation gate: nothing V8's validator rejects reaches the engine.
// Defence in depth: WAMR 1.1.2's loader was not safe on malformed modules;
// the defects found are fixed by our patch series (docs/wamr-patches.md)
// and the C API is fuzzed without this gate, which costs ~0.2 ms for a
// 40 KB module and ~0.2 s for a 30 MB one, once per file version
// (BENCHMARKS.md). Verdicts are cached for the whole process by file
// identity (device, inode, size, mtime: one stat(2) through the addon, no
// Stats object; fs.statSync where the addon does not load), so an image is
// validated once per file version, not at every create.
//
// A verdict also records the SHA-256 of the bytes V8 validated, and create()
// hands it to the engine (imageSha256): the engine reads the file once into
// memory of its own and loads those bytes only if they hash to it
// (ERR_OCRE_IMAGE_CHANGED otherwise). So a file swapped or rewritten between
// this check and the engine's read (even keeping its identity) never reaches
// WAMR's loader unvalidated.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { OcreError } from '../errors'
import { imageNameProblem } from './names'

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

/**
 * Admission check of bytes entering the store.
 * @throws OcreError ERR_OCRE_INVALID_IMAGE with V8's reason
 */
export function checkWasm(name: string, bytes: Uint8Array): void {
  const problem = wasmProblem(bytes)
  if (problem)
    throw new OcreError('ERR_OCRE_INVALID_IMAGE', `'${name}' is not a valid WebAssembly module: ${problem}`)
}

// Verdicts of V8's validator on image files: per directory and name, the
// verdict on the file's last validated version, its identity, the problem
// (null: valid) and the SHA-256 of the bytes validated.
interface Verdict {
  /** [dev, ino, size, mtime s, mtime ns] of the file validated */
  identity: Float64Array
  problem: string | null
  sha256: string
}
const verdicts = new Map<string, Map<string, Verdict>>()
let verdictCount = 0
const VERDICTS_MAX = 4096
/** fileIdentity()'s output (one per environment: read at once). */
const current = new Float64Array(5)

function invalidImage(name: string, problem: string): OcreError {
  return new OcreError('ERR_OCRE_INVALID_IMAGE', `image ${name} is not valid WebAssembly: ${problem}`)
}

type FileIdentity = (dir: string, name: string, out: Float64Array) => boolean
let fileIdentity: FileIdentity | undefined

/**
 * Whether `<dir>/<name>` is a regular file; then `out` = [dev, ino, size,
 * mtime s, mtime ns]. The addon's stat(2), loaded on first use (the CLI's
 * image commands do not load the runtime); fs.statSync if it cannot load.
 */
function identify(dir: string, name: string, out: Float64Array): boolean {
  fileIdentity ??= loadFileIdentity()
  return fileIdentity(dir, name, out)
}

function loadFileIdentity(): FileIdentity {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { binding } = require('../binding') as typeof import('../binding')
    return (dir, name, out) => binding.fileIdentity(dir, name, out)
  } catch {
    return statIdentity
  }
}

function statIdentity(dir: string, name: string, out: Float64Array): boolean {
  let st: fs.BigIntStats | undefined
  try {
    st = fs.statSync(dir.endsWith('/') ? dir + name : `${dir}/${name}`, { bigint: true, throwIfNoEntry: false })
  } catch {
    return false
  }
  if (!st?.isFile()) return false
  out[0] = Number(st.dev)
  out[1] = Number(st.ino)
  out[2] = Number(st.size)
  out[3] = Number(st.mtimeNs / 1_000_000_000n)
  out[4] = Number(st.mtimeNs % 1_000_000_000n)
  return true
}

/** Whether `current` holds `identity`. */
function isCurrent(identity: Float64Array): boolean {
  for (let i = 0; i < 5; i++) if (identity[i] !== current[i]) return false
  return true
}

/**
 * ImageStore.ensureLoadable() of `dir`, without a promise when the answer is
 * already known (the file's verdict is cached for its current identity):
 * returns the SHA-256 of the validated bytes (undefined when the engine is
 * left to report a missing file or bad name), or throws; returns a promise
 * only when the file has to be read. Context.create() uses it to stay synchronous. A missing file or a
 * bad name is left for the engine to report. Package-internal (not
 * re-exported by index.ts).
 * @throws OcreError ERR_OCRE_INVALID_IMAGE with V8's reason
 */
export function checkLoadable(dir: string, name: string): Promise<string> | string | undefined {
  if (imageNameProblem(name) !== null) return // the engine reports bad names
  // missing or not a regular file: left to the engine
  if (!identify(dir, name, current)) return
  const verdict = verdicts.get(dir)?.get(name)
  if (verdict === undefined || !isCurrent(verdict.identity)) return validate(dir, name, current.slice())
  if (verdict.problem !== null) throw invalidImage(name, verdict.problem)
  return verdict.sha256
}

/**
 * checkLoadable() for a create: a valid verdict already cached for `name` is
 * the answer without looking at the file (no stat). That is safe because
 * the engine loads only bytes with that digest: a file changed or replaced
 * since is refused with ERR_OCRE_IMAGE_CHANGED (a missing one with
 * ERR_OCRE_IMAGE_NOT_FOUND), upon which the caller forgets the verdict and
 * asks checkLoadable(), which validates the file's current version. A
 * refusal is never taken from the cache without a stat: the file may have
 * been fixed.
 */
export function loadableDigest(dir: string, name: string): Promise<string> | string | undefined {
  const verdict = verdicts.get(dir)?.get(name)
  if (verdict !== undefined && verdict.problem === null) return verdict.sha256
  return checkLoadable(dir, name)
}

/** Forget the verdict on image `name` of `dir` (the engine found other bytes there). */
export function forgetVerdict(dir: string, name: string): void {
  if (verdicts.get(dir)?.delete(name)) verdictCount--
}

async function validate(dir: string, name: string, identity: Float64Array): Promise<string> {
  // A valid name is one plain path component: no need for path.join()
  const bytes = await fsp.readFile(dir.endsWith('/') ? dir + name : `${dir}/${name}`)
  const verdict = { identity, problem: wasmProblem(bytes), sha256: createHash('sha256').update(bytes).digest('hex') }
  // cache only if the file did not change while it was read
  if (identify(dir, name, current) && isCurrent(identity)) {
    if (verdictCount >= VERDICTS_MAX) {
      verdicts.clear()
      verdictCount = 0
    }
    let byName = verdicts.get(dir)
    if (byName === undefined) verdicts.set(dir, (byName = new Map()))
    if (!byName.has(name)) verdictCount++
    byName.set(name, verdict)
  }
  if (verdict.problem !== null) throw invalidImage(name, verdict.problem)
  return verdict.sha256
}

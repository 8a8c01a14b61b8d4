// The validation gate: nothing V8's validator rejects reaches the engine.
// Defence in depth: WAMR 1.1.2's loader was not safe on malformed modules;
// the defects found are fixed by our patch series (docs/wamr-patches.md)
// and the C API is fuzzed without this gate, which costs ~0.2 ms for a
// 40 KB module and ~0.2 s for a 30 MB one, once per file version
// (BENCHMARKS.md). Verdicts are cached for the whole process by file
// identity, so an image is validated once per file version, not at every
// create.
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

// Verdicts of V8's validator on image files, by file identity: the problem
// (null: valid) and the SHA-256 of the bytes validated.
interface Verdict {
  problem: string | null
  sha256: string
}
const verdicts = new Map<string, Verdict>()
const VERDICTS_MAX = 4096

function invalidImage(name: string, problem: string): OcreError {
  return new OcreError('ERR_OCRE_INVALID_IMAGE', `image ${name} is not valid WebAssembly: ${problem}`)
}

function identity(file: string, st: fs.Stats): string {
  return `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`
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
  const verdict = verdicts.get(key)
  if (verdict === undefined) return validate(name, file, key)
  if (verdict.problem !== null) throw invalidImage(name, verdict.problem)
  return verdict.sha256
}

/** Forget the verdicts on image `name` of `dir` (the engine found other bytes there). */
export function forgetVerdict(dir: string, name: string): void {
  const file = dir.endsWith('/') ? dir + name : `${dir}/${name}`
  for (const key of verdicts.keys()) if (key.startsWith(`${file}\0`)) verdicts.delete(key)
}

async function validate(name: string, file: string, key: string): Promise<string> {
  const bytes = await fsp.readFile(file)
  const now = fs.statSync(file, { throwIfNoEntry: false })
  const verdict = { problem: wasmProblem(bytes), sha256: createHash('sha256').update(bytes).digest('hex') }
  // cache only if the file did not change while it was read
  if (now && identity(file, now) === key) {
    if (verdicts.size >= VERDICTS_MAX) verdicts.clear()
    verdicts.set(key, verdict)
  }
  if (verdict.problem !== null) throw invalidImage(name, verdict.problem)
  return verdict.sha256
}

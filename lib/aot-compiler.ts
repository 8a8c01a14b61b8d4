// Running the AOT compiler `ocre-aotc` (native/aotc/main.c): one process for
// a module, or, for a large one, a split compile: the module's functions in
// N parts, each compiled into its own object by its own process (a few at a
// time), the objects merged by `ld.lld -r`, and the AOT file written from the
// merged object. Every process of a compile shares its budgets: the time
// limit is the whole compile's, the memory limit bounds the sum of the
// resident memory of the processes running at once (each also gets it as
// its own --memory-limit), and a stop (limit, abort, failure of a part)
// kills them all and removes every temp file.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { CompileOptions, CompileProgress } from './aot'
import { AbortError, OcreError } from './errors'
import { builtProgram } from './programs'

/** Modules with more code than this are split (`parts: 'auto'`). */
export const SPLIT_MIN_CODE = 4 << 20
/** Code per part of a split compile (`parts: 'auto'`). */
export const PART_CODE = 2 << 20
/** Compiler processes run at once in a split compile (`jobs` default; 1 on a one-CPU machine). */
export const DEFAULT_JOBS = 2
/** The linker that merges the parts' objects (a compile-time tool only). */
const LINKER = 'ld.lld'

/**
 * Path of the AOT compiler, or null when it was not built (it needs LLVM 15
 * when the package is installed or built: `apt-get install llvm-15-dev cmake g++`,
 * then `npm rebuild ocre-node`, or `npm run build` in a checkout).
 * `OCRE_AOTC` overrides it.
 */
export function compilerPath(): string | null {
  if (process.env.OCRE_AOTC) return process.env.OCRE_AOTC
  return builtProgram('ocre-aotc')
}

function noCompiler(): OcreError {
  return new OcreError(
    'ERR_OCRE_NO_COMPILER',
    'the AOT compiler ocre-aotc is not built: it needs LLVM 15 when the package is built ' +
      '(Debian: apt-get install llvm-15-dev cmake g++, then npm rebuild ocre-node; in a checkout: npm run build)',
  )
}

/** Path of `ld.lld` on PATH (`OCRE_LLD` overrides it; empty: none), or null. */
export function linkerPath(): string | null {
  const forced = process.env.OCRE_LLD
  if (forced !== undefined) return forced || null
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const file = path.join(dir, LINKER)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      return file
    } catch {
      // not here
    }
  }
  return null
}

export interface CompilerResult {
  wamr: string
  target: string
  /** compiled for the architecture's baseline CPU */
  portable: boolean
  cpu: string
  features: string
  opt: number
  bounds: string
  /** the module's functions */
  functions: number
  /** --part: the functions [first, end) of the part */
  partFunctions?: [number, number]
}

function readLeb(buf: Buffer, pos: number): [number, number] | null {
  let v = 0
  for (let shift = 0; shift < 35 && pos < buf.length; shift += 7) {
    const b = buf[pos++]!
    v += (b & 0x7f) * 2 ** shift
    if (!(b & 0x80)) return [v, pos]
  }
  return null
}

/**
 * The code section of the WebAssembly file `file`, read from its section
 * headers: its size in bytes and its number of functions; zeros if it has
 * none or is malformed (the compiler then says why).
 */
export async function codeSection(file: string): Promise<{ bytes: number; functions: number }> {
  const fh = await fsp.open(file, 'r')
  try {
    const size = (await fh.stat()).size
    const head = Buffer.alloc(16)
    let pos = 8
    while (pos < size) {
      const { bytesRead } = await fh.read(head, 0, head.length, pos)
      const section = readLeb(head.subarray(0, bytesRead), 1)
      if (!section) break
      const [len, at] = section
      if (head[0] === 10) {
        const count = readLeb(head.subarray(0, bytesRead), at)
        return count ? { bytes: len, functions: count[0] } : { bytes: 0, functions: 0 }
      }
      pos += at + len
    }
    return { bytes: 0, functions: 0 }
  } finally {
    await fh.close()
  }
}

let warnedNoLinker = false

/** Parts to compile a module with `bytes` of code in: `options.parts`, else OCRE_AOT_PARTS, else by its code size; 1 without a linker. */
function partsFor(bytes: number, options: CompileOptions): number {
  const env = Number(process.env.OCRE_AOT_PARTS)
  const forced = options.parts ?? (Number.isSafeInteger(env) && env >= 1 ? env : 'auto')
  let parts = forced
  if (parts === 'auto') {
    parts = bytes > SPLIT_MIN_CODE ? Math.ceil(bytes / PART_CODE) : 1
  }
  if (parts > 1 && !linkerPath()) {
    if (!warnedNoLinker) {
      warnedNoLinker = true
      process.emitWarning(
        `${LINKER} was not found on PATH: large modules are compiled as one LLVM module, which needs much more ` +
          'time and memory (Debian: apt-get install lld)',
        { code: 'OCRE_AOT_NO_LINKER' },
      )
    }
    return 1
  }
  return parts
}

/** How often the compilers' memory use is sampled (Linux /proc). */
const RSS_POLL_MS = 100

/** A process's resident memory in bytes (null: gone, or no /proc). */
function residentBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

type StopReason = 'abort' | 'time' | 'memory' | 'callback' | 'failed'

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  spawnError: NodeJS.ErrnoException | null
}

/** The processes of one compile, under its shared budgets. */
class CompileRun {
  readonly memoryLimit: number
  readonly timeLimit: number
  stopped: StopReason | null = null
  callbackError: unknown
  readonly #children = new Set<ChildProcess>()
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = () => this.stop('abort')
  readonly #timer: NodeJS.Timeout | null
  readonly #poll: NodeJS.Timeout

  constructor(options: CompileOptions) {
    this.memoryLimit = options.memoryLimit ?? Math.floor(os.totalmem() / 2)
    this.timeLimit = options.timeLimit ?? 0
    this.#signal = options.signal
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
    if (this.#signal?.aborted) this.stop('abort')
    this.#timer = this.timeLimit > 0 ? setTimeout(() => this.stop('time'), this.timeLimit) : null
    this.#poll = setInterval(() => {
      let total = 0
      for (const child of this.#children) total += (child.pid !== undefined && residentBytes(child.pid)) || 0
      if (total > this.memoryLimit) this.stop('memory')
    }, RSS_POLL_MS)
  }

  stop(why: StopReason): void {
    if (this.stopped) return
    this.stopped = why
    for (const child of this.#children) child.kill('SIGKILL')
  }

  close(): void {
    clearInterval(this.#poll)
    if (this.#timer) clearTimeout(this.#timer)
    this.#signal?.removeEventListener('abort', this.#onAbort)
  }

  /** Run `program`; `onLine` gets each stderr line and says whether it was consumed (progress). */
  exec(program: string, args: string[], onLine: (line: string) => boolean = () => false): Promise<Exit> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve({ code: null, signal: 'SIGKILL', stdout: '', stderr: '', spawnError: null })
      const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      this.#children.add(child)
      let stdout = ''
      let stderr = ''
      let partial = ''
      let spawnError: NodeJS.ErrnoException | null = null
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (stdout.length < 1 << 20) stdout += d
      })
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        partial += d
        let nl
        while ((nl = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, nl)
          partial = partial.slice(nl + 1)
          if (!onLine(line) && stderr.length < 64 * 1024) stderr += line + '\n'
        }
      })
      child.on('error', (err) => (spawnError = err))
      child.on('close', (code, signal) => {
        this.#children.delete(child)
        resolve({ code, signal, stdout, stderr: stderr + partial, spawnError })
      })
    })
  }

  /** Report `p`; a throwing callback stops the compile. */
  report(onProgress: CompileOptions['onProgress'], p: CompileProgress): void {
    if (!onProgress || this.stopped) return
    try {
      onProgress(p)
    } catch (err) {
      this.callbackError = err
      this.stop('callback')
    }
  }

  /** The error of a stopped compile, or null if it was not stopped (or only because a part failed). */
  stopError(): unknown {
    switch (this.stopped) {
      case 'abort':
        return new AbortError('The operation was aborted', { cause: this.#signal?.reason })
      case 'callback':
        return this.callbackError
      case 'time':
        return new OcreError(
          'ERR_OCRE_AOT_TIMEOUT',
          `AOT compilation took longer than its time limit (${this.timeLimit} ms); the compiler was stopped`,
        )
      case 'memory':
        return this.memoryError()
      default:
        return null
    }
  }

  memoryError(): OcreError {
    return new OcreError(
      'ERR_OCRE_AOT_MEMORY',
      `AOT compilation needs more memory than its limit (${this.memoryLimit} bytes); the compiler was stopped`,
    )
  }

  /** The error of a compiler process that did not succeed, or null. */
  compilerError(exit: Exit): unknown {
    const stopError = this.stopError()
    if (stopError) return stopError
    const outOfMemory = /^ocre-aotc: out of memory|LLVM ERROR: out of memory/m.test(exit.stderr)
    if (exit.code === 3 || (outOfMemory && exit.signal === 'SIGABRT')) return this.memoryError()
    if (exit.spawnError) {
      if (exit.spawnError.code === 'ENOENT' || exit.spawnError.code === 'EACCES') return noCompiler()
      return new OcreError('ERR_OCRE_AOT_COMPILE', `AOT compilation failed: ${exit.spawnError.message}`)
    }
    if (exit.code !== 0) {
      const detail =
        exit.stderr.trim().replace(/^ocre-aotc: /gm, '') ||
        (exit.signal ? `the compiler was killed by ${exit.signal}` : `exit status ${exit.code}`)
      return new OcreError('ERR_OCRE_AOT_COMPILE', `AOT compilation failed: ${detail}`)
    }
    return null
  }

  /** Run the compiler with `args`; its JSON result line. */
  async compiler(aotc: string, args: string[], onLine?: (line: string) => boolean): Promise<CompilerResult> {
    const exit = await this.exec(aotc, args, onLine)
    const err = this.compilerError(exit)
    if (err) throw err
    try {
      return JSON.parse(exit.stdout.trim().split('\n').pop() ?? '') as CompilerResult
    } catch {
      throw new OcreError('ERR_OCRE_AOT_COMPILE', 'AOT compilation failed: unexpected compiler output')
    }
  }
}

const PROGRESS = /^progress (translate|optimize|codegen) (\d+) (\d+)$/

/** A fresh temp file name next to `file` (the store's `.tmp-<pid>-<hex>` form, swept if this process dies). */
function siblingTmp(file: string): string {
  return path.join(path.dirname(file), `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`)
}

/**
 * Compile the WebAssembly file `src` into the AOT file `out` (removed on
 * failure by the caller). Split into parts when it is large (see
 * {@link CompileOptions.parts}).
 */
export async function runCompiler(src: string, out: string, options: CompileOptions): Promise<CompilerResult> {
  const aotc = compilerPath()
  if (!aotc) throw noCompiler()
  const code = await codeSection(src)
  const parts = partsFor(code.bytes, options)
  const run = new CompileRun(options)
  const common = [
    ...(options.cpu === undefined ? [] : [`--cpu=${options.cpu}`]),
    `--opt=${options.opt ?? 'auto'}`,
    `--memory-limit=${run.memoryLimit}`,
    // the compile dies with this process (or worker thread): see native/aotc/main.c
    `--parent=${process.pid}`,
    '--progress',
  ]
  try {
    if (parts === 1) {
      return await run.compiler(aotc, [...common, src, out], (line) => {
        const m = PROGRESS.exec(line)
        if (m) run.report(options.onProgress, { phase: m[1] as CompileProgress['phase'], done: Number(m[2]), total: Number(m[3]) })
        return m !== null
      })
    }
    return await compileSplit(run, aotc, common, src, out, parts, code.functions, options)
  } finally {
    run.close()
  }
}

async function compileSplit(
  run: CompileRun,
  aotc: string,
  common: string[],
  src: string,
  out: string,
  parts: number,
  total: number,
  options: CompileOptions,
): Promise<CompilerResult> {
  const jobs = options.jobs ?? Math.min(DEFAULT_JOBS, os.availableParallelism())
  const objects = Array.from({ length: parts }, () => siblingTmp(out))
  const merged = siblingTmp(out)
  // progress: functions translated over all parts (`translate`), then,
  // once every function is, those whose part is compiled (`optimize`)
  const translated = new Array<number>(parts).fill(0)
  let compiled = 0
  const progress = () => {
    const done = translated.reduce((a, b) => a + b, 0)
    if (done < total) run.report(options.onProgress, { phase: 'translate', done, total })
    else run.report(options.onProgress, { phase: 'optimize', done: compiled, total })
  }
  let failure: unknown = null
  let next = 0
  const worker = async () => {
    while (next < parts && failure === null && !run.stopped) {
      const i = next++
      try {
        const result = await run.compiler(aotc, [...common, `--part=${i}/${parts}`, src, objects[i]!], (line) => {
          const m = PROGRESS.exec(line)
          if (m && m[1] === 'translate') {
            translated[i] = Number(m[2])
            progress()
          }
          return m !== null
        })
        const [first, end] = result.partFunctions ?? [0, 0]
        translated[i] = end - first
        compiled += end - first
        progress()
      } catch (err) {
        if (failure === null) failure = err
        run.stop('failed')
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, parts) }, worker))
    const stopError = run.stopError()
    if (stopError) throw stopError
    if (failure !== null) throw failure
    run.report(options.onProgress, { phase: 'codegen', done: 0, total })
    const linker = linkerPath()
    if (!linker) throw new OcreError('ERR_OCRE_AOT_COMPILE', `AOT compilation failed: ${LINKER} is gone`)
    const link = await run.exec(linker, ['-r', '-o', merged, ...objects])
    const linkStop = run.stopError()
    if (linkStop) throw linkStop
    if (link.code !== 0)
      throw new OcreError(
        'ERR_OCRE_AOT_COMPILE',
        `AOT compilation failed: ${LINKER} -r: ${link.spawnError?.message ?? (link.stderr.trim() || `exit status ${link.code}`)}`,
      )
    await Promise.all(objects.map((f) => fsp.rm(f, { force: true })))
    return await run.compiler(aotc, [...common.filter((a) => a !== '--progress'), `--object=${merged}`, src, out])
  } finally {
    await Promise.all([...objects, merged].map((f) => fsp.rm(f, { force: true })))
  }
}

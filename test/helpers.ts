// Shared test helpers: temp working directories with the fixtures as images,
// a per-file context, small async utilities.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'

export const ROOT = path.resolve(__dirname, '..')
export const FIXTURES = path.join(__dirname, 'fixtures')

/** A fresh temp working directory whose images/ holds every fixture (*.wasm). */
export function makeWorkdir(prefix = 'ocre-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  const images = path.join(dir, 'images')
  fs.mkdirSync(images)
  for (const f of fs.readdirSync(FIXTURES)) if (f.endsWith('.wasm')) fs.copyFileSync(path.join(FIXTURES, f), path.join(images, f))
  return dir
}

export function removeWorkdir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * How long a test waits for something that should happen before calling it
 * hung. A guard against hangs, not a timing assertion: it is far above any
 * normal latency, on a loaded CI machine too. Latencies are measured in
 * bench/, never asserted in tests.
 */
export const HANG_MS = 10_000

/** `p`, or a rejection naming `what` if it has not settled after `hangMs` (a hang). */
export async function settles<T>(p: Promise<T>, what: string, hangMs = HANG_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: still not done after ${hangMs} ms (hung?)`)), hangMs)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Asserts that `p` rejects with an error whose `code` is `code`; returns the error. */
export async function rejectsCode(
  p: Promise<unknown> | (() => Promise<unknown>),
  code: string,
  pattern?: RegExp,
): Promise<Error & { code?: string }> {
  let caught: unknown
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof Error, `expected a rejection with ${code}, got ${String(caught)}`)
  const err = caught as Error & { code?: string }
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`)
  if (pattern) assert.match(err.message, pattern)
  return err
}

/** Asserts that `fn` throws (sync) or rejects (async) with an instance of `type` matching `pattern`. */
export async function rejectsType(
  fn: () => unknown,
  type: new (...args: never[]) => Error,
  pattern?: RegExp,
): Promise<Error> {
  let caught: unknown
  try {
    await fn()
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof type, `expected a ${type.name}, got ${String(caught)}`)
  if (pattern) assert.match((caught as Error).message, pattern)
  return caught as Error
}

/** Everything a stream produces until it ends. */
export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.once('end', () => resolve(Buffer.concat(chunks)))
    stream.once('error', reject)
  })
}

/** Resolves with the first chunk of `stream` that makes the data so far match `re`. */
export function waitForOutput(stream: Readable, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const onData = (c: Buffer) => {
      text += c.toString()
      if (re.test(text)) {
        stream.off('data', onData)
        resolve(text)
      }
    }
    stream.on('data', onData)
    stream.once('end', () => reject(new Error(`stream ended without matching ${re}: ${JSON.stringify(text)}`)))
  })
}

/**
 * A context on a fresh workdir for one describe() block: opened in before(),
 * closed (and the workdir deleted) in after().
 */
export function useContext(): { readonly ctx: import('../lib/index').Context; readonly workdir: string } {
  let ctx: import('../lib/index').Context | undefined
  let workdir: string | undefined
  before(async () => {
    const { open } = await import('../lib/index')
    workdir = makeWorkdir()
    ctx = await open({ workdir })
  })
  after(async () => {
    await ctx?.close()
    removeWorkdir(workdir)
  })
  return {
    get ctx() {
      assert.ok(ctx, 'context not open')
      return ctx
    },
    get workdir() {
      assert.ok(workdir, 'no workdir')
      return workdir
    },
  }
}

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** ms from the child's "ready" line to its exit (Infinity if never ready) */
  afterReady: number
}

/**
 * Run TypeScript `code` in a child Node process (via tsx) with `args`; time
 * its exit from the moment it prints "ready", optionally sending it
 * `signalAfterReady` then. A child still alive after `limitMs` is killed.
 */
export function runTsChild(
  code: string,
  args: string[],
  { signalAfterReady, limitMs = 30_000 }: { signalAfterReady?: NodeJS.Signals; limitMs?: number } = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', code, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let readyAt = 0
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (!readyAt && stdout.includes('ready')) {
        readyAt = performance.now()
        if (signalAfterReady) child.kill(signalAfterReady)
      }
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, afterReady: readyAt ? performance.now() - readyAt : Infinity })
    })
  })
}

/** Pids of the processes whose command line contains `text` (Linux /proc). */
export function processesWith(text: string): number[] {
  const pids: number[] = []
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) pids.push(Number(p))
    } catch {
      // gone
    }
  }
  return pids
}

/** What a run must show identically in both tiers (AOT and interpreter). */
export function observable(r: import('../lib/index').RunResult) {
  return {
    exitCode: r.exitCode,
    reason: r.reason,
    message: r.message,
    stdout: r.stdout?.toString('latin1'),
    stderr: r.stderr?.toString('latin1'),
  }
}

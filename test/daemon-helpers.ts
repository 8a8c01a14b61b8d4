// Helpers of the daemon tests: a real `ocre daemon` process on a temp
// workdir (the compiled CLI, bin/ocre.js, rebuilt first when lib/ is newer
// than dist/), the CLI as a child process, and the JS client.
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { connect, type DaemonClient } from '../lib/client/connect'
import { ROOT } from './helpers'

export const BIN = path.join(ROOT, 'bin', 'ocre.js')

function newest(dir: string): number {
  let t = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) t = Math.max(t, newest(p))
    else if (e.name.endsWith('.ts')) t = Math.max(t, fs.statSync(p).mtimeMs)
  }
  return t
}

/** Build dist/ if a lib/ source is newer (npm test builds it first; a lone mocha run may not have). */
export function ensureBuilt(): void {
  const out = path.join(ROOT, 'dist', 'daemon', 'main.js')
  let built = 0
  try {
    built = fs.statSync(out).mtimeMs
  } catch {
    // not built
  }
  if (built >= newest(path.join(ROOT, 'lib'))) return
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  })
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI to its end. */
export function ocre(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, OCRE_HOST: '', OCRE_WORKDIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Asserts exit 0 and returns stdout. */
export async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await ocre(args, env)
  assert.equal(r.code, 0, `ocre ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}

/** A daemon process and what it logged (JSON lines on stderr). */
export class Daemon {
  readonly records: Record<string, unknown>[] = []
  readonly nonJson: string[] = []
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #waiters: { pred: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] = []

  private constructor(
    readonly child: ChildProcess,
    readonly workdir: string,
  ) {
    let partial = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n')
      partial = lines.pop()!
      for (const line of lines) {
        if (!line) continue
        let r: Record<string, unknown>
        try {
          r = JSON.parse(line)
        } catch {
          this.nonJson.push(line)
          continue
        }
        this.records.push(r)
        for (const w of [...this.#waiters])
          if (w.pred(r)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1)
            w.resolve(r)
          }
      }
    })
    child.stdout!.resume()
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  }

  /** Resolves with the first record (past or future) matching `pred`, or rejects if the daemon exits first. */
  record(pred: (r: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.records.find(pred)
    if (seen) return Promise.resolve(seen)
    return Promise.race([
      new Promise<Record<string, unknown>>((resolve) => this.#waiters.push({ pred, resolve })),
      this.exit.then(({ code, signal }) => {
        throw new Error(`daemon exited (${code ?? signal}) before the record; log: ${JSON.stringify(this.records)} ${this.nonJson.join('\n')}`)
      }),
    ])
  }

  /** Starts `ocre daemon --workdir DIR ARGS` and waits until it listens. */
  static async start(workdir: string, args: string[] = []): Promise<Daemon> {
    const child = spawn(process.execPath, [BIN, 'daemon', '--workdir', workdir, ...args], {
      cwd: ROOT,
      env: { ...process.env, OCRE_HOST: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const d = new Daemon(child, workdir)
    await d.record((r) => r.msg === 'listening')
    return d
  }

  get socket(): string {
    return path.join(this.workdir, 'ocre.sock')
  }

  client(): Promise<DaemonClient> {
    return connect({ workdir: this.workdir })
  }

  /** SIGTERM, then the exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    return this.exit
  }

  /** SIGKILL, then the exit. */
  async crash(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exit
  }
}

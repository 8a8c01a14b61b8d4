// A process that ends with containers still running exits promptly and
// cleanly: process.exit() (the 'exit' hook kills and joins them), a natural
// end with unref()'d containers, an uncaught exception. The containers have
// the filesystem capability: their private directories are deleted only if
// the context was really destroyed (killed, joined, removed) on the way out.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { type ChildResult, ROOT, makeWorkdir, removeWorkdir, runTsChild } from './helpers'

const CHILD = `
const { open } = require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))})
const [workdir, mode] = process.argv.slice(1)
;(async () => {
  const ctx = await open({ workdir })
  const cs = []
  for (let i = 0; i < 10; i++) {
    const image = ['spin.wasm', 'sleeper.wasm', 'cat.wasm', 'ticker.wasm'][i % 4]
    const c = await ctx.create({ image, detached: true, capabilities: ['filesystem'] })
    await c.start()
    c.stdout.resume()
    c.stderr.resume()
    if (i === 5) await c.pause()
    cs.push(c)
  }
  await new Promise((r) => setTimeout(r, 50))
  const states = cs.map((c) => c.status).join(',')
  if (mode === 'unref') for (const c of cs) c.unref()
  process.stdout.write('ready ' + states + '\\n')
  if (mode === 'exit') process.exit(0)
  if (mode === 'throw') throw new Error('boom')
})()
`

function privateDirs(workdir: string): string[] {
  return fs.readdirSync(path.join(workdir, 'containers'))
}

function runChild(workdir: string, mode: string): Promise<ChildResult> {
  return runTsChild(CHILD, [workdir, mode], { limitMs: 20_000 })
}

describe('exit with running containers', function () {
  this.timeout(30_000)
  const dirs: string[] = []
  after(() => dirs.forEach(removeWorkdir))
  function dir(): string {
    const d = makeWorkdir()
    dirs.push(d)
    return d
  }
  const RUNNING = 'ready running,running,running,running,running,paused,running,running,running,running\n'

  it('process.exit(0) with 10 running containers exits in < 1 s with code 0', async () => {
    const d = dir()
    const r = await runChild(d, 'exit')
    assert.deepEqual(privateDirs(d), [], 'containers destroyed')
    assert.equal(r.stdout, RUNNING)
    assert.equal(r.signal, null, r.stderr)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '')
    assert.ok(r.afterReady < 1000, `exited ${r.afterReady.toFixed(0)} ms after ready`)
  })

  it('unref()ed containers let the process end by itself, promptly and with code 0', async () => {
    const d = dir()
    const r = await runChild(d, 'unref')
    assert.deepEqual(privateDirs(d), [], 'containers destroyed')
    assert.equal(r.stdout, RUNNING)
    assert.equal(r.signal, null, r.stderr)
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.afterReady < 1000, `exited ${r.afterReady.toFixed(0)} ms after ready`)
  })

  it('an uncaught exception with running containers exits with code 1, not a crash', async () => {
    const d = dir()
    const r = await runChild(d, 'throw')
    assert.deepEqual(privateDirs(d), [], 'containers destroyed')
    assert.equal(r.stdout, RUNNING)
    assert.equal(r.signal, null, r.stderr)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /Error: boom/)
    assert.ok(r.afterReady < 1000, `exited ${r.afterReady.toFixed(0)} ms after ready`)
  })

  it('running (ref()ed) containers keep the process alive, like child processes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', CHILD, dir(), 'stay'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('ready')) resolve()
      })
    })
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (code, signal) => resolve([code, signal])),
    )
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r('alive'), 500))])
    assert.equal(early, 'alive')
    child.kill('SIGTERM')
    assert.deepEqual(await exited, [null, 'SIGTERM'])
  })
})

// Lifecycle calls racing on ONE container (the soak spreads them over many).
// Kept for the fix of defect D4 (docs/reliability.md): when start() races
// with remove({ force: true }), the container can end up removed in
// JavaScript (removed === true) while its status stays 'running' and an
// attached start() is still pending — and nothing keeps the event loop alive
// for it any more: a process awaiting it at top level just ends (exit code
// 13, "unfinished top-level await"), its promise never settled.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { ROOT } from '../helpers'

const HAMMER = `
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path'
const { open } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))})
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-races-')); fs.mkdirSync(dir + '/images')
for (const f of ['trivial.wasm', 'sleeper.wasm', 'hello.wasm'])
  fs.copyFileSync(${JSON.stringify(path.join(ROOT, 'test', 'fixtures'))} + '/' + f, dir + '/images/' + f)
const ctx = await open({ workdir: dir })
const OPS = ['start', 'remove', 'removeForce', 'kill', 'stop', 'wait']
for (let i = 0; i < 3000; i++) {
  const img = ['trivial.wasm', 'hello.wasm', 'sleeper.wasm'][i % 3]
  const c = await ctx.create({ image: img, args: img === 'sleeper.wasm' ? ['0.01'] : [], detached: i % 2 === 0, stdio: 'ignore' })
  const seq = Array.from({ length: 2 + (i % 4) }, () => OPS[Math.floor(Math.random() * OPS.length)])
  if (Math.random() < 0.5) await c.start().catch(() => {})
  const settled = []
  const ps = seq.map((op) =>
    (op === 'removeForce' ? c.remove({ force: true }) : op === 'stop' ? c.stop({ timeout: 0 }) : c[op]()).then(
      () => settled.push(op + ':ok'), (e) => settled.push(op + ':' + e.code)))
  // no timer here: a pending start() must keep the event loop alive by itself
  const onExit = () => console.log('STUCK ' + JSON.stringify({ i, img, detached: i % 2 === 0, ops: seq, status: c.status, removed: c.removed, settled }))
  process.once('exit', onExit)
  await Promise.all(ps)
  process.off('exit', onExit)
  if (!c.removed) { await c.kill().catch(() => {}); await c.remove({ force: true }).catch(() => {}) }
}
await ctx.close()
fs.rmSync(dir, { recursive: true, force: true })
console.log('DONE')
`

describe('reliability: lifecycle calls racing on one container', function () {
  this.timeout(120_000)

  it('every call settles when start/remove/kill/stop/wait race on one container (was defect D4)', async () => {
    const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', HAMMER], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      p.stdout.on('data', (d: Buffer) => (out += d.toString()))
      p.on('error', reject)
      p.on('close', (code) => resolve({ code, out }))
    })
    assert.doesNotMatch(r.out, /STUCK/, r.out)
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, /DONE/)
  })
})

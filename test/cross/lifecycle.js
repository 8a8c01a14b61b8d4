// A lifecycle subset run by scripts/test-cross.mjs inside an emulated Node
// (qemu-user) for each ARM prebuild, through the public API of dist/:
// hello, args/env, kill of a busy loop and of a sleeper, pause/unpause, a
// mount, a trap, log forwarding. Plain CommonJS (no tsx under emulation).
// Prints one `ok NAME` / `not ok NAME: why` line per check, then a JSON line
// `{"arch", "passed", "failed", "killMs"}`; exit 1 if a check failed.
// Waits on events and output markers, never on sleeps; the kill latency
// (kill() to the exit event) is measured and reported, not asserted.
'use strict'
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..')
const fixtures = path.join(root, 'test', 'fixtures')
const { open, setLogger, setLogLevel } = require(path.join(root, 'dist', 'index.js'))

const results = []
const killMs = {}

function waitFor(stream, re) {
  return new Promise((resolve, reject) => {
    let seen = ''
    const onData = (d) => {
      seen += d
      if (re.test(seen)) {
        stream.off('data', onData)
        resolve(seen)
      }
    }
    stream.on('data', onData)
    stream.once('end', () => reject(new Error(`stream ended before ${re}: ${JSON.stringify(seen)}`)))
  })
}

async function check(name, fn) {
  try {
    await fn()
    results.push({ name, ok: true })
    process.stdout.write(`ok ${name}\n`)
  } catch (err) {
    results.push({ name, ok: false })
    process.stdout.write(`not ok ${name}: ${err && err.stack ? err.stack : err}\n`)
  }
}

async function runningDetached(ctx, image, args, ready) {
  const c = await ctx.create({ image, args, detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
  await c.start() // the stdout stream exists from here on and buffers until read
  c.stdout.setEncoding('utf8')
  await waitFor(c.stdout, ready)
  return c
}

async function killed(c, label) {
  const exit = new Promise((resolve) => c.once('exit', resolve))
  const t0 = process.hrtime.bigint()
  const r = await c.kill()
  const ev = await exit
  killMs[label] = Number(process.hrtime.bigint() - t0) / 1e6
  assert.deepEqual({ exitCode: r.exitCode, reason: r.reason }, { exitCode: 137, reason: 'killed' })
  assert.deepEqual(ev, r)
  assert.equal(c.status, 'stopped')
  await c.remove()
}

async function main() {
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-cross-'))
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-cross-data-'))
  const records = []
  setLogLevel('info')
  setLogger((record) => records.push(record))
  const ctx = await open({ workdir })
  try {
    for (const f of ['hello', 'args-env', 'spin', 'sleeper', 'ticker', 'fs', 'trap'])
      await ctx.images.add(`${f}.wasm`, path.join(fixtures, `${f}.wasm`))

    await check('hello', async () => {
      const r = await ctx.run('hello.wasm', { stdio: ['ignore', 'pipe', 'pipe'] })
      assert.equal(r.exitCode, 0)
      assert.equal(r.reason, 'exit')
      assert.equal(r.stdout.toString(), 'Hello from WebAssembly!\n')
    })

    await check('args and env', async () => {
      const r = await ctx.run('args-env.wasm', { args: ['a b', 'ü'], env: { K: 'v=1' }, stdio: ['ignore', 'pipe', 'pipe'] })
      assert.equal(r.exitCode, 0)
      assert.equal(r.stdout.toString(), 'argc=3\nargv[0]=args-env.wasm\nargv[1]=a b\nargv[2]=ü\nenv:K=v=1\n')
    })

    await check('kill a busy loop (spin)', async () => {
      await killed(await runningDetached(ctx, 'spin.wasm', [], /spinning/), 'spin')
    })

    await check('kill a sleeper (poll_oneoff)', async () => {
      await killed(await runningDetached(ctx, 'sleeper.wasm', ['60'], /sleeping/), 'sleeper')
    })

    await check('pause and unpause (ticker: it ticks again after unpause)', async () => {
      const c = await runningDetached(ctx, 'ticker.wasm', ['5'], /tick 0\n/)
      const paused = new Promise((resolve) => c.on('status', (st) => st === 'paused' && resolve()))
      await c.pause()
      await paused
      assert.equal(c.status, 'paused')
      let seen = ''
      c.stdout.on('data', (d) => (seen += d))
      await c.unpause()
      assert.equal(c.status, 'running')
      const before = seen.length
      await new Promise((resolve) => {
        const onData = () => seen.length > before && /tick \d+\n$/.test(seen) && (c.stdout.off('data', onData), resolve())
        c.stdout.on('data', onData)
      })
      await killed(c, 'ticker')
    })

    await check('a mount (write through a preopen, read on the host)', async () => {
      const r = await ctx.run('fs.wasm', {
        args: ['write', '/data/out.txt', 'from-arm'],
        mounts: [{ source: data, target: '/data' }],
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      assert.equal(r.stdout.toString(), 'ok\n')
      assert.equal(r.exitCode, 0)
      assert.equal(fs.readFileSync(path.join(data, 'out.txt'), 'utf8'), 'from-arm')
    })

    await check('a trap (unreachable)', async () => {
      const r = await ctx.run('trap.wasm', { args: ['unreachable'], stdio: ['ignore', 'pipe', 'pipe'] })
      assert.equal(r.reason, 'trap')
      assert.equal(r.exitCode, 134)
      assert.match(r.message, /unreachable/)
    })

    await check('an out-of-bounds access traps; V8\'s own still throws (guard regions on arm64)', async () => {
      const r = await ctx.run('trap.wasm', { args: ['oob'], stdio: ['ignore', 'pipe', 'pipe'] })
      assert.equal(r.reason, 'trap')
      assert.equal(r.exitCode, 134)
      assert.equal(r.message, 'out of bounds memory access')
      // (module (memory 1) (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
      const bytes = Uint8Array.from([
        0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 8, 1, 4, 108, 111, 97,
        100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 40, 2, 0, 11,
      ])
      const load = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.load
      assert.throws(() => load(65536), WebAssembly.RuntimeError)
    })

    await check('log forwarding (the C core logs through the JS logger)', async () => {
      const created = records.filter((r) => r.module === 'container' && /created from hello\.wasm/.test(r.message))
      assert.ok(created.length > 0, `no container record among ${JSON.stringify(records.slice(0, 5))}`)
      assert.equal(created[0].level, 'info')
      assert.ok(created[0].time instanceof Date)
    })
  } finally {
    await ctx.close()
    setLogger(null)
    fs.rmSync(workdir, { recursive: true, force: true })
    fs.rmSync(data, { recursive: true, force: true })
  }
}

main().then(
  () => {
    const passed = results.filter((r) => r.ok).length
    const failed = results.length - passed
    process.stdout.write(JSON.stringify({ arch: process.arch, passed, failed, killMs }) + '\n')
    process.exit(failed ? 1 : 0)
  },
  (err) => {
    process.stdout.write(`not ok setup: ${err && err.stack ? err.stack : err}\n`)
    process.stdout.write(JSON.stringify({ arch: process.arch, passed: 0, failed: 1, killMs }) + '\n')
    process.exit(1)
  },
)

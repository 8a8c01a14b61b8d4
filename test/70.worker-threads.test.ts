// The addon is context-aware: it loads and runs containers in several
// worker threads at once; a worker that goes away kills and joins its
// containers (environment cleanup hook).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { binding } from '../lib/binding'
import { type LogRecord, setLogger } from '../lib/index'
import { ROOT, makeWorkdir, rejectsCode, removeWorkdir, useContext, settles } from './helpers'

const LIB = JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))

/** Run `body` (an async function body using `open`, `workdir`, `post`) in a worker. */
function startWorker(body: string, workdir: string): { worker: Worker; messages: unknown[]; next: () => Promise<unknown> } {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    // eval'd workers do not get tsx's require hook from --import: register it
    require('tsx/cjs/api').register()
    const lib = require(${LIB})
    const { open } = lib
    const workdir = workerData.workdir
    const post = (m) => parentPort.postMessage(m)
    ;(async () => { ${body} })().catch((e) => post({ error: e.code || e.message, message: e.message }))
  `
  const worker = new Worker(code, { eval: true, workerData: { workdir } })
  const messages: unknown[] = []
  const waiting: ((m: unknown) => void)[] = []
  worker.on('message', (m) => {
    const w = waiting.shift()
    if (w) w(m)
    else messages.push(m)
  })
  worker.on('error', (e) => {
    const w = waiting.shift()
    if (w) w({ error: e.message })
  })
  const next = () =>
    messages.length ? Promise.resolve(messages.shift()) : new Promise<unknown>((resolve) => waiting.push(resolve))
  return { worker, messages, next }
}

describe('worker threads', function () {
  this.timeout(30_000)
  const t = useContext()
  const dirs: string[] = []
  const dir = () => {
    const d = makeWorkdir()
    dirs.push(d)
    return d
  }
  after(() => dirs.forEach(removeWorkdir))

  it('loads and runs containers in two workers at once (and on the main thread meanwhile)', async () => {
    const body = `
      const ctx = await open({ workdir })
      const hello = await ctx.run('hello.wasm')
      const cat = await ctx.run('cat.wasm', { input: 'from ' + workdir })
      const spin = await ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
      await spin.start()
      const killed = await spin.kill()
      await ctx.close()
      post({ hello: hello.stdout.toString(), cat: cat.stdout.toString(), killed, version: lib.version })
    `
    const d1 = dir()
    const d2 = dir()
    const w1 = startWorker(body, d1)
    const w2 = startWorker(body, d2)
    const mainRun = t.ctx.run('hello.wasm')
    const [m1, m2] = await settles(Promise.all([w1.next(), w2.next()]), 'workers', 20_000)
    for (const [m, d] of [
      [m1, d1],
      [m2, d2],
    ] as const) {
      assert.deepEqual(m, {
        hello: 'Hello from WebAssembly!\n',
        cat: `from ${d}`,
        killed: { exitCode: 137, reason: 'killed' },
        version: (await import('../lib/index')).version,
      })
    }
    assert.equal((await mainRun).stdout?.toString(), 'Hello from WebAssembly!\n')
    await Promise.all([w1.worker.terminate(), w2.worker.terminate()])
  })

  it('terminate() of a worker with running containers kills and joins them promptly', async () => {
    const d = dir()
    const w = startWorker(
      `
      const ctx = await open({ workdir })
      for (const image of ['spin.wasm', 'sleeper.wasm', 'cat.wasm', 'ticker.wasm']) {
        const c = await ctx.create({ image, detached: true, capabilities: ['filesystem'] })
        await c.start()
      }
      post('running')
    `,
      d,
    )
    assert.equal(await w.next(), 'running')
    assert.equal(fs.readdirSync(path.join(d, 'containers')).length, 4)
    await settles(w.worker.terminate(), 'terminate')
    assert.deepEqual(fs.readdirSync(path.join(d, 'containers')), [], 'containers destroyed by the cleanup hook')
    // the workdir is free again, and the main thread still works
    const { open } = await import('../lib/index')
    const ctx = await open({ workdir: d })
    assert.equal((await ctx.run('hello.wasm')).exitCode, 0)
    await ctx.close()
  })

  it('a worker that ends by itself with running containers exits cleanly', async () => {
    const d = dir()
    const w = startWorker(
      `
      const ctx = await open({ workdir })
      const c = await ctx.create({ image: 'sleeper.wasm', detached: true, capabilities: ['filesystem'] })
      await c.start()
      post('running')
      process.exit(3)
    `,
      d,
    )
    const exited = new Promise((resolve) => w.worker.once('exit', resolve)) // before it can happen
    assert.equal(await w.next(), 'running')
    const code = await settles(exited, 'worker exit')
    assert.equal(code, 3)
    assert.deepEqual(fs.readdirSync(path.join(d, 'containers')), [])
  })

  it('one context per workdir across threads (ERR_OCRE_EXISTS)', async () => {
    const w = startWorker(`await open({ workdir }); post('opened')`, t.workdir)
    assert.deepEqual(await w.next(), { error: 'ERR_OCRE_EXISTS', message: `a context is already open on ${fs.realpathSync(t.workdir)}` })
    await w.worker.terminate()
    await rejectsCode(
      (async () => {
        const { open } = await import('../lib/index')
        await open({ workdir: t.workdir })
      })(),
      'ERR_OCRE_EXISTS',
    )
  })

  it('log levels are per thread: a worker at debug does not flood the main thread', async () => {
    const records: LogRecord[] = []
    setLogger((r) => records.push(r))
    try {
      const w = startWorker(
        `
        const got = []
        // records arrive in order: the removal's record is the last of the run's
        const removed = new Promise((resolve) => lib.setLogger((r) => {
          got.push(r.module + ': ' + r.message)
          if (r.message === 'container in-worker removed') resolve()
        }))
        lib.setLogLevel('info')
        const ctx = await open({ workdir })
        await ctx.run('hello.wasm', { id: 'in-worker' })
        await ctx.close()
        await removed
        post(got.filter((l) => l.includes('in-worker')))
      `,
        dir(),
      )
      const got = (await w.next()) as string[]
      assert.ok(got.includes('container: container in-worker created from hello.wasm (wamr/wasip1)'), got.join('\n'))
      await w.worker.terminate()
      // a marker through this thread's queue: whatever was queued before it has arrived
      const marker = new Promise<void>((resolve) =>
        setLogger((r) => (r.module === 'marker' ? resolve() : records.push(r))),
      )
      binding.emitLog(2, 'marker', 'end')
      await settles(marker, 'marker record')
      assert.deepEqual(
        records.filter((r) => r.level === 'info'),
        [],
        'main thread (level warn) got no info records',
      )
    } finally {
      setLogger(null)
    }
  })

  it('worker.terminate() while start() calls are in flight: their pipe fds are closed', async () => {
    // An image over the addon's inline limit (64 KiB): start() goes to the
    // thread pool. The worker then blocks its event loop, so no start can
    // settle in it before terminate() ends it.
    const workdir = dir()
    const hello = fs.readFileSync(path.join(workdir, 'images', 'hello.wasm'))
    const pad = Buffer.alloc(80 * 1024)
    const name = Buffer.from('pad')
    const size = name.length + 1 + pad.length
    const leb = [(size & 0x7f) | 0x80, ((size >> 7) & 0x7f) | 0x80, size >> 14]
    fs.writeFileSync(path.join(workdir, 'images', 'big.wasm'), Buffer.concat([hello, Buffer.from([0, ...leb, name.length]), name, pad]))
    const fdCount = () => fs.readdirSync('/proc/self/fd').length
    const before = fdCount()
    const w = startWorker(
      `
      const ctx = await open({ workdir })
      const cs = []
      for (let i = 0; i < 8; i++) cs.push(await ctx.create({ image: 'big.wasm', detached: true }))
      post('created')
      await new Promise((r) => setTimeout(r, 0))
      for (const c of cs) c.start().catch(() => {})
      post('starting')
      for (;;);
    `,
      workdir,
    )
    assert.equal(await w.next(), 'created')
    assert.equal(await w.next(), 'starting')
    await w.worker.terminate()
    // everything the worker opened is closed again (the 24 pipe ends included)
    assert.equal(fdCount(), before)
  })

  it('the addon stays loaded after the last worker that loaded it ends (its threads may outlive that worker)', () => {
    // Node unloads an addon with the last environment that loaded it; a run
    // left behind by a bounded close() would return into unmapped code.
    const script = `
      const { Worker } = require('node:worker_threads')
      const fs = require('node:fs')
      const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').includes('ocre_node.node')
      const w = new Worker("require('tsx/cjs/api').register(); require(" + ${JSON.stringify(LIB)} + ")", { eval: true })
      w.on('exit', () => process.stdout.write(String(mapped())))
    `
    const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
    assert.equal(res.status, 0, res.stderr)
    assert.equal(res.stdout, 'true', 'ocre_node.node is still mapped')
  })

  it('workers terminated at random moments while containers start, exit and log: no crash', () => {
    // In a child process: a crash must fail this test, not take mocha down.
    const script = `
      const { Worker } = require('node:worker_threads')
      const fs = require('node:fs'), os = require('node:os'), path = require('node:path')
      const code = \`
        require('tsx/cjs/api').register()
        const { workerData } = require('node:worker_threads')
        const lib = require(${LIB})
        lib.setLogLevel('debug')
        lib.setLogger(() => {})
        ;(async () => {
          const ctx = await lib.open({ workdir: workerData })
          for (let i = 0; ; i++) {
            const c = await ctx.create({ image: i % 3 ? 'ticker.wasm' : 'chatty.wasm', args: i % 3 ? ['1', '50'] : ['2000'], detached: true })
            c.start().then(() => { c.stdout.resume(); c.stderr.resume() }).catch(() => {})
            if (i % 5 === 0) ctx.run('hello.wasm').catch(() => {})
            if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1))
            if (i > 40) { await c.wait().catch(() => {}); await c.remove().catch(() => {}) }
          }
        })().catch(() => {})
      \`
      ;(async () => {
        for (let round = 0; round < 12; round++) {
          const dirs = [0, 1].map(() => {
            const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-stress-'))
            fs.mkdirSync(path.join(d, 'images'))
            for (const f of ['ticker.wasm', 'chatty.wasm', 'hello.wasm'])
              fs.copyFileSync(path.join(${JSON.stringify(path.join(ROOT, 'test', 'fixtures'))}, f), path.join(d, 'images', f))
            return d
          })
          const ws = dirs.map((d) => new Worker(code, { eval: true, workerData: d }))
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 150))
          await Promise.all(ws.map((w) => w.terminate()))
          for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
        }
        process.stdout.write('done')
      })()
    `
    const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
    assert.equal(res.signal, null, res.stderr)
    assert.equal(res.status, 0, res.stderr)
    assert.equal(res.stdout, 'done')
  })
})

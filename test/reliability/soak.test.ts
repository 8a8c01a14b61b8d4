// Issue #7 item 4: races and leaks. scripts/soak.mjs (on demand:
// `npm run soak -- --minutes 10`) runs the main thread and 4 worker threads,
// each hammering its own context with 4 concurrent random sequences of
// create/start/pause/unpause/kill/stop/wait/remove (a working directory can
// be open in one thread only, so "shared" means shared by the concurrent
// sequences of one thread — see docs/reliability.md), then 4,000 warm-up and
// 5,000 measured full lifecycles in a fresh child process while sampling RSS.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { ROOT, useContext } from '../helpers'

interface SoakSummary {
  lifecycles: number
  counts: Record<string, number>
  warnings: Record<string, number>
  knownDefects: Record<string, number>
  failures: string[]
  rss: { growth: number; warmup: { lifecycles: number; rss: number }; end: { lifecycles: number; rss: number }; samples: { lifecycles: number; rss: number }[] }
}

function soak(args: string[]): Promise<{ code: number | null; signal: string | null; summary: SoakSummary; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'scripts', 'soak.mjs'), '--json', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)))
    p.on('error', reject)
    p.on('close', (code, signal) => {
      try {
        resolve({ code, signal, stderr: err, summary: JSON.parse(out.trim().split('\n').pop() ?? '') as SoakSummary })
      } catch {
        reject(new Error(`soak.mjs printed no summary (exit ${signal ?? code}): ${out.slice(-2000)}\n${err.slice(-2000)}`))
      }
    })
  })
}

const MIB = 1024 * 1024

describe('reliability: races and leaks (soak)', function () {
  this.timeout(150_000)
  let result: Awaited<ReturnType<typeof soak>>

  before(async () => {
    result = await soak(['--seconds', '30', '--workers', '4', '--sequences', '4', '--lifecycles', '5000', '--seed', '7'])
    const s = result.summary
    console.log(`      soak: ${s.lifecycles} sequences, ${Object.values(s.counts).reduce((a, b) => a + b, 0)} calls`)
    console.log(`      RSS: ${s.rss.samples.map((x) => (x.rss / MIB).toFixed(0)).join(' ')} MiB; growth past warm-up ${(s.rss.growth * 100).toFixed(2)} %`)
    if (Object.keys(s.knownDefects).length) console.log(`      known defects seen: ${JSON.stringify(s.knownDefects)}`)
    if (Object.keys(s.warnings).length) console.log(`      process warnings: ${JSON.stringify(s.warnings)}`)
  })

  it('30 s of random lifecycle calls on 5 threads: no crash, no deadlock, every promise settled', () => {
    assert.deepEqual(result.summary.failures, [])
    assert.equal(result.signal, null, result.stderr)
    assert.equal(result.code, 0, result.stderr)
    assert.ok(result.summary.lifecycles > 100, `only ${result.summary.lifecycles} sequences`)
    // the calls really raced: both outcomes for the state-dependent operations
    for (const op of ['start', 'kill', 'pause', 'stop', 'wait']) {
      assert.ok(result.summary.counts[`${op} ok`] > 0, `${op} never succeeded`)
      assert.ok(result.summary.counts[`${op} ERR_OCRE_STATE`] > 0, `${op} never hit a wrong state`)
    }
    assert.equal(result.summary.counts['create BAD'] ?? 0, 0)
  })

  it('RSS after 5,000 full lifecycles grows less than 5 % past a 4,000-lifecycle warm-up', () => {
    const { rss } = result.summary
    assert.equal(rss.warmup.lifecycles, 4000)
    assert.equal(rss.end.lifecycles, 9000)
    assert.ok(rss.growth < 0.05, `RSS grew ${(rss.growth * 100).toFixed(2)} % (${rss.warmup.rss} -> ${rss.end.rss})`)
  })

  it('no process warnings', () => {
    assert.deepEqual(result.summary.warnings, {})
  })

  it('remove({ force: true }) always removes, also during an in-flight start() (was defect D1)', () => {
    assert.equal(Object.keys(result.summary.knownDefects).filter((k) => k.startsWith('D1')).length, 0)
  })

  // Defect D3 (rare, ~1 in 25,000 sequences, e.g. `npm run soak -- --seconds 30
  // --seed 7 --avoid-d2 --lifecycles 0`): a container the core has removed
  // ("container is not in this context") whose JavaScript object still says
  // removed === false, status 'stopped'; remove() then rejects with
  // ERR_OCRE_NOT_FOUND although it is documented idempotent.
  it('a container removed in the core is removed in JavaScript (was defect D3)', () => {
    assert.equal(Object.keys(result.summary.knownDefects).filter((k) => k.startsWith('D3')).length, 0)
  })
})

describe('reliability: known lifecycle defects (regressions kept for the fix)', () => {
  const t = useContext()

  // Defect D1: lib/container.ts Container.remove() decides whether to kill
  // from the JS status before waiting for an in-flight start() (kill, stop,
  // pause and wait do await it), so a forced remove right after start()
  // reaches the core while the container runs: ERR_OCRE_STATE "it is
  // running", and the container keeps running.
  it('remove({ force: true }) right after start() kills and removes (was defect D1)', async () => {
    for (const detached of [true, false]) {
      const c = await t.ctx.create({ image: 'sleeper.wasm', args: ['30'], detached, stdio: 'ignore' })
      const started = c.start()
      started.catch(() => {})
      await c.remove({ force: true })
      assert.equal(c.removed, true)
      assert.equal(t.ctx.size, 0)
    }
  })

  // Defect D2: lib/stdio.ts RunStdio#open opens /dev/null for stdio 'ignore'
  // with fs.openSync — which, in a worker thread, registers the fd as an
  // "unmanaged fd" of that worker — but closes it with binding.closeFd
  // (close(2)), so the worker never unregisters it. The next fs.openSync that
  // gets the same number warns "opened in unmanaged mode twice", and when the
  // worker exits Node closes every fd still registered: numbers that by then
  // belong to other threads' pipes and sockets. Seen in the soak as a SIGABRT
  // in libuv (uv__epoll_ctl_prep on a closed fd) when workers end.
  it("stdio 'ignore' in a worker leaves no stale unmanaged fd (was defect D2)", async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads')
      require('tsx/cjs/api').register()
      const { open } = require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))})
      const warnings = []
      process.on('warning', (w) => warnings.push(w.message))
      ;(async () => {
        const ctx = await open({ workdir: workerData.workdir })
        for (let i = 0; i < 3; i++) await ctx.run('trivial.wasm', { stdio: 'ignore' })
        const fs = require('node:fs')
        fs.closeSync(fs.openSync('/dev/null', 'r'))
        await ctx.close()
        setImmediate(() => parentPort.postMessage(warnings))
      })()
    `
    const workdir = t.workdir + '-d2'
    fs.mkdirSync(workdir + '/images', { recursive: true })
    fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'trivial.wasm'), workdir + '/images/trivial.wasm')
    const w = new Worker(code, { eval: true, workerData: { workdir }, execArgv: ['--no-warnings'] })
    const warnings = await new Promise((resolve) => w.once('message', resolve))
    await w.terminate()
    fs.rmSync(workdir, { recursive: true, force: true })
    assert.deepEqual(warnings, [])
  })
})

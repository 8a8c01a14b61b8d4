// Issue #7 item 5: the process (or a worker) ends while 20 containers run —
// busy looping, asleep in WASI, blocked reading an open stdin pipe, ticking,
// some paused. process.exit(), an uncaught exception, SIGTERM (with and
// without a handler) and worker.terminate(): the process is gone within a
// second (asserted < 3 s; the measured time is printed), with no core-dump
// signal and no hang. 60.exit-hook covers 10 containers for exit/throw/unref;
// 70.worker-threads covers terminate() with a few.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { type ChildResult, ROOT, makeWorkdir, removeWorkdir, runTsChild } from '../helpers'

const LIB = JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))

// Starts the 20-container mix in `workdir`; resolves with their statuses.
const MIX = `
async function mix(open, workdir) {
  const ctx = await open({ workdir })
  const cs = []
  for (let i = 0; i < 20; i++) {
    const image = ['spin.wasm', 'sleeper.wasm', 'cat.wasm', 'ticker.wasm'][i % 4]
    const c = await ctx.create({ image, detached: true, capabilities: ['filesystem'] })
    await c.start()
    c.stdout.resume()
    c.stderr.resume()
    if (i % 7 === 3) await c.pause()
    cs.push(c)
  }
  await new Promise((r) => setTimeout(r, 50))
  return cs.map((c) => c.status)
}
`

const CHILD = `
const { open } = require(${LIB})
const { Worker } = require('node:worker_threads')
${MIX}
const [workdir, mode] = process.argv.slice(1)
const ready = (states) => process.stdout.write('ready ' + states.join(',') + '\\n')
;(async () => {
  if (mode === 'worker-terminate' || mode === 'worker-exit') {
    const w = new Worker(\`
      const { parentPort, workerData } = require('node:worker_threads')
      require('tsx/cjs/api').register()
      const { open } = require(${LIB})
      \${${JSON.stringify(MIX)}}
      mix(open, workerData.workdir).then((states) => {
        parentPort.postMessage(states)
        if (workerData.mode === 'worker-exit') setTimeout(() => process.exit(7), 20)
      })
    \`, { eval: true, workerData: { workdir, mode } })
    const states = await new Promise((r) => w.once('message', r))
    ready(states)
    const t0 = performance.now()
    const code = mode === 'worker-terminate' ? await w.terminate() : await new Promise((r) => w.once('exit', r))
    process.stdout.write('worker-ended ' + code + ' ' + Math.round(performance.now() - t0) + '\\n')
    return // the main thread ends by itself: nothing may keep it alive
  }
  if (mode === 'sigterm-handler') process.on('SIGTERM', () => process.exit(143))
  ready(await mix(open, workdir))
  if (mode === 'exit') process.exit(5)
  if (mode === 'throw') throw new Error('boom')
  // sigterm*: the parent sends the signal after "ready"
})()
`

type Result = ChildResult

function runChild(workdir: string, mode: string, signalAfterReady?: NodeJS.Signals): Promise<Result> {
  return runTsChild(CHILD, [workdir, mode], { signalAfterReady })
}

const CORE_SIGNALS = ['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGQUIT', 'SIGSYS', 'SIGTRAP']

describe('reliability: process and worker exit with 20 running containers', function () {
  this.timeout(40_000)
  const dirs: string[] = []
  after(() => dirs.forEach(removeWorkdir))
  const dir = () => {
    const d = makeWorkdir()
    dirs.push(d)
    return d
  }

  function check(r: Result, what: string): void {
    console.log(`      ${what}: gone ${Math.round(r.afterReady)} ms after ready (code ${r.code}, signal ${r.signal})`)
    assert.match(r.stdout, /^ready /, `${what}: never got ready: ${r.stderr}`)
    const states = r.stdout.split('\n')[0].slice(6).split(',')
    assert.equal(states.length, 20)
    assert.ok(states.every((s) => s === 'running' || s === 'paused'), `states: ${states}`)
    assert.ok(!r.signal || !CORE_SIGNALS.includes(r.signal), `${what}: died of ${r.signal}`)
    assert.ok(r.afterReady < 3000, `${what}: took ${r.afterReady} ms`)
    assert.doesNotMatch(r.stderr, /Segmentation|Aborted|core dumped|FATAL|Assertion/i)
  }

  it('process.exit(5): exit code 5, private directories removed on the way out', async () => {
    const w = dir()
    const r = await runChild(w, 'exit')
    check(r, 'process.exit')
    assert.equal(r.code, 5)
    assert.deepEqual(fs.readdirSync(path.join(w, 'containers')), [])
  })

  it('an uncaught exception: exit code 1 with the error, private directories removed', async () => {
    const w = dir()
    const r = await runChild(w, 'throw')
    check(r, 'uncaught exception')
    assert.equal(r.code, 1)
    assert.match(r.stderr, /boom/)
    assert.deepEqual(fs.readdirSync(path.join(w, 'containers')), [])
  })

  it('SIGTERM without a handler: the process dies of SIGTERM at once; the workdir can be opened again', async () => {
    const w = dir()
    const r = await runChild(w, 'sigterm', 'SIGTERM')
    check(r, 'SIGTERM')
    assert.equal(r.signal, 'SIGTERM')
    // nothing of the dead process holds the working directory
    const { open } = await import('../../lib/index')
    const ctx = await open({ workdir: w })
    assert.equal((await ctx.run('hello.wasm')).exitCode, 0)
    await ctx.close()
  })

  it('SIGTERM with a handler that calls process.exit(143): code 143, containers killed and joined', async () => {
    const w = dir()
    const r = await runChild(w, 'sigterm-handler', 'SIGTERM')
    check(r, 'SIGTERM handler')
    assert.equal(r.code, 143)
    assert.deepEqual(fs.readdirSync(path.join(w, 'containers')), [])
  })

  it('worker.terminate() with 20 containers in the worker: prompt, and the process then ends by itself', async () => {
    const w = dir()
    const r = await runChild(w, 'worker-terminate')
    check(r, 'worker terminate')
    assert.equal(r.code, 0, r.stderr)
    const m = /worker-ended (\d+) (\d+)/.exec(r.stdout)
    assert.ok(m, r.stdout)
    console.log(`      terminate() took ${m[2]} ms`)
    assert.equal(m[1], '1')
    assert.ok(Number(m[2]) < 3000)
    assert.deepEqual(fs.readdirSync(path.join(w, 'containers')), [])
  })

  it('process.exit(7) inside the worker with 20 containers: the worker ends with 7, the process by itself', async () => {
    const w = dir()
    const r = await runChild(w, 'worker-exit')
    check(r, 'worker process.exit')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /worker-ended 7 /)
    assert.deepEqual(fs.readdirSync(path.join(w, 'containers')), [])
  })
})

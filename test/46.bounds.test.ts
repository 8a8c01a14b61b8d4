// Bounds checks of wasm memory accesses. On 64-bit targets the runtime is
// built with guard regions: an out-of-bounds access faults, and WAMR's SIGSEGV
// handler (installed after Node's, chained to it: native/runtime/wamr/patches/
// 0007) turns a fault in a container's memory into a trap and hands every
// other fault to Node's handler, which gives V8's own WebAssembly its traps.
// What must hold, whatever the build (software checks give the same results):
// every kind of out-of-bounds access traps the same way in both tiers; V8's
// out-of-bounds accesses still throw in the same process, on the main thread
// and in worker threads, while containers run and trap; a fault that is
// nobody's still kills the process with SIGSEGV.
import assert from 'node:assert/strict'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { compilerPath } from '../lib/aot'
import { binding } from '../lib/binding'
import type { RunResult } from '../lib/index'
import { ROOT, makeWorkdir, removeWorkdir, runTsChild, settles, useContext } from './helpers'

const NO_COMPILER =
  'the AOT compiler ocre-aotc was not built (LLVM 15 not found at build time; apt-get install llvm-15-dev)'

/** The part of the WebAssembly global these tests use (the TypeScript config has no DOM lib). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: Record<string, unknown> }
  RuntimeError: new (message?: string) => Error
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

/** (module (memory 1) (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))) */
const V8_MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01,
  0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x08, 0x01, 0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00, 0x0a, 0x09, 0x01,
  0x07, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0b,
])

/** V8's accesses: in bounds reads 0, out of bounds throws WebAssembly.RuntimeError. */
function v8Traps(times: number): number {
  const load = new WASM.Instance(new WASM.Module(V8_MODULE)).exports.load as (a: number) => number
  let traps = 0
  for (let i = 0; i < times; i++) {
    assert.equal(load(65532), 0)
    try {
      load(65533 + (i % 4096))
    } catch (err) {
      assert.ok(err instanceof WASM.RuntimeError, String(err))
      assert.match((err as Error).message, /memory access out of bounds/)
      traps++
    }
  }
  return traps
}

const MODES = ['load-end', 'store-end', 'far', 'offset', 'grow', 'host'] as const
const expected = (mode: string) => ({
  reason: 'trap',
  exitCode: 134,
  message: 'out of bounds memory access',
  stdout: `bounds: ${mode}\n${mode === 'grow' ? 'grew to 3 pages\n' : ''}`,
})
const observable = (r: RunResult) => ({
  reason: r.reason,
  exitCode: r.exitCode,
  message: r.message,
  stdout: r.stdout?.toString(),
})

describe('bounds checks (guard regions beside V8)', function () {
  this.timeout(120_000)
  const t = useContext()
  const compiler = compilerPath()
  const tiers: ('interpreter' | 'aot')[] = ['interpreter']

  before(async function () {
    if (!compiler) return
    await t.ctx.images.compile('bounds.wasm')
    await t.ctx.images.compile('bounds-empty.wasm')
    await t.ctx.images.compile('spin.wasm')
    await t.ctx.images.compile('trap.wasm')
    tiers.push('aot')
  })

  it('this build says how it checks: guard regions on x86_64 Linux, software elsewhere by default', () => {
    const { bounds } = binding.aotRuntime()
    assert.ok(bounds === 'guard' || bounds === 'software')
    if (process.platform === 'linux' && process.arch === 'x64' && !process.env.OCRE_SANITIZE) assert.equal(bounds, 'guard')
    if (process.arch === 'arm' || process.arch === 'arm64') assert.equal(bounds, 'software')
  })

  for (const tier of ['interpreter', 'aot'] as const) {
    it(`every kind of out-of-bounds access traps, the same in the ${tier} tier`, async function () {
      if (tier === 'aot' && !compiler) {
        console.log(`      skipped: ${NO_COMPILER}`)
        this.skip()
      }
      for (const mode of MODES) {
        const r = await t.ctx.run('bounds.wasm', { args: [mode], tier })
        assert.deepEqual(observable(r), expected(mode), `${tier} ${mode}`)
      }
      const empty = await t.ctx.run('bounds-empty.wasm', { tier })
      assert.deepEqual(observable(empty), { reason: 'trap', exitCode: 134, message: 'out of bounds memory access', stdout: '' })
      const ok = await t.ctx.run('bounds.wasm', { args: ['ok'], tier })
      assert.deepEqual(observable(ok), { reason: 'exit', exitCode: 0, message: undefined, stdout: 'bounds: ok\n' })
    })
  }

  it('memory.grow still stops at memoryLimit in both tiers', async () => {
    for (const tier of tiers) {
      const r = await t.ctx.run('trap.wasm', { args: ['grow'], memoryLimit: 4 << 20, tier })
      assert.deepEqual([r.reason, r.exitCode, r.stdout!.toString()], ['exit', 0, 'trap: grow\ngrew 62 pages\n'], tier)
    }
  })

  it("V8's own out-of-bounds accesses still throw on the main thread while containers spin and trap", async () => {
    const spinners = await Promise.all(
      tiers.map((tier) => t.ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore', tier })),
    )
    await Promise.all(spinners.map((c) => c.start()))
    const runs: Promise<RunResult>[] = []
    let traps = 0
    for (let round = 0; round < 20; round++) {
      for (const tier of tiers) runs.push(t.ctx.run('bounds.wasm', { args: [MODES[round % MODES.length]], tier }))
      traps += v8Traps(200)
      await new Promise((resolve) => setImmediate(resolve))
    }
    const results = await settles(Promise.all(runs), 'trapping containers')
    results.forEach((r, i) => assert.deepEqual(observable(r), expected(MODES[Math.floor(i / tiers.length) % MODES.length])))
    assert.equal(traps, 20 * 200)
    for (const c of spinners) {
      assert.equal(c.status, 'running')
      assert.deepEqual(await c.kill(), { exitCode: 137, reason: 'killed' })
      await c.remove()
    }
  })

  it("V8's out-of-bounds accesses throw in worker threads that run trapping containers at the same time", async () => {
    const lib = JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))
    const code = `
      const { parentPort, workerData } = require('node:worker_threads')
      require('tsx/cjs/api').register()
      const { open } = require(${lib})
      const bytes = Uint8Array.from(workerData.v8Module)
      const load = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.load
      ;(async () => {
        const ctx = await open({ workdir: workerData.workdir })
        const runs = []
        let traps = 0, wrong = 0
        for (let round = 0; round < 10; round++) {
          runs.push(ctx.run('bounds.wasm', { args: ['far'] }))
          for (let i = 0; i < 200; i++) {
            try { load(65536 + i); wrong++ } catch (e) {
              if (e instanceof WebAssembly.RuntimeError && /out of bounds/.test(e.message)) traps++
              else wrong++
            }
          }
          await new Promise((resolve) => setImmediate(resolve))
        }
        const results = await Promise.all(runs)
        await ctx.close()
        parentPort.postMessage({ traps, wrong, messages: [...new Set(results.map((r) => r.message))] })
      })().catch((e) => parentPort.postMessage({ error: e.message }))
    `
    const dirs = [makeWorkdir(), makeWorkdir()]
    try {
      const workers = dirs.map(
        (workdir) => new Worker(code, { eval: true, workerData: { workdir, v8Module: [...V8_MODULE] } }),
      )
      const done = workers.map((w) => new Promise((resolve, reject) => (w.once('message', resolve), w.once('error', reject))))
      const mainTraps = v8Traps(500) // the main thread meanwhile
      const results = await settles(Promise.all(done), 'workers', 60_000)
      for (const r of results) assert.deepEqual(r, { traps: 2000, wrong: 0, messages: ['out of bounds memory access'] })
      assert.equal(mainTraps, 500)
      await Promise.all(workers.map((w) => w.terminate()))
    } finally {
      dirs.forEach(removeWorkdir)
    }
  })

  it('a SIGSEGV that is nobody’s still kills the process (child process)', async () => {
    // the runtime's handler is installed and a container has trapped; then a
    // segmentation fault signal that no runtime claims: Node's handler must
    // get it (through the runtime's) and the process dies of it
    for (const signal of ['SIGSEGV', 'SIGBUS'] as const) {
      const workdir = makeWorkdir()
      try {
        const child = await runTsChild(
          `
          const { open } = require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))})
          ;(async () => {
            const ctx = await open({ workdir: process.argv[1] })
            const r = await ctx.run('bounds.wasm', { args: ['far'] })
            console.log(r.message)
            console.log('ready')
            process.kill(process.pid, process.argv[2])
            setTimeout(() => console.log('survived'), 5000)
          })()
          `,
          [workdir, signal],
        )
        assert.equal(child.signal, signal, child.stderr)
        assert.equal(child.stdout, 'out of bounds memory access\nready\n')
      } finally {
        removeWorkdir(workdir)
      }
    }
  })
})

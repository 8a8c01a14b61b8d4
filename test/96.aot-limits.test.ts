// AOT compiles of real sizes (issue 17, part 4): the time and memory
// budgets, progress, and the `auto` tier never waiting for a compile. The
// budget and waiting cases run a stand-in compiler (OCRE_AOTC, a script
// that hangs, grows, or reports progress and hangs), so they are
// deterministic and need no LLVM; the progress of the real compiler is
// checked when it is built.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { compilerPath, type CompileProgress } from '../lib/aot'
import type { Context } from '../lib/index'
import { makeWorkdir, processesWith, rejectsCode, rejectsType, removeWorkdir, settles } from './helpers'

const FAKE = `#!${process.execPath}
// stand-in for ocre-aotc (test/96.aot-limits.test.ts)
const fs = require('node:fs')
const mode = process.env.OCRE_FAKE_AOTC_MODE
const hang = () => setInterval(() => {}, 1 << 30)
if (mode === 'hang') hang()
else if (mode === 'grow') { globalThis.keep = Buffer.alloc(256 << 20, 1); hang() }
else if (mode === 'oom') { process.stderr.write('ocre-aotc: out of memory (--memory-limit=1)\\n'); process.exit(3) }
else if (mode === 'progress-hang') {
  for (let i = 1; i <= 4; i++) process.stderr.write('progress translate ' + i + ' 4\\n')
  process.stderr.write('progress optimize 0 4\\n')
  hang()
}
`

describe('AOT compile limits, progress and the auto tier', function () {
  this.timeout(60_000)
  let workdir: string
  let ctx: Context
  let fake: string
  const saved = process.env.OCRE_AOTC

  before(async () => {
    const { open } = await import('../lib/index')
    workdir = makeWorkdir('ocre-aot-limits-')
    ctx = await open({ workdir })
    fake = path.join(workdir, 'fake-aotc')
    fs.writeFileSync(fake, FAKE, { mode: 0o755 })
  })
  after(async () => {
    if (saved === undefined) delete process.env.OCRE_AOTC
    else process.env.OCRE_AOTC = saved
    delete process.env.OCRE_FAKE_AOTC_MODE
    await ctx?.close()
    removeWorkdir(workdir)
  })

  /** Run `fn` with the stand-in compiler in `mode`; then: it is gone, and nothing is left in images/.aot. */
  async function withFake(mode: string, fn: () => Promise<unknown>): Promise<void> {
    process.env.OCRE_AOTC = fake
    process.env.OCRE_FAKE_AOTC_MODE = mode
    try {
      await fn()
    } finally {
      if (saved === undefined) delete process.env.OCRE_AOTC
      else process.env.OCRE_AOTC = saved
    }
    assert.deepEqual(processesWith(fake), [], 'the compiler process is gone')
    assert.deepEqual(
      fs.readdirSync(path.join(workdir, 'images', '.aot')).filter((f) => f !== 'key'),
      [],
      'no artifact, record or temp file left',
    )
    assert.equal((await ctx.images.get('hello.wasm'))!.aot, null)
  }

  it('a compile past its time limit is stopped: ERR_OCRE_AOT_TIMEOUT', async () => {
    await withFake('hang', () =>
      rejectsCode(ctx.images.compile('hello.wasm', { timeLimit: 200 }), 'ERR_OCRE_AOT_TIMEOUT', /time limit \(200 ms\)/),
    )
  })

  it('a compiler over its memory limit is stopped: ERR_OCRE_AOT_MEMORY', async () => {
    await withFake('grow', () =>
      rejectsCode(
        ctx.images.compile('hello.wasm', { memoryLimit: 128 << 20 }),
        'ERR_OCRE_AOT_MEMORY',
        /more memory than its limit \(134217728 bytes\)/,
      ),
    )
  })

  it("the compiler's own out-of-memory exit (its --memory-limit) is ERR_OCRE_AOT_MEMORY too", async () => {
    await withFake('oom', () => rejectsCode(ctx.images.compile('hello.wasm'), 'ERR_OCRE_AOT_MEMORY'))
  })

  it('add({ aot }) with a time limit stores nothing when the compile is stopped', async () => {
    await withFake('hang', () =>
      rejectsCode(ctx.images.add('late.wasm', path.join(__dirname, 'fixtures', 'hello.wasm'), { aot: { timeLimit: 100 } }), 'ERR_OCRE_AOT_TIMEOUT'),
    )
    assert.equal(await ctx.images.has('late.wasm'), false)
  })

  it("tier 'auto' never waits for a compile in progress: the image runs in the interpreter meanwhile", async () => {
    await withFake('progress-hang', async () => {
      const ac = new AbortController()
      const seen: CompileProgress[] = []
      let compiling!: () => void
      const started = new Promise<void>((resolve) => (compiling = resolve))
      const compile = ctx.images.compile('hello.wasm', {
        signal: ac.signal,
        onProgress: (p) => {
          seen.push(p)
          if (p.phase === 'optimize') compiling()
        },
      })
      await started // the compiler is running (and never finishes by itself)
      const r = await settles(ctx.run('hello.wasm'), 'a run while the image compiles')
      assert.equal(r.exitCode, 0)
      assert.equal(r.stdout!.toString(), 'Hello from WebAssembly!\n')
      const c = await ctx.create({ image: 'hello.wasm' })
      assert.equal(c.tier, 'interpreter')
      await c.remove()
      ac.abort()
      await assert.rejects(compile, { name: 'AbortError' })
      assert.deepEqual(seen, [
        { phase: 'translate', done: 1, total: 4 },
        { phase: 'translate', done: 2, total: 4 },
        { phase: 'translate', done: 3, total: 4 },
        { phase: 'translate', done: 4, total: 4 },
        { phase: 'optimize', done: 0, total: 4 },
      ])
    })
  })

  it('an onProgress that throws stops the compile with its error', async () => {
    await withFake('progress-hang', () =>
      assert.rejects(
        ctx.images.compile('hello.wasm', {
          onProgress: () => {
            throw new Error('observer failed')
          },
        }),
        /observer failed/,
      ),
    )
  })

  it('option errors', async () => {
    await rejectsType(() => ctx.images.compile('hello.wasm', { opt: 4 as never }), TypeError, /options\.opt/)
    await rejectsType(() => ctx.images.compile('hello.wasm', { opt: 'fast' as never }), TypeError, /options\.opt/)
    await rejectsType(() => ctx.images.compile('hello.wasm', { memoryLimit: 0 }), RangeError, /options\.memoryLimit/)
    await rejectsType(() => ctx.images.compile('hello.wasm', { timeLimit: -1 }), RangeError, /options\.timeLimit/)
    await rejectsType(() => ctx.images.compile('hello.wasm', { onProgress: 'x' as never }), TypeError, /options\.onProgress/)
    await rejectsType(
      () => ctx.images.add('x.wasm', path.join(__dirname, 'fixtures', 'hello.wasm'), { aot: { onProgress: () => {} } as never }),
      TypeError,
      /onProgress/,
    )
  })

  it('the real compiler reports every function translated, then optimize and codegen; opt auto and forced', async function () {
    if (!compilerPath()) {
      console.log('      skipped: the AOT compiler ocre-aotc was not built (LLVM 15 not found at build time)')
      this.skip()
    }
    const seen: CompileProgress[] = []
    const aot = await ctx.images.compile('sha256.wasm', { onProgress: (p) => seen.push(p) })
    assert.equal(aot.opt, 3, 'a small module gets O3 under opt auto')
    const phases = seen.map((p) => p.phase).filter((p, i, a) => i === 0 || a[i - 1] !== p)
    assert.deepEqual(phases, ['translate', 'optimize', 'codegen'])
    const translate = seen.filter((p) => p.phase === 'translate')
    const total = translate[0].total
    assert.ok(total > 1)
    assert.ok(seen.every((p) => p.total === total))
    assert.deepEqual(translate.at(-1), { phase: 'translate', done: total, total })
    assert.ok(translate.every((p, i) => i === 0 || p.done > translate[i - 1].done))
    const o1 = await ctx.images.compile('sha256.wasm', { opt: 1 })
    assert.equal(o1.opt, 1)
    const r = await ctx.run('sha256.wasm', { args: ['1'] })
    assert.equal(r.stdout!.toString(), '06b7bbfb7824aa03382051691630eb26de85102d1b08a81e907ec0744cd8a286\n')
  })
})

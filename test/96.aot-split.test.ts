// Split AOT compiles (issue 17, part 4): a module compiled in several parts,
// each its own LLVM module and compiler process, merged by `ld.lld -r` into
// one normal WAMR AOT file. The real cases compile fixtures in 8 parts (so
// nearly every call and every call_indirect crosses parts) and compare them
// with the interpreter; the failure cases run a stand-in compiler
// (OCRE_AOTC) and linker (OCRE_LLD), so they are deterministic.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { compilerPath, type CompileProgress } from '../lib/aot'
import { linkerPath } from '../lib/aot-compiler'
import { createCompileProgress } from '../lib/cli/compile-progress'
import type { Context, RunOptions } from '../lib/index'
import {
  FIXTURES,
  makeWorkdir,
  observable,
  processesWith,
  rejectsCode,
  rejectsType,
  removeWorkdir,
  settles,
  waitForOutput,
} from './helpers'

const PARTS = 8

const FAKE = `#!${process.execPath}
// stand-in for ocre-aotc in a split compile (test/96.aot-split.test.ts)
const mode = process.env.OCRE_FAKE_AOTC_MODE
const part = (process.argv.find((a) => a.startsWith('--part=')) || '').slice(7)
const hang = () => setInterval(() => {}, 1 << 30)
if (mode === 'part-fail' && part.startsWith('1/')) {
  process.stderr.write('ocre-aotc: compilation failed: part one is broken\\n')
  process.exit(1)
}
if (mode === 'part-killed' && part.startsWith('1/')) process.kill(process.pid, 'SIGKILL')
if (mode === 'part-grow' && part.startsWith('0/')) globalThis.keep = Buffer.alloc(256 << 20, 1)
hang()
`

function aotc(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(compilerPath()!, args, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    )
  })
}

describe('AOT split compiles', function () {
  this.timeout(180_000)
  let workdir: string
  let ctx: Context
  const saved = { aotc: process.env.OCRE_AOTC, lld: process.env.OCRE_LLD, parts: process.env.OCRE_AOT_PARTS }

  function restoreEnv() {
    for (const [k, v] of [
      ['OCRE_AOTC', saved.aotc],
      ['OCRE_LLD', saved.lld],
      ['OCRE_AOT_PARTS', saved.parts],
    ] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }

  before(async () => {
    const { open } = await import('../lib/index')
    workdir = makeWorkdir('ocre-aot-split-')
    ctx = await open({ workdir })
  })
  after(async () => {
    restoreEnv()
    delete process.env.OCRE_FAKE_AOTC_MODE
    await ctx?.close()
    removeWorkdir(workdir)
  })

  it('parts and jobs are validated', async () => {
    await rejectsType(() => ctx.images.compile('hello.wasm', { parts: 0 }), RangeError, /options\.parts/)
    await rejectsType(() => ctx.images.compile('hello.wasm', { parts: 'many' as never }), TypeError, /options\.parts/)
    await rejectsType(() => ctx.images.compile('hello.wasm', { jobs: 0 }), RangeError, /options\.jobs/)
    await rejectsType(
      () => ctx.images.add('x.wasm', path.join(FIXTURES, 'hello.wasm'), { aot: { jobs: 1.5 } }),
      TypeError,
      /options\.aot\.jobs/,
    )
  })

  it('ocre image build shows a split compile as functions translated, then compiled (a line per 10 %)', () => {
    const lines: string[] = []
    const reporter = createCompileProgress('big.wasm', { write: (t: string) => lines.push(t) }, () => 0)
    for (let done = 0; done <= 100; done += 5) reporter.update({ phase: 'translate', done, total: 100 })
    for (let done = 0; done <= 100; done += 25) reporter.update({ phase: 'optimize', done, total: 100 })
    reporter.update({ phase: 'codegen', done: 0, total: 100 })
    reporter.update({ phase: 'codegen', done: 0, total: 100 })
    assert.deepEqual(lines, [
      ...Array.from({ length: 11 }, (_, i) => `big.wasm: translating functions ${i * 10}/100 (0 s)\n`),
      'big.wasm: optimizing 100 functions (LLVM) (0 s)\n',
      ...[25, 50, 75, 100].map((d) => `big.wasm: compiling functions ${d}/100 (0 s)\n`),
      'big.wasm: generating machine code for 100 functions (0 s)\n',
    ])
  })

  describe('failures (stand-in compiler and linker)', () => {
    let fake: string

    before(() => {
      fake = path.join(workdir, 'fake-aotc')
      fs.writeFileSync(fake, FAKE, { mode: 0o755 })
    })

    /** Run `fn` with the stand-in compiler in `mode` (a split compile); then: no process and nothing left in images/.aot. */
    async function withFake(mode: string, fn: () => Promise<unknown>): Promise<void> {
      process.env.OCRE_AOTC = fake
      process.env.OCRE_LLD = '/bin/true'
      process.env.OCRE_FAKE_AOTC_MODE = mode
      try {
        await fn()
      } finally {
        restoreEnv()
      }
      assert.deepEqual(processesWith(fake), [], 'every compiler process is gone')
      assert.deepEqual(
        fs.readdirSync(path.join(workdir, 'images', '.aot')).filter((f) => f !== 'key'),
        [],
        'no artifact, record, part object or temp file left',
      )
      assert.equal((await ctx.images.get('hello.wasm'))!.aot, null)
    }

    it('a part that fails fails the whole compile (ERR_OCRE_AOT_COMPILE with its reason); the others are killed', async () => {
      await withFake('part-fail', () =>
        rejectsCode(ctx.images.compile('hello.wasm', { parts: 4, jobs: 2 }), 'ERR_OCRE_AOT_COMPILE', /part one is broken/),
      )
    })

    it('a part killed from outside (e.g. by the OOM killer) fails the whole compile', async () => {
      await withFake('part-killed', () =>
        rejectsCode(ctx.images.compile('hello.wasm', { parts: 4, jobs: 2 }), 'ERR_OCRE_AOT_COMPILE', /killed by SIGKILL/),
      )
    })

    it('the memory limit bounds the parts together: ERR_OCRE_AOT_MEMORY, every part killed', async () => {
      await withFake('part-grow', () =>
        rejectsCode(
          ctx.images.compile('hello.wasm', { parts: 4, jobs: 2, memoryLimit: 128 << 20 }),
          'ERR_OCRE_AOT_MEMORY',
          /more memory than its limit \(134217728 bytes\)/,
        ),
      )
    })

    it('the time limit is the whole compile: ERR_OCRE_AOT_TIMEOUT, every part killed', async () => {
      await withFake('hang', () =>
        rejectsCode(ctx.images.compile('hello.wasm', { parts: 3, jobs: 3, timeLimit: 300 }), 'ERR_OCRE_AOT_TIMEOUT'),
      )
    })

    it('an abort kills every part', async () => {
      const ac = new AbortController()
      await withFake('hang', async () => {
        const p = ctx.images.compile('hello.wasm', { parts: 2, signal: ac.signal })
        setImmediate(() => ac.abort())
        await assert.rejects(p, { name: 'AbortError' })
      })
    })
  })

  describe('with the compiler and ld.lld', function () {
    const images = ['hello.wasm', 'exit-code.wasm', 'trap.wasm', 'spin.wasm', 'sha256.wasm']
    const progress = new Map<string, CompileProgress[]>()

    before(async function () {
      if (!compilerPath()) {
        console.log('      skipped: the AOT compiler ocre-aotc was not built (needs llvm-15-dev at build time)')
        this.skip()
      }
      if (!linkerPath()) {
        console.log('      skipped: ld.lld is not on PATH (Debian: apt-get install lld)')
        this.skip()
      }
      for (const name of images) {
        const seen: CompileProgress[] = []
        progress.set(name, seen)
        await ctx.images.compile(name, { parts: PARTS, jobs: 2, onProgress: (p) => seen.push(p) })
      }
    })

    it(`progress counts the functions over the ${PARTS} parts: translated, then compiled, then codegen`, () => {
      for (const [name, seen] of progress) {
        const total = seen[0]!.total
        assert.ok(total > PARTS, name)
        assert.ok(seen.every((p) => p.total === total))
        const phases = seen.map((p) => p.phase).filter((ph, i, a) => ph !== a[i - 1])
        assert.deepEqual(phases, ['translate', 'optimize', 'codegen'], name)
        for (const ph of ['translate', 'optimize'] as const) {
          const done = seen.filter((p) => p.phase === ph).map((p) => p.done)
          assert.deepEqual(done, [...done].sort((a, b) => a - b), `${name} ${ph}: monotonic`)
        }
        assert.equal(seen.filter((p) => p.phase === 'optimize').pop()!.done, total, `${name}: every function compiled`)
      }
    })

    const cases: [string, RunOptions][] = [
      ['hello.wasm', {}],
      ['exit-code.wasm', { args: ['7'] }],
      ['exit-code.wasm', { args: ['9', 'proc'] }],
      ['trap.wasm', { args: ['unreachable'] }],
      ['trap.wasm', { args: ['oob'] }],
      ['trap.wasm', { args: ['divzero'] }],
      ['trap.wasm', { args: ['stack'] }],
      ['trap.wasm', { args: ['cstack'] }],
      ['trap.wasm', { args: ['indirect'] }],
      ['trap.wasm', { args: ['malloc'], memoryLimit: 16 << 20 }],
      ['spin.wasm', { args: ['100000'] }],
      ['sha256.wasm', { args: ['1'] }],
    ]
    for (const [image, opts] of cases) {
      it(`${image} ${(opts.args ?? []).join(' ')}: the split artifact behaves as the interpreter`, async () => {
        const aot = await ctx.run(image, { ...opts, tier: 'aot' })
        const interp = await ctx.run(image, { ...opts, tier: 'interpreter' })
        assert.deepEqual(observable(aot), observable(interp))
      })
    }

    it('kill ends a busy loop in a split artifact', async () => {
      const c = await ctx.create({ image: 'spin.wasm', tier: 'aot', detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
      assert.equal(c.tier, 'aot')
      await c.start()
      await settles(waitForOutput(c.stdout!, /spinning/), 'spinning')
      const r = await settles(c.kill(), 'kill')
      assert.deepEqual([r.reason, r.exitCode], ['killed', 137])
      await c.remove()
    })

    it('the split artifact is a different AOT file from the one-part one, with the same behaviour', async () => {
      const split = (await ctx.images.get('trap.wasm'))!.aot!
      const whole = await ctx.images.compile('trap.wasm', { parts: 1 })
      assert.notEqual(whole.sha256, split.sha256)
      const r = await ctx.run('trap.wasm', { args: ['indirect'], tier: 'aot' })
      assert.equal(r.reason, 'trap')
    })

    it('without ld.lld a module is compiled in one part, with a warning printed once', async () => {
      const warnings: Error[] = []
      const onWarning = (w: Error) => warnings.push(w)
      process.on('warning', onWarning)
      process.env.OCRE_LLD = ''
      try {
        const seen: CompileProgress[] = []
        await ctx.images.compile('hello.wasm', { parts: 4, onProgress: (p) => seen.push(p) })
        await ctx.images.compile('exit-code.wasm', { parts: 4 })
        assert.ok(
          seen.filter((p) => p.phase === 'optimize').every((p) => p.done === 0),
          'one LLVM module: optimize reported once, done 0',
        )
      } finally {
        restoreEnv()
        await new Promise((r) => setImmediate(r))
        process.off('warning', onWarning)
      }
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'OCRE_AOT_NO_LINKER')
      assert.equal(ours.length, 1)
      assert.match(ours[0]!.message, /ld\.lld was not found/)
      assert.equal((await ctx.run('hello.wasm', { tier: 'aot' })).exitCode, 0)
    })

    it('ocre-aotc refuses bad --part/--object use (usage: exit 2; a missing object: exit 1)', async () => {
      const wasm = path.join(FIXTURES, 'hello.wasm')
      const out = path.join(workdir, 'out.bin')
      for (const bad of [['--part=4/4'], ['--part=1'], ['--part=0/0'], ['--part=0/2', '--object=x.o']]) {
        const r = await aotc([...bad, wasm, out])
        assert.equal(r.code, 2, bad.join(' '))
        assert.match(r.stderr, /usage:/)
      }
      const r = await aotc([`--object=${path.join(workdir, 'missing.o')}`, wasm, out])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /cannot read .*missing\.o/)
      assert.equal(fs.existsSync(out), false)
    })
  })
})

// The AOT tier: images compiled to native code by ocre-aotc (built only when
// LLVM 15 was present at build time). Without the compiler, the cases that
// need it are skipped with the reason; the rest (errors, validation, the
// interpreter fallback) always run.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { compilerPath } from '../lib/aot'
import { binding } from '../lib/binding'
import type { Context, RunOptions, RunResult } from '../lib/index'
import { FIXTURES, makeWorkdir, rejectsCode, rejectsType, removeWorkdir, waitForOutput, settles } from './helpers'

const NO_COMPILER =
  'the AOT compiler ocre-aotc was not built (LLVM 15 not found at build time; apt-get install llvm-15-dev)'
const compiler = compilerPath()

/** (module (func (result v128) v128.const i64x2 0 0)): valid for V8, not for WAMR built without SIMD. */
const SIMD_MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array(16).fill(0), 0x0b,
])

/** What must be identical in both tiers. */
function observable(r: RunResult) {
  return {
    exitCode: r.exitCode,
    reason: r.reason,
    message: r.message,
    stdout: r.stdout?.toString('latin1'),
    stderr: r.stderr?.toString('latin1'),
  }
}

function runCompiler(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(compiler!, args, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    )
  })
}

describe('AOT tier', function () {
  this.timeout(120_000)
  let workdir: string
  let ctx: Context

  before(async () => {
    const { open } = await import('../lib/index')
    workdir = makeWorkdir('ocre-aot-')
    ctx = await open({ workdir })
  })
  after(async () => {
    await ctx?.close()
    removeWorkdir(workdir)
  })

  describe('without an artifact (always)', () => {
    it('tier validation: a TypeError for an unknown tier, before anything is created', async () => {
      await rejectsType(() => ctx.create({ image: 'hello.wasm', tier: 'jit' as never }), TypeError, /options\.tier/)
      await rejectsType(() => ctx.run('hello.wasm', { tier: 3 as never }), TypeError, /options\.tier/)
      assert.equal(ctx.size, 0)
    })

    it("tier 'auto' (the default) and 'interpreter' interpret an image without an artifact; 'aot' refuses it", async () => {
      const a = await ctx.create({ image: 'hello.wasm' })
      assert.equal(a.tier, 'interpreter')
      await a.remove()
      const i = await ctx.create({ image: 'hello.wasm', tier: 'interpreter' })
      assert.equal(i.tier, 'interpreter')
      await i.remove()
      await rejectsCode(ctx.create({ image: 'hello.wasm', tier: 'aot' }), 'ERR_OCRE_NO_AOT', /has no AOT artifact/)
      assert.equal(ctx.size, 0)
      assert.equal((await ctx.images.get('hello.wasm'))!.aot, null)
    })

    it('a missing compiler: compile() and add({ aot }) fail with ERR_OCRE_NO_COMPILER and store nothing', async () => {
      const saved = process.env.OCRE_AOTC
      process.env.OCRE_AOTC = path.join(os.tmpdir(), 'no-such-ocre-aotc')
      try {
        await rejectsCode(ctx.images.compile('hello.wasm'), 'ERR_OCRE_NO_COMPILER', /llvm-15-dev/)
        await rejectsCode(
          ctx.images.add('new-hello.wasm', path.join(FIXTURES, 'hello.wasm'), { aot: true }),
          'ERR_OCRE_NO_COMPILER',
        )
        assert.equal((await ctx.images.has('new-hello.wasm')), false)
        assert.equal((await ctx.images.get('hello.wasm'))!.aot, null)
        assert.deepEqual(
          fs.readdirSync(path.join(workdir, 'images', '.aot')).filter((f) => f !== 'key'),
          [],
          'no temp files left',
        )
      } finally {
        if (saved === undefined) delete process.env.OCRE_AOTC
        else process.env.OCRE_AOTC = saved
      }
    })

    it('compile() argument errors', async () => {
      await rejectsCode(ctx.images.compile('nope.wasm'), 'ERR_OCRE_IMAGE_NOT_FOUND')
      await rejectsCode(ctx.images.compile('Bad'), 'ERR_OCRE_INVALID_NAME')
      await rejectsType(() => ctx.images.compile('hello.wasm', { cpu: 'a b' }), TypeError, /options\.cpu/)
      await rejectsType(() => ctx.images.compile('hello.wasm', { gpu: 1 } as never), TypeError, /gpu/)
      await rejectsType(
        () => ctx.images.add('x.wasm', path.join(FIXTURES, 'hello.wasm'), { aot: 'yes' as never }),
        TypeError,
        /options\.aot/,
      )
    })
  })

  describe('with the compiler', function () {
    const compiled = [
      'trivial.wasm',
      'hello.wasm',
      'exit-code.wasm',
      'args-env.wasm',
      'trap.wasm',
      'spin.wasm',
      'sleeper.wasm',
      'ticker.wasm',
      'cat.wasm',
      'stdin-close.wasm',
      'fs.wasm',
      'chatty.wasm',
      'sha256.wasm',
      'net.wasm',
      'ocre-api.wasm',
      'memkeep.wasm',
    ]

    before(async function () {
      if (!compiler) {
        console.log(`      skipped: ${NO_COMPILER}`)
        this.skip()
      }
      // two at a time: the machine has two cores
      const queue = [...compiled]
      await Promise.all(
        [0, 1].map(async () => {
          for (let name = queue.shift(); name; name = queue.shift()) await ctx.images.compile(name)
        }),
      )
    })

    it('list() shows the artifacts: ready, x86-64, bound to the WAMR version', async () => {
      const byName = new Map((await ctx.images.list()).map((i) => [i.name, i]))
      for (const name of compiled) {
        const aot = byName.get(name)!.aot
        assert.ok(aot, name)
        assert.equal(aot.status, 'ready', `${name}: ${aot.reason}`)
        assert.equal(aot.cpu, 'x86-64')
        assert.equal(aot.wamr, '1.1.2')
        assert.match(aot.sha256, /^[0-9a-f]{64}$/)
        assert.equal(fs.statSync(aot.path).mode & 0o777, 0o600, 'owner-only')
        assert.ok(aot.size > 0)
      }
      assert.equal(fs.statSync(path.join(workdir, 'images', '.aot')).mode & 0o777, 0o700)
      assert.equal(fs.statSync(path.join(workdir, 'images', '.aot', 'key')).mode & 0o777, 0o600)
    })

    const cases: [string, RunOptions][] = [
      ['trivial.wasm', {}],
      ['hello.wasm', {}],
      ['exit-code.wasm', { args: ['7'] }],
      ['exit-code.wasm', { args: ['9', 'proc'] }],
      ['exit-code.wasm', { args: ['0', 'proc'] }],
      ['args-env.wasm', { args: ['a b', '', 'ü'], env: { K: 'v', EMPTY: '' } }],
      ['trap.wasm', { args: ['unreachable'] }],
      ['trap.wasm', { args: ['oob'] }],
      ['trap.wasm', { args: ['divzero'] }],
      ['trap.wasm', { args: ['stack'] }],
      ['trap.wasm', { args: ['cstack'] }],
      ['trap.wasm', { args: ['indirect'] }],
      ['trap.wasm', { args: ['grow'], memoryLimit: 8 << 20 }],
      ['trap.wasm', { args: ['malloc'], memoryLimit: 16 << 20 }],
      ['trap.wasm', { args: ['nonsense'] }],
      ['spin.wasm', { args: ['100000'] }],
      ['sleeper.wasm', { args: ['0.05'] }],
      ['ticker.wasm', { args: ['5', '3'] }],
      ['cat.wasm', { input: 'line one\nline two\n' }],
      ['stdin-close.wasm', { input: Buffer.alloc(100_000, 7) }],
      ['chatty.wasm', { args: ['2000'] }],
      ['sha256.wasm', { args: ['1'] }],
      ['fs.wasm', { args: ['write', '/note', 'hi'], capabilities: ['filesystem'] }],
      ['fs.wasm', { args: ['read', '/missing'], capabilities: ['filesystem'] }],
      ['net.wasm', { args: ['connect', '127.0.0.1', '9', 'x'] }],
      ['ocre-api.wasm', { capabilities: ['ocre:api'] }],
      ['ocre-api.wasm', {}],
      // the idle trim (pages handed back during a long sleep) keeps AOT memory intact too
      ['memkeep.wasm', { args: ['1.1'] }],
    ]
    for (const [image, opts] of cases) {
      it(`${image} ${(opts.args ?? []).join(' ')}: identical stdout, stderr, exit code, reason and message`, async () => {
        const aot = await ctx.run(image, { ...opts, tier: 'aot' })
        const interp = await ctx.run(image, { ...opts, tier: 'interpreter' })
        assert.deepEqual(observable(aot), observable(interp))
      })
    }

    it('net: a connection through the networking capability reads the same in both tiers', async () => {
      const server = net.createServer((s) => s.once('data', (d) => s.end(`echo:${d}`)))
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const port = String((server.address() as net.AddressInfo).port)
      try {
        const opts: RunOptions = { args: ['connect', '127.0.0.1', port, 'ping'], capabilities: ['networking'] }
        const aot = await ctx.run('net.wasm', { ...opts, tier: 'aot' })
        const interp = await ctx.run('net.wasm', { ...opts, tier: 'interpreter' })
        assert.equal(aot.stdout?.toString(), 'echo:ping')
        assert.deepEqual(observable(aot), observable(interp))
      } finally {
        server.close()
      }
    })

    it("tier 'auto' picks the artifact; the container says so", async () => {
      const c = await ctx.create({ image: 'hello.wasm' })
      assert.equal(c.tier, 'aot')
      await c.remove()
    })

    it('kill ends an AOT busy loop (no host calls), repeatedly', async () => {
      for (let i = 0; i < 5; i++) {
        const c = await ctx.create({ image: 'spin.wasm', tier: 'aot', detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
        await c.start()
        await settles(waitForOutput(c.stdout!, /spinning/), 'spinning')
        const r = await settles(c.kill(), 'kill') // (latency: bench/aot.mjs)
        assert.deepEqual([r.reason, r.exitCode], ['killed', 137])
        await c.remove()
      }
    })

    it('kill, pause/unpause and stop act on AOT containers in host calls', async () => {
      // asleep in poll_oneoff
      const s = await ctx.create({ image: 'sleeper.wasm', args: ['60'], tier: 'aot', detached: true })
      await s.start()
      s.stderr!.resume()
      await settles(waitForOutput(s.stdout!, /sleeping/), 'sleeping')
      assert.equal((await settles(s.kill(), 'kill sleeper')).reason, 'killed')
      await s.remove()
      // blocked on stdin: stop() makes stdin read end-of-file, it exits 0
      const cat = await ctx.create({ image: 'cat.wasm', tier: 'aot', detached: true })
      await cat.start()
      cat.stderr!.resume()
      cat.stdin!.write('abc')
      await settles(waitForOutput(cat.stdout!, /abc/), 'echo')
      const r = await settles(cat.stop({ timeout: 5000 }), 'stop cat')
      assert.deepEqual([r.reason, r.exitCode], ['exit', 0])
      await cat.remove()
      // a ticker parks at its next host call while paused
      const t = await ctx.create({ image: 'ticker.wasm', args: ['5'], tier: 'aot', detached: true })
      await t.start()
      t.stderr!.resume()
      let last = -1
      t.stdout!.on('data', (d) => {
        for (const m of String(d).matchAll(/tick (\d+)\n/g)) last = Number(m[1])
      })
      await settles(waitForOutput(t.stdout!, /tick 2\n/), 'ticking')
      await t.pause()
      assert.equal(t.status, 'paused')
      // (that nothing is printed while paused is measured in bench/timing.mjs)
      await t.unpause()
      const resumed = last + 2
      await settles(waitForOutput(t.stdout!, new RegExp(`tick ${resumed}\\n`)), 'runs again after unpause')
      assert.equal((await settles(t.kill(), 'kill ticker')).reason, 'killed')
      await t.remove()
    })

    it('a tampered artifact is refused (ERR_OCRE_AOT_REJECTED); only the interpreter tier runs the image', async () => {
      await ctx.images.compile('exit-code.wasm')
      const aot = (await ctx.images.get('exit-code.wasm'))!.aot!
      const bytes = fs.readFileSync(aot.path)
      bytes[bytes.length >> 1] ^= 0x40
      fs.writeFileSync(aot.path, bytes)
      const listed = (await ctx.images.get('exit-code.wasm'))!.aot!
      assert.equal(listed.status, 'rejected')
      assert.match(listed.reason!, /tampered/)
      await rejectsCode(ctx.create({ image: 'exit-code.wasm' }), 'ERR_OCRE_AOT_REJECTED', /tampered/)
      await rejectsCode(ctx.create({ image: 'exit-code.wasm', tier: 'aot' }), 'ERR_OCRE_AOT_REJECTED')
      const r = await ctx.run('exit-code.wasm', { args: ['3'], tier: 'interpreter' })
      assert.equal(r.exitCode, 3)
      // recompiling replaces it, atomically, and removes the old file
      const fresh = await ctx.images.compile('exit-code.wasm')
      assert.equal(fresh.status, 'ready')
      assert.equal((await ctx.run('exit-code.wasm', { args: ['4'], tier: 'aot' })).exitCode, 4)
      const left = fs.readdirSync(path.join(workdir, 'images', '.aot')).filter((f) => f.startsWith('exit-code.wasm.'))
      assert.deepEqual(left.sort(), [path.basename(fresh.path), 'exit-code.wasm.meta'].sort())
    })

    it('an artifact from another store (foreign key) is refused, even with its record', async () => {
      const other = makeWorkdir('ocre-aot-other-')
      const { open } = await import('../lib/index')
      const ctx2 = await open({ workdir: other })
      try {
        const info = await ctx2.images.compile('args-env.wasm')
        const aotDir = path.join(workdir, 'images', '.aot')
        await ctx.images.compile('args-env.wasm') // so that a record exists to overwrite
        fs.copyFileSync(info.path, path.join(aotDir, path.basename(info.path)))
        fs.chmodSync(path.join(aotDir, path.basename(info.path)), 0o600)
        fs.copyFileSync(path.join(other, 'images', '.aot', 'args-env.wasm.meta'), path.join(aotDir, 'args-env.wasm.meta'))
        assert.equal((await ctx.images.get('args-env.wasm'))!.aot!.status, 'rejected')
        await rejectsCode(ctx.create({ image: 'args-env.wasm' }), 'ERR_OCRE_AOT_REJECTED', /MAC mismatch/)
        assert.equal((await ctx.run('args-env.wasm', { tier: 'interpreter' })).exitCode, 0)
      } finally {
        await ctx2.close()
        removeWorkdir(other)
      }
      await ctx.images.compile('args-env.wasm')
      assert.equal((await ctx.images.get('args-env.wasm'))!.aot!.status, 'ready')
    })

    it('an artifact readable by others is refused', async () => {
      const info = await ctx.images.compile('trivial.wasm')
      fs.chmodSync(info.path, 0o644)
      assert.equal((await ctx.images.get('trivial.wasm'))!.aot!.status, 'rejected')
      await rejectsCode(ctx.create({ image: 'trivial.wasm' }), 'ERR_OCRE_AOT_REJECTED', /private/)
      await ctx.images.compile('trivial.wasm')
      assert.equal((await ctx.run('trivial.wasm', { tier: 'aot' })).exitCode, 0)
    })

    it('replacing an image makes its artifact go (stale → interpreter); remove() deletes it', async () => {
      await ctx.images.add('swap.wasm', path.join(FIXTURES, 'hello.wasm'), { aot: true })
      assert.equal((await ctx.images.get('swap.wasm'))!.aot!.status, 'ready')
      const first = await ctx.create({ image: 'swap.wasm' })
      assert.equal(first.tier, 'aot')
      await first.remove()
      const replaced = await ctx.images.add('swap.wasm', path.join(FIXTURES, 'exit-code.wasm'), { replace: true })
      assert.equal(replaced.aot, null)
      const c = await ctx.create({ image: 'swap.wasm' })
      assert.equal(c.tier, 'interpreter')
      await c.remove()
      await ctx.images.add('swap.wasm', path.join(FIXTURES, 'hello.wasm'), { replace: true, aot: true })
      await ctx.images.remove('swap.wasm')
      assert.deepEqual(
        fs.readdirSync(path.join(workdir, 'images', '.aot')).filter((f) => f.startsWith('swap.wasm')),
        [],
      )
    })

    it('pull(url, { aot: true }) compiles what it downloads', async () => {
      const body = fs.readFileSync(path.join(FIXTURES, 'hello.wasm'))
      const server = http.createServer((_req, res) => res.end(body))
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      try {
        const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/pulled.wasm`
        const info = await ctx.images.pull(url, { aot: { cpu: 'x86-64' } })
        assert.equal(info.aot?.status, 'ready')
        const r = await ctx.run('pulled.wasm', { tier: 'aot' })
        assert.equal(r.stdout?.toString(), 'Hello from WebAssembly!\n')
        await ctx.images.remove('pulled.wasm')
      } finally {
        server.close()
      }
    })

    it('an image changed behind the store keeps a stale artifact that is not used', async () => {
      await ctx.images.add('drift.wasm', path.join(FIXTURES, 'hello.wasm'), { aot: true })
      fs.copyFileSync(path.join(FIXTURES, 'trivial.wasm'), path.join(workdir, 'images', 'drift.wasm'))
      const aot = (await ctx.images.get('drift.wasm'))!.aot!
      assert.equal(aot.status, 'stale')
      assert.match(aot.reason!, /another version of the image/)
      const c = await ctx.create({ image: 'drift.wasm' })
      assert.equal(c.tier, 'interpreter')
      await c.remove()
      await rejectsCode(ctx.create({ image: 'drift.wasm', tier: 'aot' }), 'ERR_OCRE_NO_AOT', /another version/)
      await ctx.images.remove('drift.wasm')
    })

    it("--cpu native: bound to this machine's CPU, runs the same", async () => {
      const info = await ctx.images.compile('sha256.wasm', { cpu: 'native' })
      assert.equal(info.status, 'ready')
      assert.notEqual(info.cpu, 'x86-64')
      const r = await ctx.run('sha256.wasm', { args: ['1'], tier: 'aot' })
      assert.equal(r.stdout?.toString(), '06b7bbfb7824aa03382051691630eb26de85102d1b08a81e907ec0744cd8a286\n')
      await ctx.images.compile('sha256.wasm')
    })

    it('compiling a module WAMR cannot compile fails cleanly, storing nothing', async () => {
      await rejectsCode(
        ctx.images.add('simd.wasm', SIMD_MODULE, { aot: true }),
        'ERR_OCRE_AOT_COMPILE',
        /AOT compilation failed: invalid module/,
      )
      assert.equal((await ctx.images.has('simd.wasm')), false)
      await ctx.images.add('simd.wasm', SIMD_MODULE)
      await rejectsCode(ctx.images.compile('simd.wasm'), 'ERR_OCRE_AOT_COMPILE')
      assert.equal((await ctx.images.get('simd.wasm'))!.aot, null)
      await ctx.images.remove('simd.wasm')
      const tmp = fs.readdirSync(path.join(workdir, 'images', '.aot')).filter((f) => f.startsWith('.tmp-'))
      assert.deepEqual(tmp, [])
    })

    it('the compiler itself: bad input is an error with a reason and no output file; --cpu native works', async () => {
      const out = path.join(os.tmpdir(), `ocre-aotc-test-${process.pid}.aot`)
      const crasher = path.join(FIXTURES, 'regress', fs.readdirSync(path.join(FIXTURES, 'regress')).find((f) => f.endsWith('.wasm'))!)
      for (const input of [path.join(FIXTURES, 'README.md'), crasher, '/nonexistent.wasm']) {
        const r = await runCompiler([input, out])
        assert.notEqual(r.code, 0, input)
        assert.match(r.stderr, /^ocre-aotc: /)
        assert.equal(r.stdout, '')
        assert.equal(fs.existsSync(out), false)
      }
      assert.equal((await runCompiler(['--bogus', 'a', 'b'])).code, 2)
      const ok = await runCompiler(['--cpu=native', path.join(FIXTURES, 'trivial.wasm'), out])
      assert.equal(ok.code, 0, ok.stderr)
      const result = JSON.parse(ok.stdout)
      assert.equal(result.bounds, binding.aotRuntime().bounds) // guard regions or software, as the runtime
      assert.equal(result.threadMgr, true)
      assert.equal(fs.statSync(out).mode & 0o777, 0o600)
      fs.rmSync(out)
    })

    it('an AOT artifact dropped into images/ as an image is refused (native code never loads from there)', async () => {
      const aot = (await ctx.images.get('hello.wasm'))!.aot!
      fs.copyFileSync(aot.path, path.join(workdir, 'images', 'native.wasm'))
      await rejectsCode(ctx.create({ image: 'native.wasm', tier: 'interpreter' }), 'ERR_OCRE_INVALID_IMAGE')
      fs.rmSync(path.join(workdir, 'images', 'native.wasm'))
    })
  })
})

// ctx.run() at its limits: arguments larger than the memory limit, output
// larger than maxBuffer. Each settles with a clear error and leaves no fd.
// Also how run() reads piped output: kept by the engine (OCRE_STDIO_CAPTURE),
// a pipe to the program all the same.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { binding, type NativeContainer } from '../lib/binding'
import { type MaxBufferError, OcreError, type RunOptions } from '../lib/index'
import { makeWorkdir, rejectsCode, rejectsType, removeWorkdir, useContext, settles } from './helpers'

const fdCount = () => fs.readdirSync('/proc/self/fd').length

describe('run() limits', () => {
  const t = useContext()

  describe('arguments and environment larger than the memory limit', () => {
    it('run() rejects with ERR_OCRE_INVALID_ARGUMENT, every time, and leaks no fd', async () => {
      const big = 'x'.repeat(2 * 1024 * 1024)
      await t.ctx.run('hello.wasm') // warm: the image's verdict and module are cached
      const before = fdCount()
      const cases: RunOptions[] = [{ args: [big] }, { env: { BIG: big } }, { args: ['a'], env: { A: big.slice(0, 600_000), B: big.slice(0, 600_000) } }]
      for (const options of cases) {
        const err = await settles(
          rejectsCode(t.ctx.run('hello.wasm', { ...options, memoryLimit: 1024 * 1024 }), 'ERR_OCRE_INVALID_ARGUMENT'),
          'run()',
        )
        assert.ok(err instanceof OcreError)
        assert.match(err.message, /arguments and environment take \d+ bytes, more than its memory limit of 1048576 bytes/)
      }
      assert.equal(fdCount(), before)
      assert.equal(t.ctx.size, 0, 'nothing was left behind')
    })

    it('create() rejects the same way; a limit they fit in is accepted', async () => {
      const args = ['y'.repeat(200_000)]
      await rejectsCode(t.ctx.create({ image: 'hello.wasm', args, memoryLimit: 65536 }), 'ERR_OCRE_INVALID_ARGUMENT')
      const c = await t.ctx.create({ image: 'args-env.wasm', args, memoryLimit: 4 * 1024 * 1024 })
      assert.equal(c.memoryLimit, 4 * 1024 * 1024)
      await c.remove()
    })
  })

  describe('maxBuffer', () => {
    it('defaults to 1 MiB: an endless writer is killed, run() rejects with ERR_OCRE_MAX_BUFFER and the first 1 MiB', async () => {
      // streams of earlier files' runs close on their own events: give the loop turns first
      for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r))
      const before = fdCount()
      const err = (await settles(
        rejectsCode(t.ctx.run('chatty.wasm', { args: ['1000000000'] }), 'ERR_OCRE_MAX_BUFFER', /^stderr maxBuffer length exceeded \(1048576 bytes\): container [0-9a-f]{8} was killed$/),
        'run()',
        20_000,
      )) as MaxBufferError
      assert.ok(err instanceof OcreError)
      assert.equal(err.stream, 'stderr')
      assert.deepEqual(err.result, { exitCode: 137, reason: 'killed' })
      assert.equal(err.stderr?.length, 1024 * 1024)
      assert.ok(err.stderr?.subarray(0, 14).equals(Buffer.from('line 0\nline 1\n')))
      assert.equal(err.stdout?.length, 0)
      assert.equal(t.ctx.size, 0, 'the container was removed')
      // no more than before (an earlier file's stream may still close meanwhile)
      assert.ok(fdCount() <= before, `fds: ${before} -> ${fdCount()}`)
    })

    it('counts each stream on its own: exactly maxBuffer bytes pass, one more fails', async () => {
      const { stdout } = await t.ctx.run('hello.wasm')
      assert.ok(stdout && stdout.length > 1)
      const exact = await t.ctx.run('hello.wasm', { maxBuffer: stdout.length })
      assert.deepEqual(exact.stdout, stdout)
      const err = (await rejectsCode(t.ctx.run('hello.wasm', { maxBuffer: stdout.length - 1 }), 'ERR_OCRE_MAX_BUFFER')) as MaxBufferError
      assert.equal(err.stream, 'stdout')
      assert.deepEqual(err.stdout, stdout.subarray(0, stdout.length - 1))
    })

    it('Infinity keeps everything; streams not piped are not counted', async () => {
      const r = await t.ctx.run('chatty.wasm', { args: ['200000'], maxBuffer: Infinity })
      assert.equal(r.exitCode, 0)
      assert.ok(r.stderr && r.stderr.length > 2 * 1024 * 1024)
      const ignored = await t.ctx.run('chatty.wasm', { args: ['200000'], maxBuffer: 10, stdio: ['pipe', 'pipe', 'ignore'] })
      assert.equal(ignored.exitCode, 0)
      assert.equal(ignored.stderr, undefined)
    })

    it('0 reads through streams as before: any byte is over, no output is fine', async () => {
      const err = (await rejectsCode(t.ctx.run('hello.wasm', { maxBuffer: 0 }), 'ERR_OCRE_MAX_BUFFER')) as MaxBufferError
      assert.equal(err.stream, 'stdout')
      assert.equal(err.stdout?.length, 0)
      const r = await t.ctx.run('trivial.wasm', { maxBuffer: 0 })
      assert.equal(r.exitCode, 0)
      assert.equal(r.stdout?.length, 0)
      assert.equal(r.stderr?.length, 0)
    })

    it("errors that come after the run (over maxBuffer, aborted) carry the caller's stack, also a non-async caller's", async () => {
      function plainRunCaller(options: RunOptions, image = 'hello.wasm') {
        return t.ctx.run(image, options)
      }
      const over = await rejectsCode(plainRunCaller({ maxBuffer: 1 }), 'ERR_OCRE_MAX_BUFFER') // engine capture
      const streamed = await rejectsCode(plainRunCaller({ maxBuffer: 0 }), 'ERR_OCRE_MAX_BUFFER') // streams
      const ac = new AbortController()
      const p = plainRunCaller({ signal: ac.signal, stdio: 'ignore', args: ['60'] }, 'sleeper.wasm')
      setImmediate(() => ac.abort())
      const aborted = await rejectsCode(p, 'ABORT_ERR')
      for (const err of [over, streamed, aborted]) {
        assert.match(err.stack ?? '', /plainRunCaller/)
        assert.match(err.stack ?? '', /32\.run-limits\.test\.ts/)
      }
    })

    it('bad values are a TypeError or RangeError before anything runs', async () => {
      await rejectsType(() => t.ctx.run('hello.wasm', { maxBuffer: '1' as unknown as number }), TypeError, /options\.maxBuffer/)
      for (const bad of [-1, 1.5, NaN, -Infinity])
        await rejectsType(() => t.ctx.run('hello.wasm', { maxBuffer: bad }), RangeError, /options\.maxBuffer/)
      assert.equal(t.ctx.size, 0)
    })
  })

  describe('piped output, kept by the engine', () => {
    const read = async (s: Readable | null) => {
      const chunks: Buffer[] = []
      for await (const b of s!) chunks.push(b as Buffer)
      return Buffer.concat(chunks).toString()
    }

    it('the program sees a pipe, as with create() and streams: fdstat, renumbering, a write after close', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-capture-'))
      const options = { args: ['stdout-stat', '/e'], mounts: [{ source: dir, target: '/e' }] }
      try {
        const r = await t.ctx.run('wasi-edge.wasm', options)
        assert.equal(r.exitCode, 0)
        assert.equal(r.stdout?.toString(), 'fdstat 0 6\nfilestat 0 6\nmoved\n')
        assert.equal(r.stderr?.toString(), 'renumber 0\nwrite 0\nclose 0\nwrite after close 8\n')
        const c = await t.ctx.create({ image: 'wasi-edge.wasm', ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
        const started = c.start()
        const [out, err] = await Promise.all([read(c.stdout), read(c.stderr), started])
        assert.equal(out, r.stdout?.toString())
        assert.equal(err, r.stderr?.toString())
        assert.equal((await c.wait()).exitCode, 0)
        await c.remove()
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })

    it('a context closed during run(): the run is killed and run() resolves with what it wrote', async () => {
      const dir = makeWorkdir()
      const { open } = await import('../lib/index')
      const ctx = await open({ workdir: dir })
      try {
        const p = ctx.run('sleeper.wasm', { args: ['60'] })
        // the loop turns until its container runs (a state, not a time)
        while (ctx.list()[0]?.status !== 'running') await new Promise((r) => setImmediate(r))
        await ctx.close()
        const r = await p
        assert.equal(r.reason, 'killed')
        assert.equal(r.exitCode, 137)
        assert.ok(['', 'sleeping\n'].includes(r.stdout!.toString()), `stdout: ${r.stdout}`)
        assert.equal(r.stderr?.length, 0)
      } finally {
        removeWorkdir(dir)
      }
    })

    it('one stream kept, the other elsewhere; an abort still kills and rejects', async () => {
      const r = await t.ctx.run('chatty.wasm', { args: ['3'], stdio: ['ignore', 'ignore', 'pipe'] })
      assert.equal(r.stdout, undefined)
      assert.equal(r.stderr?.toString(), 'line 0\nline 1\nline 2\n')
      const ac = new AbortController()
      const p = t.ctx.run('sleeper.wasm', { args: ['60'], signal: ac.signal })
      setImmediate(() => ac.abort())
      await rejectsCode(p, 'ABORT_ERR')
    })
  })

  describe('the addon\'s capture (binding level)', () => {
    it('validates outputLimit and the stream; refuses stdin; takes the output once', async () => {
      const dir = makeWorkdir()
      const native = await binding.openContext(dir)
      try {
        const create = (extra: object) => native.createContainer({ image: 'hello.wasm', detached: true, ...extra }, () => {})
        for (const bad of [0, -1, 1.5, NaN, -Infinity]) assert.throws(() => create({ outputLimit: bad }), RangeError)
        assert.throws(() => create({ outputLimit: '1' }), TypeError)
        const nc = (await create({ outputLimit: Infinity })) as NativeContainer
        assert.throws(() => nc.takeOutput(3 as 1), RangeError)
        assert.equal(nc.takeOutput(1), null) // never ran: nothing
        assert.throws(() => nc.start(-3, -2, -2), RangeError) // stdin is never captured
      } finally {
        await native.close()
        removeWorkdir(dir)
      }
    })
  })
})

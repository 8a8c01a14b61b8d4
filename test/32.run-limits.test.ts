// ctx.run() at its limits: arguments larger than the memory limit, output
// larger than maxBuffer. Each settles with a clear error and leaves no fd.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { type MaxBufferError, OcreError, type RunOptions } from '../lib/index'
import { rejectsCode, rejectsType, useContext, settles } from './helpers'

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
      assert.equal(fdCount(), before)
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

    it('bad values are a TypeError or RangeError before anything runs', async () => {
      await rejectsType(() => t.ctx.run('hello.wasm', { maxBuffer: '1' as unknown as number }), TypeError, /options\.maxBuffer/)
      for (const bad of [-1, 1.5, NaN, -Infinity])
        await rejectsType(() => t.ctx.run('hello.wasm', { maxBuffer: bad }), RangeError, /options\.maxBuffer/)
      assert.equal(t.ctx.size, 0)
    })
  })
})

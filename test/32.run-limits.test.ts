// ctx.run() at its limits: arguments larger than the memory limit, output
// larger than maxBuffer. Each settles with a clear error and leaves no fd.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { OcreError } from '../lib/index'
import { rejectsCode, useContext, within } from './helpers'

const fdCount = () => fs.readdirSync('/proc/self/fd').length

describe('run() limits', () => {
  const t = useContext()

  describe('arguments and environment larger than the memory limit', () => {
    it('run() rejects with ERR_OCRE_INVALID_ARGUMENT, every time, and leaks no fd', async () => {
      const big = 'x'.repeat(2 * 1024 * 1024)
      await t.ctx.run('hello.wasm') // warm: the image's verdict and module are cached
      const before = fdCount()
      for (const options of [{ args: [big] }, { env: { BIG: big } }, { args: ['a'], env: { A: big.slice(0, 600_000), B: big.slice(0, 600_000) } }]) {
        const err = await within(
          rejectsCode(t.ctx.run('hello.wasm', { ...options, memoryLimit: 1024 * 1024 }), 'ERR_OCRE_INVALID_ARGUMENT'),
          10_000,
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
})

// Start sections (guest code WAMR runs at instantiation) from JavaScript:
// host calls there, proc_exit there, and a kill of a busy loop there while
// another container of the same image starts; and context close with one
// still looping. Fixtures: test/fixtures/wat/.
import assert from 'node:assert/strict'
import { open } from '../lib/index'
import { makeWorkdir, removeWorkdir, useContext, waitForOutput, settles } from './helpers'

describe('start sections', () => {
  const t = useContext()

  it('runs WASI calls from a start function, then _start', async () => {
    const r = await t.ctx.run('start-hostcall.wasm', { stdio: ['ignore', 'pipe', 'pipe'] })
    assert.equal(r.stdout?.toString(), 'start\nmain\n')
    assert.equal(r.exitCode, 0)
  })

  it('runs Ocre API calls from a start function (stateful ones only with the capability)', async () => {
    const r = await t.ctx.run('start-ocre-api.wasm', { capabilities: ['ocre:api'], stdio: ['ignore', 'pipe', 'pipe'] })
    assert.equal(r.stdout?.toString(), '0y\n')
    assert.equal(r.exitCode, 0)
    const without = await t.ctx.run('start-ocre-api.wasm', { stdio: ['ignore', 'pipe', 'pipe'] })
    assert.equal(without.stdout?.toString(), '0n\n') // ocre_sleep works, a timer is -EACCES
    assert.equal(without.exitCode, 0)
  })

  it('ends the run with the code of a proc_exit in a start function', async () => {
    const r = await t.ctx.run('start-exit.wasm', { stdio: ['ignore', 'pipe', 'pipe'] })
    assert.deepEqual([r.exitCode, r.reason, r.stdout?.toString()], [7, 'exit', ''])
  })

  it('kills a busy start function while another container of the image starts', async () => {
    const a = await t.ctx.create({ image: 'start-spin.wasm', detached: true })
    await a.start()
    await settles(waitForOutput(a.stdout!, /spinning/), 'first spinner')
    const b = await t.ctx.create({ image: 'start-spin.wasm', detached: true })
    await b.start()
    await settles(waitForOutput(b.stdout!, /spinning/), 'second spinner (not blocked by the first)')
    for (const c of [a, b]) {
      const r = await settles(c.kill(), 'kill')
      assert.deepEqual([r.exitCode, r.reason], [137, 'killed'])
      await c.remove()
    }
  })

  it('closes a context whose container loops in its start function', async () => {
    const workdir = makeWorkdir()
    try {
      const ctx = await open({ workdir })
      const c = await ctx.create({ image: 'start-spin.wasm', detached: true })
      await c.start()
      await settles(waitForOutput(c.stdout!, /spinning/), 'spinner')
      await settles(ctx.close(), 'close')
      assert.equal(c.removed, true)
    } finally {
      removeWorkdir(workdir)
    }
  })
})

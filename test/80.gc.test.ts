// Garbage collection (mocha runs with --expose-gc): dropping every reference
// to a running container, or to its context, neither kills nor frees it;
// removed containers are collectable.
import assert from 'node:assert/strict'
import { open, type Context } from '../lib/index'
import { makeWorkdir, removeWorkdir, useContext, settles } from './helpers'

const gc = (globalThis as { gc?: () => void }).gc

async function collect(): Promise<void> {
  assert.ok(gc, 'run with --expose-gc')
  for (let i = 0; i < 6; i++) {
    gc()
    await new Promise((r) => setImmediate(r)) // finalizers and weak callbacks run between turns
  }
}

/** Collects stdout of a started container without keeping the container. */
function tickerOutput(stdout: NodeJS.ReadableStream): { text: () => string; ended: Promise<void> } {
  let text = ''
  stdout.on('data', (d: Buffer) => (text += d.toString()))
  const ended = new Promise<void>((resolve) => stdout.once('end', () => resolve()))
  return { text: () => text, ended }
}

const TICKS_30 = Array.from({ length: 30 }, (_, i) => `tick ${i}\n`).join('')

describe('garbage collection', function () {
  this.timeout(20_000)
  const t = useContext()

  it('a running container whose JS object is unreachable keeps running to its end', async () => {
    const { out, id } = await (async () => {
      const c = await t.ctx.create({ image: 'ticker.wasm', args: ['10', '30'], detached: true })
      await c.start()
      return { out: tickerOutput(c.stdout!), id: c.id }
    })()
    await collect()
    await settles(out.ended, 'ticker end')
    assert.equal(out.text(), TICKS_30, 'every tick: neither killed nor paused')
    const c = t.ctx.get(id)
    assert.ok(c, 'still registered')
    assert.deepEqual(await c.wait(), { exitCode: 0, reason: 'exit' })
    await c.remove()
  })

  it('attached start(): the pending promise alone is enough to get the result', async () => {
    const pending = (async () => {
      const c = await t.ctx.create({ image: 'sleeper.wasm', args: ['0.3'], stdio: 'ignore' })
      return c.start()
    })()
    // collect once the container runs (its start() still pending)
    while (!t.ctx.list().some((c) => c.status === 'running')) await new Promise((r) => setImmediate(r))
    await collect()
    assert.deepEqual(await settles(pending, 'start'), { exitCode: 0, reason: 'exit' })
  })

  it('an unreachable context with running containers is neither collected nor closed', async () => {
    const workdir = makeWorkdir()
    try {
      const { out, ref } = await (async () => {
        const ctx = await open({ workdir })
        const c = await ctx.create({ image: 'ticker.wasm', args: ['10', '30'], detached: true })
        await c.start()
        return { out: tickerOutput(c.stdout!), ref: new WeakRef<Context>(ctx) }
      })()
      await collect()
      await settles(out.ended, 'ticker end')
      assert.equal(out.text(), TICKS_30)
      const ctx = ref.deref()
      assert.ok(ctx, 'an open context stays reachable until closed')
      assert.deepEqual(await ctx.list()[0].wait(), { exitCode: 0, reason: 'exit' })
      await ctx.close()
    } finally {
      removeWorkdir(workdir)
    }
  })

  it('removed containers and closed contexts can be collected', async () => {
    const refs = await (async () => {
      const workdir = makeWorkdir()
      const ctx = await open({ workdir })
      const c = await ctx.create({ image: 'hello.wasm' })
      const done = c.start()
      await done
      await c.remove()
      const running = await ctx.create({ image: 'spin.wasm', detached: true })
      await running.start()
      await ctx.close()
      removeWorkdir(workdir)
      return [new WeakRef(c), new WeakRef(running), new WeakRef(ctx)]
    })()
    for (let i = 0; i < 20 && refs.some((r) => r.deref()); i++) await collect()
    assert.deepEqual(
      refs.map((r) => r.deref() === undefined),
      [true, true, true],
    )
  })
})

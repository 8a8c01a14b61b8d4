// Running containers never occupy the event loop or libuv's thread pool:
// exits and status changes come from container threads through
// ThreadSafeFunctions, never from a pool thread waiting for them.
import assert from 'node:assert/strict'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Container, ExitResult } from '../lib/index'
import { sleep, useContext, within } from './helpers'

describe('event loop and thread pool', function () {
  this.timeout(30_000)
  const t = useContext()

  it('8 long-running containers (attached start and wait() pending) do not delay fs.promises.readFile', async () => {
    const file = path.join(t.workdir, 'images', 'hello.wasm')
    const baseline = performance.now()
    await fsp.readFile(file)
    const baselineMs = performance.now() - baseline

    // Attached starts and waits in flight: an implementation that parks a
    // pool thread per wait would exhaust the pool (4 threads) here.
    const attached: Container[] = []
    const pending: Promise<ExitResult | undefined>[] = []
    for (let i = 0; i < 4; i++) {
      const c = await t.ctx.create({ image: 'sleeper.wasm', args: ['60'], stdio: 'ignore' })
      attached.push(c)
      pending.push(c.start())
    }
    const detached: Container[] = []
    for (let i = 0; i < 4; i++) {
      const c = await t.ctx.create({ image: 'sleeper.wasm', args: ['60'], stdio: 'ignore', detached: true })
      await c.start()
      detached.push(c)
      pending.push(c.wait())
    }
    await sleep(100)
    const all = [...attached, ...detached]
    assert.deepEqual(
      all.map((c) => c.status),
      Array(8).fill('running'),
    )

    const t0 = performance.now()
    const reads = await within(Promise.all(Array.from({ length: 8 }, () => fsp.readFile(file))), 1000, 'readFile')
    const took = performance.now() - t0
    assert.equal(reads.length, 8)
    assert.ok(took < 1000, `8 reads took ${took.toFixed(1)} ms (baseline ${baselineMs.toFixed(1)} ms)`)

    await Promise.all(all.map((c) => c.kill()))
    const results = await within(Promise.all(pending), 2000, 'exits')
    for (const r of results) assert.deepEqual(r, { exitCode: 137, reason: 'killed' })
    for (const c of all) await c.remove()
  })

  it('a 10 ms setInterval keeps firing while 16 containers spin', async () => {
    const cs: Container[] = []
    for (let i = 0; i < 16; i++) {
      const c = await t.ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
      await c.start()
      cs.push(c)
    }
    let ticks = 0
    let maxGap = 0
    let last = performance.now()
    const timer = setInterval(() => {
      const now = performance.now()
      maxGap = Math.max(maxGap, now - last)
      last = now
      ticks++
    }, 10)
    await sleep(1000)
    clearInterval(timer)
    assert.ok(
      cs.every((c) => c.status === 'running'),
      'all still spinning',
    )
    // Ideal: ~100 ticks. The loop thread competes for CPU with 16 busy
    // threads, so only a wide bound: it must not stall.
    assert.ok(ticks >= 20, `only ${ticks} ticks in 1 s (max gap ${maxGap.toFixed(0)} ms)`)
    assert.ok(maxGap < 500, `the loop stalled for ${maxGap.toFixed(0)} ms`)
    await Promise.all(cs.map((c) => c.kill()))
    for (const c of cs) await c.remove()
  })

  it('many containers start and exit concurrently without losing an exit', async () => {
    const runs = await Promise.all(
      Array.from({ length: 64 }, (_, i) => t.ctx.run('exit-code.wasm', { args: [String(i)], stdio: 'ignore' })),
    )
    assert.deepEqual(
      runs.map((r) => r.exitCode),
      Array.from({ length: 64 }, (_, i) => i),
    )
    assert.equal(t.ctx.size, 0)
  })
})

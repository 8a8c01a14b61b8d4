// Running containers never occupy the event loop or libuv's thread pool:
// exits and status changes come from container threads through
// ThreadSafeFunctions, never from a pool thread waiting for them.
import assert from 'node:assert/strict'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Container, ExitResult } from '../lib/index'
import { settles, useContext } from './helpers'

describe('event loop and thread pool', function () {
  this.timeout(30_000)
  const t = useContext()

  it('8 long-running containers (attached start and wait() pending) do not delay fs.promises.readFile', async () => {
    const file = path.join(t.workdir, 'images', 'hello.wasm')

    // Attached starts and waits in flight: an implementation that parks a
    // pool thread per wait would exhaust the pool (4 threads) here.
    const attached: Container[] = []
    const pending: Promise<ExitResult | undefined>[] = []
    const running: Promise<unknown>[] = []
    for (let i = 0; i < 4; i++) {
      const c = await t.ctx.create({ image: 'sleeper.wasm', args: ['60'], stdio: 'ignore' })
      attached.push(c)
      running.push(new Promise((resolve) => c.once('status', resolve)))
      pending.push(c.start())
    }
    const detached: Container[] = []
    for (let i = 0; i < 4; i++) {
      const c = await t.ctx.create({ image: 'sleeper.wasm', args: ['60'], stdio: 'ignore', detached: true })
      await c.start()
      detached.push(c)
      pending.push(c.wait())
    }
    await settles(Promise.all(running), 'attached containers running')
    const all = [...attached, ...detached]
    assert.deepEqual(
      all.map((c) => c.status),
      Array(8).fill('running'),
    )

    // a pool thread parked per wait would leave none for these: they would hang
    const reads = await settles(Promise.all(Array.from({ length: 8 }, () => fsp.readFile(file))), 'readFile')
    assert.equal(reads.length, 8)

    await Promise.all(all.map((c) => c.kill()))
    const results = await settles(Promise.all(pending), 'exits')
    for (const r of results) assert.deepEqual(r, { exitCode: 137, reason: 'killed' })
    for (const c of all) await c.remove()
  })

  it('a 10 ms setInterval keeps firing while 16 containers spin (its delay: bench/run.mjs eventloop)', async () => {
    const cs: Container[] = []
    for (let i = 0; i < 16; i++) {
      const c = await t.ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
      await c.start()
      cs.push(c)
    }
    let ticks = 0
    let timer: NodeJS.Timeout | undefined
    await settles(
      new Promise<void>((resolve) => {
        timer = setInterval(() => {
          if (++ticks === 20) resolve()
        }, 10)
      }),
      '20 interval ticks while 16 containers spin',
    )
    clearInterval(timer)
    assert.ok(
      cs.every((c) => c.status === 'running'),
      'all still spinning',
    )
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

// Issue #7 item 2: traps and resource exhaustion through the JavaScript path.
// Every trap ends only its own container (reason 'trap', exit code 134, the
// trap's message); a ticker container in the same context keeps ticking
// across all of them, and the host keeps running.
import assert from 'node:assert/strict'
import type { Container } from '../../lib/index'
import { settles, useContext } from '../helpers'

const MIB = 1024 * 1024
const PAGE = 64 * 1024

describe('reliability: traps and exhaustion end only their container', function () {
  this.timeout(60_000)
  const t = useContext()
  let ticker: Container
  let ticks = 0
  const waiters: { n: number; resolve: () => void }[] = []
  /** Resolves once the ticker has printed `n` ticks (an output marker, not a sleep). */
  const ticksReach = (n: number): Promise<void> =>
    ticks >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))

  before(async () => {
    ticker = await t.ctx.create({ image: 'ticker.wasm', args: ['5'], detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
    await ticker.start()
    ticker.stdout!.on('data', (d: Buffer) => {
      ticks += (d.toString().match(/tick \d+/g) ?? []).length
      for (const w of [...waiters]) if (ticks >= w.n) waiters.splice(waiters.indexOf(w), 1) && w.resolve()
    })
    await settles(ticksReach(3), 'ticker started ticking')
  })

  /** Runs `fn` and asserts that the ticker ticked meanwhile (and still runs). */
  async function tickerSurvives<T>(fn: () => Promise<T>): Promise<T> {
    const before = ticks
    const result = await fn()
    await settles(ticksReach(before + 2), 'ticker kept ticking')
    assert.equal(ticker.status, 'running')
    return result
  }

  const traps: [mode: string, message: RegExp][] = [
    ['unreachable', /unreachable/],
    ['oob', /out of bounds memory access/],
    ['divzero', /integer divide by zero/],
    ['indirect', /indirect call type mismatch/],
    ['stack', /stack overflow/],
    ['cstack', /out of bounds memory access/],
  ]
  for (const [mode, message] of traps) {
    it(`trap ${mode}: reason 'trap', exit code 134, message ${message}`, async () => {
      const r = await tickerSurvives(() => t.ctx.run('trap.wasm', { args: [mode] }))
      assert.equal(r.stdout!.toString(), `trap: ${mode}\n`)
      assert.equal(r.reason, 'trap', `stderr: ${r.stderr}`)
      assert.equal(r.exitCode, 134)
      assert.match(r.message ?? '', message)
    })
  }

  it('memory.grow stops exactly at memoryLimit (and at the 256 MiB default); the program goes on', async () => {
    for (const limit of [4 * MIB, 8 * MIB, undefined]) {
      const r = await tickerSurvives(() =>
        t.ctx.run('trap.wasm', { args: ['grow'], ...(limit === undefined ? {} : { memoryLimit: limit }) }),
      )
      const pages = (limit ?? 256 * MIB) / PAGE - 2 // starts at 2 pages
      assert.deepEqual([r.reason, r.exitCode, r.stdout!.toString()], ['exit', 0, `trap: grow\ngrew ${pages} pages\n`])
    }
  })

  it('malloc until it fails: NULL inside the limit, not a host failure', async () => {
    const r = await tickerSurvives(() => t.ctx.run('trap.wasm', { args: ['malloc'], memoryLimit: 16 * MIB }))
    assert.equal(r.reason, 'exit')
    assert.equal(r.exitCode, 0)
    const n = Number(/allocated (\d+) MiB/.exec(r.stdout!.toString())?.[1])
    assert.ok(n >= 10 && n < 16, `allocated ${n} MiB under a 16 MiB limit`)
  })

  it('all traps at once, attached and detached, while the ticker runs: each container gets its own message', async () => {
    const runs = await tickerSurvives(() =>
      Promise.all(
        [...traps, ...traps].map(async ([mode, message], i) => {
          const c = await t.ctx.create({ image: 'trap.wasm', args: [mode], detached: i % 2 === 0, stdio: 'ignore' })
          const started = await c.start()
          const r = started ?? (await c.wait())
          await c.remove()
          return { r, message }
        }),
      ),
    )
    for (const { r, message } of runs) {
      assert.equal(r.reason, 'trap')
      assert.equal(r.exitCode, 134)
      assert.match(r.message ?? '', message)
    }
  })

  it('a trapped container can be restarted and traps again the same way', async () => {
    const c = await t.ctx.create({ image: 'trap.wasm', args: ['divzero'], stdio: 'ignore' })
    for (let i = 0; i < 3; i++) {
      const r = await c.start()
      assert.deepEqual([r.reason, r.exitCode, r.message], ['trap', 134, 'integer divide by zero'])
      assert.equal(c.status, 'stopped')
    }
    await c.remove()
  })

  it('the ticker is still ticking at the end and is killed normally', async () => {
    await tickerSurvives(async () => undefined)
    const r = await ticker.kill()
    assert.deepEqual([r.reason, r.exitCode], ['killed', 137])
  })
})

// Lifecycle timings that the tests used to assert (STYLE 30: tests assert
// behaviour, numbers live here): how fast a detached start() returns, that
// stop() waits for its grace period, how long ctx.close() takes with
// running containers, how fast an AbortSignal ends run(), and that a paused
// container prints nothing. `node bench/run.mjs --only timing`.
import fs from 'node:fs'
import path from 'node:path'

export async function benchTiming({ openCtx, record, recordLatency, nowUs, sleep, quick, fixtures }) {
  console.error('9. lifecycle timings (formerly asserted in tests)')
  const n = quick ? 10 : 50
  const { ctx, wd, done } = await openCtx()
  for (const f of ['stdin-close', 'ticker'])
    fs.copyFileSync(path.join(fixtures, `${f}.wasm`), path.join(wd, 'images', `${f}.wasm`))

  // detached start() resolves once running, not at the exit
  const starts = []
  for (let i = 0; i < n; i++) {
    const c = await ctx.create({ image: 'stdin-close.wasm', detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
    const t0 = nowUs()
    await c.start()
    starts.push(nowUs() - t0)
    c.stdin.end()
    await c.wait()
    await c.remove()
  }
  recordLatency('lifecycle timing', 'detached start() -> resolved', starts)

  // stop({ timeout: 200 }) of a busy loop: killed after the grace period, not before
  const stops = []
  for (let i = 0; i < (quick ? 3 : 10); i++) {
    const c = await ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
    await c.start()
    const t0 = nowUs()
    await c.stop({ timeout: 200 })
    stops.push(nowUs() - t0)
    await c.remove()
  }
  recordLatency('lifecycle timing', 'stop({ timeout: 200 }) of a busy loop -> killed', stops, {
    note: `expected >= 200 ms; min ${(Math.min(...stops) / 1000).toFixed(1)} ms`,
  })

  // run() with an AbortSignal: abort -> rejected
  const aborts = []
  for (let i = 0; i < n; i++) {
    const ac = new AbortController()
    const p = ctx.run('sleeper.wasm', { args: ['60'], signal: ac.signal, stdio: 'ignore' })
    await sleep(5)
    const t0 = nowUs()
    ac.abort()
    await p.catch(() => {})
    aborts.push(nowUs() - t0)
  }
  recordLatency('lifecycle timing', 'run() abort -> rejected (sleeping guest)', aborts)

  // a paused ticker prints nothing
  {
    const c = await ctx.create({ image: 'ticker.wasm', args: ['5'], detached: true, stdio: ['ignore', 'pipe', 'ignore'] })
    let ticks = 0
    const started = c.start() // the streams exist from here on
    c.stdout.on('data', (d) => (ticks += String(d).split('\n').filter(Boolean).length))
    await started
    await sleep(100)
    await c.pause()
    await sleep(50) // output already in the pipe arrives
    const atPause = ticks
    await sleep(200)
    record('lifecycle timing', 'ticks printed in 200 ms while paused (ticker, 5 ms)', ticks - atPause, 'ticks', {
      note: 'expected 0',
    })
    await c.unpause()
    await c.kill()
    await c.remove()
  }
  await done()

  // ctx.close() with running containers (busy, asleep, paused) and idle ones
  const closes = []
  for (let i = 0; i < (quick ? 3 : 10); i++) {
    const { ctx: c2, wd: wd2, done: done2 } = await openCtx()
    fs.copyFileSync(path.join(fixtures, 'ticker.wasm'), path.join(wd2, 'images', 'ticker.wasm'))
    for (const [image, args] of [['spin.wasm', []], ['sleeper.wasm', ['60']], ['ticker.wasm', ['5']]]) {
      const c = await c2.create({ image, args, detached: true, stdio: 'ignore' })
      await c.start()
      if (image === 'ticker.wasm') await c.pause()
    }
    await c2.create({ image: 'hello.wasm', capabilities: ['filesystem'] })
    await c2.create({ image: 'hello.wasm' })
    const t0 = nowUs()
    await c2.close()
    closes.push(nowUs() - t0)
    await done2()
  }
  recordLatency('lifecycle timing', 'ctx.close() with 3 running + 2 created', closes)
}

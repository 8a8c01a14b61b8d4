// Ending containers: kill from every kind of wait, traps, run() aborts.
import assert from 'node:assert/strict'
import { AbortError, type Container, type ExitResult } from '../lib/index'
import { rejectsCode, rejectsType, sleep, useContext, waitForOutput, settles } from './helpers'

describe('kill, traps and aborts', () => {
  const t = useContext()

  /** Start `image` detached and wait until it printed `ready`. */
  async function running(image: string, args: string[], ready: RegExp): Promise<Container> {
    const c = await t.ctx.create({ image, args, detached: true })
    await c.start()
    c.stderr!.resume()
    await settles(waitForOutput(c.stdout!, ready), `${image} ready`)
    return c
  }

  /** kill(), which must settle (its latency is measured in bench/run.mjs, "kill latency"). */
  async function killed(c: Container): Promise<ExitResult> {
    const exitEvent = new Promise<ExitResult>((resolve) => c.once('exit', resolve))
    const r = await settles(c.kill(), `kill ${c.image}`)
    assert.deepEqual(await exitEvent, r)
    assert.equal(c.status, 'stopped')
    return r
  }

  const KILLED = { exitCode: 137, reason: 'killed' }

  it('kills a busy loop (spin): 137, killed', async () => {
    const c = await running('spin.wasm', [], /spinning/)
    assert.deepEqual(await killed(c), KILLED)
    await c.remove()
  })

  it('kills a container asleep in poll_oneoff (sleeper 60)', async () => {
    const c = await running('sleeper.wasm', ['60'], /sleeping/)
    assert.deepEqual(await killed(c), KILLED)
    await c.remove()
  })

  it('kills a container blocked reading an open, unwritten stdin pipe (cat)', async () => {
    const c = await t.ctx.create({ image: 'cat.wasm', detached: true })
    await c.start()
    // one line echoed: cat is in its loop, back in read(0) with nothing more written
    const echoed = waitForOutput(c.stdout!, /^ping\n$/)
    c.stdin!.write('ping\n')
    await settles(echoed, 'echo')
    assert.equal(c.status, 'running')
    assert.ok(c.stdin && !c.stdin.writableEnded, 'stdin still open')
    assert.deepEqual(await killed(c), KILLED)
    await c.remove()
  })

  it('kills a container blocked reading stdin again after echoing input (cat)', async () => {
    const c = await t.ctx.create({ image: 'cat.wasm', detached: true })
    await c.start()
    const echoed = waitForOutput(c.stdout!, /hello/)
    c.stdin!.write('hello')
    await settles(echoed, 'cat echo') // it is now blocked in read(0) again
    assert.deepEqual(await killed(c), KILLED)
    await c.remove()
  })

  it('kills a paused container', async () => {
    const c = await running('ticker.wasm', ['10'], /tick 1\n/)
    await c.pause()
    assert.equal(c.status, 'paused')
    assert.deepEqual(await killed(c), KILLED)
    await c.remove()
  })

  it('kill() and wait() right after start() (not awaited) act on the run being started', async () => {
    const c = await t.ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
    const started = c.start()
    const waited = c.wait()
    assert.deepEqual(await settles(c.kill(), 'kill'), KILLED)
    assert.equal(await started, undefined)
    assert.deepEqual(await waited, KILLED)
    await c.remove()
  })

  it('kills many containers at once, each ending killed', async () => {
    const cs = await Promise.all(Array.from({ length: 8 }, (_, i) => running(i % 2 ? 'spin.wasm' : 'sleeper.wasm', [], /ing\n/)))
    const results = await settles(Promise.all(cs.map((c) => c.kill())), 'kill 8')
    for (const r of results) assert.deepEqual(r, KILLED)
    for (const c of cs) await c.remove()
  })

  for (const [mode, message] of [
    ['unreachable', /unreachable/],
    ['oob', /out of bounds memory access/],
    ['divzero', /integer divide by zero/],
    ['stack', /stack overflow/],
    ['indirect', /indirect call type mismatch|type mismatch/],
  ] as const) {
    it(`reports a trap (${mode}) as reason trap, exit code 134, with its message; the host is unaffected`, async () => {
      const c = await t.ctx.create({ image: 'trap.wasm', args: [mode] })
      const closed = new Promise<ExitResult>((resolve) => c.once('close', resolve))
      const p = c.start()
      const out: Buffer[] = []
      c.stdout!.on('data', (b: Buffer) => out.push(b))
      const r = await p
      assert.equal(r.reason, 'trap')
      assert.equal(r.exitCode, 134)
      assert.match(r.message ?? '', message)
      assert.deepEqual(c.exitResult, r)
      assert.deepEqual(await closed, r)
      assert.equal(Buffer.concat(out).toString(), `trap: ${mode}\n`)
      await c.remove()
    })
  }

  describe('run() with an AbortSignal', () => {
    it('abort kills the container and rejects with an AbortError; the container is removed', async () => {
      const ac = new AbortController()
      const p = t.ctx.run('sleeper.wasm', { args: ['60'], signal: ac.signal })
      while (!t.ctx.list().some((c) => c.status === 'running')) await new Promise((r) => setImmediate(r))
      const sizeWhileRunning = t.ctx.size
      ac.abort(new Error('enough'))
      const err = await settles(rejectsType(() => p, AbortError), 'abort')
      assert.equal(err.name, 'AbortError')
      assert.equal((err as AbortError).code, 'ABORT_ERR')
      assert.equal((err.cause as Error).message, 'enough')
      assert.equal(sizeWhileRunning, 1)
      assert.equal(t.ctx.size, 0, 'removed')
    })

    it('an already aborted signal rejects at once, creating nothing', async () => {
      const before = t.ctx.size
      await rejectsType(() => t.ctx.run('hello.wasm', { signal: AbortSignal.abort() }), AbortError)
      assert.equal(t.ctx.size, before)
    })

    it('abort right after the call (during create/start) still kills and rejects', async () => {
      for (let i = 0; i < 5; i++) {
        const ac = new AbortController()
        const p = t.ctx.run('spin.wasm', { signal: ac.signal })
        if (i > 0) await sleep(i)
        ac.abort()
        await settles(rejectsType(() => p, AbortError), `abort ${i}`)
      }
      assert.equal(t.ctx.size, 0)
    })

    it('a signal that is never aborted does not change the result', async () => {
      const ac = new AbortController()
      const r = await t.ctx.run('exit-code.wasm', { args: ['7'], signal: ac.signal })
      assert.deepEqual(r, { exitCode: 7, reason: 'exit', stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) })
      await rejectsType(() => t.ctx.run('hello.wasm', { signal: {} as AbortSignal }), TypeError, /options\.signal/)
    })

    it('run() reports a trap in its result and C errors as OcreError', async () => {
      const r = await t.ctx.run('trap.wasm', { args: ['unreachable'] })
      assert.equal(r.reason, 'trap')
      assert.equal(r.stdout?.toString(), 'trap: unreachable\n')
      await rejectsCode(t.ctx.run('nope.wasm'), 'ERR_OCRE_IMAGE_NOT_FOUND')
      await rejectsType(() => t.ctx.run('hello.wasm', { detached: true } as never), TypeError, /Unknown option 'detached'/)
    })
  })
})

// The Ocre application API from JavaScript: ctx.messaging between the host
// and containers, ctx.sensors and ctx.gpio providers, the bounded queues.
// Guest side: test/fixtures/src/ocre-app.c (the C side is native/test/test_ocre_api.c).
import assert from 'node:assert/strict'
import type { Readable } from 'node:stream'
import { type Container, type Message, open, OcreError } from '../lib/index'
import { makeWorkdir, rejectsType, removeWorkdir, settles, useContext } from './helpers'

/** All of a stream's text, and a way to wait until it matches. */
function output(stream: Readable) {
  let text = ''
  const waiters: { re: RegExp; resolve: () => void }[] = []
  stream.on('data', (c: Buffer) => {
    text += c.toString()
    for (const w of waiters.splice(0)) if (w.re.test(text)) w.resolve()
    else waiters.push(w)
  })
  const ended = new Promise<void>((resolve) => stream.once('end', resolve))
  return {
    get text() {
      return text
    },
    until(re: RegExp): Promise<void> {
      if (re.test(text)) return Promise.resolve()
      return settles(new Promise<void>((resolve) => waiters.push({ re, resolve })), `output ${re}`)
    },
    ended,
  }
}

describe('Ocre API from JavaScript (ocre:api)', () => {
  const t = useContext()

  async function app(args: string[]): Promise<{ c: Container; out: ReturnType<typeof output> }> {
    const c = await t.ctx.create({ image: 'ocre-app.wasm', args, capabilities: ['ocre:api'], detached: true })
    await c.start()
    c.stderr!.resume()
    return { c, out: output(c.stdout!) }
  }

  async function finish(c: Container, out: ReturnType<typeof output>, exitCode = 0): Promise<string> {
    const r = await settles(c.wait(), 'exit')
    await out.ended
    assert.equal(r.exitCode, exitCode, out.text)
    await c.remove()
    return out.text
  }

  describe('messaging', () => {
    it('JS publishes to a subscribed container: as a container would, counted per subscriber', async () => {
      const { c, out } = await app(['sub', 'js/', '2'])
      await out.until(/subscribed\n/)
      assert.equal(t.ctx.messaging.publish('js/a', 'text/plain', 'one'), 1)
      assert.equal(t.ctx.messaging.publish('nobody/listens', 'text/plain', 'x'), 0)
      assert.equal(t.ctx.messaging.publish('js/b', 'application/octet-stream', Buffer.from('two')), 1)
      assert.equal(await finish(c, out), 'subscribed\ngot js/a text/plain one\ngot js/b application/octet-stream two\n')
    })

    it('a container publishes to a JS subscriber: topic, content type, payload Buffer, from', async () => {
      const got: Message[] = []
      const sub = t.ctx.messaging.subscribe('out/', (m) => got.push(m))
      const { c, out } = await app(['pub', '2', 'out/x'])
      assert.equal(await finish(c, out), 'published\n')
      while (got.length < 2) await new Promise((resolve) => setImmediate(resolve))
      assert.deepEqual(
        got.map((m) => [m.topic, m.contentType, m.payload.toString(), m.from]),
        [
          ['out/x', 'text/plain', 'msg 0', c.id],
          ['out/x', 'text/plain', 'msg 1', c.id],
        ],
      )
      assert.ok(Buffer.isBuffer(got[0].payload))
      assert.equal(sub.dropped, 0)
      sub.close()
      sub.close() // idempotent
      assert.equal(t.ctx.messaging.publish('out/y', 'text/plain', 'late'), 0)
    })

    it('the async iterator form receives host messages (from: null) until closed', async () => {
      const sub = t.ctx.messaging.subscribe('it/')
      assert.equal(t.ctx.messaging.publish('it/1', 'text/plain', 'a'), 1)
      assert.equal(t.ctx.messaging.publish('it/2', 'text/plain', 'b'), 1)
      const seen: string[] = []
      for await (const m of sub) {
        seen.push(`${m.topic}=${m.payload} from ${m.from}`)
        if (seen.length === 2) break // return() closes it
      }
      assert.deepEqual(seen, ['it/1=a from null', 'it/2=b from null'])
      assert.equal(sub.closed, true)
      assert.equal(t.ctx.messaging.publish('it/3', 'text/plain', 'c'), 0)
    })

    it('a slow JS subscriber drops and counts; publishers are never blocked', async () => {
      const seen: string[] = []
      const sub = t.ctx.messaging.subscribe('flood/', (m) => seen.push(m.payload.toString()), { queueSize: 4 })
      let taken = 0
      // The JS thread is busy publishing: nothing is delivered meanwhile.
      for (let i = 0; i < 10; i++) taken += t.ctx.messaging.publish('flood/x', 'text/plain', String(i))
      assert.equal(taken, 4)
      assert.equal(sub.dropped, 6)
      while (seen.length < 4) await new Promise((resolve) => setImmediate(resolve))
      assert.deepEqual(seen, ['0', '1', '2', '3'])
      sub.close()
      assert.equal(sub.dropped, 6)
    })

    it("a container's full event queue drops and counts (eventsDropped)", async () => {
      const { c, out } = await app(['idle', 'full/'])
      await out.until(/subscribed\n/)
      let taken = 0
      for (let i = 0; i < 100; i++) taken += t.ctx.messaging.publish('full/x', 'text/plain', 'x')
      assert.equal(taken, 64)
      assert.equal(c.eventsDropped, 36)
      await c.kill()
      await finish(c, out, 137)
    })

    it('rejects bad arguments before anything reaches a container', async () => {
      const m = t.ctx.messaging
      await rejectsType(() => m.publish('', 'text/plain', 'x'), RangeError, /topic/)
      await rejectsType(() => m.publish('a'.repeat(129), 'text/plain', 'x'), RangeError, /topic/)
      await rejectsType(() => m.publish('t', '', 'x'), RangeError, /contentType/)
      await rejectsType(() => m.publish('t', 'text/plain', ''), RangeError, /payload/)
      await rejectsType(() => m.publish('t', 'text/plain', Buffer.alloc(65537)), RangeError, /payload/)
      await rejectsType(() => m.publish(1 as never, 'text/plain', 'x'), TypeError, /topic/)
      await rejectsType(() => m.publish('t', 'text/plain', 5 as never), TypeError, /payload/)
      await rejectsType(() => m.subscribe(5 as never), TypeError, /prefix/)
      await rejectsType(() => m.subscribe('p', { queueSise: 4 } as never), TypeError, /queueSise/)
      await rejectsType(() => m.subscribe('p', { queueSize: 0 }), RangeError, /queueSize/)
      const withHandler = m.subscribe('p', () => {})
      await rejectsType(() => withHandler[Symbol.asyncIterator](), TypeError, /handler/)
      withHandler.close()
    })

    it('a closed context refuses publish and subscribe with ERR_OCRE_STATE', async () => {
      const workdir = makeWorkdir()
      const ctx = await open({ workdir })
      const sub = ctx.messaging.subscribe('x/')
      const ended = (async () => {
        for await (const _ of sub) void _
      })()
      await ctx.close()
      await settles(ended, 'iteration ends at close')
      assert.throws(() => ctx.messaging.publish('x/1', 'text/plain', 'x'), (e: OcreError) => e.code === 'ERR_OCRE_STATE')
      assert.throws(() => ctx.messaging.subscribe('x/'), (e: OcreError) => e.code === 'ERR_OCRE_STATE')
      assert.throws(() => ctx.sensors.registerRandom(), (e: OcreError) => e.code === 'ERR_OCRE_STATE')
      removeWorkdir(workdir)
    })
  })

  describe('sensors and GPIO', () => {
    const sets: number[] = []
    const dirs: string[] = []
    let port: import('../lib/index').GpioPort
    let notify: ((pin: number, value: number | boolean) => void) | undefined

    before(() => {
      assert.equal(t.ctx.sensors.register({ name: 'thermo', channels: [7, 8], read: async (ch) => 20.5 + ch }), 0)
      assert.equal(t.ctx.sensors.registerRandom(), 1)
      assert.equal(
        t.ctx.sensors.register({
          name: 'broken',
          channels: 1,
          read: () => {
            throw Object.assign(new Error('bus error'), { errno: 121 })
          },
        }),
        2,
      )
      port = t.ctx.gpio.register({
        name: 'gpio0',
        pins: ['led', 'button'],
        configure: (pin, direction) => void dirs.push(`${pin}:${direction}`),
        set: (pin, value) => void sets.push(value),
        get: (pin) => (pin === 0 ? sets[sets.length - 1] ?? 0 : 0),
        onChange: (n) => (notify = n),
      })
    })

    it('lists the registered sensors', async () => {
      const { c, out } = await app(['sensors'])
      assert.equal(
        await finish(c, out),
        'sensors 3\nlist thermo,ocre-random,broken\nthermo: 2 channels, types 7 8\n' +
          'ocre-random: 4 channels, types 0 1 2 3\nbroken: 1 channels, types 0\n',
      )
    })

    it('reads a JS sensor (a promise), the random test sensor, and a failing one (its errno)', async () => {
      let r = await app(['sensor-read', 'thermo', '1'])
      assert.equal(await finish(r.c, r.out), 'thermo 1 21.50\n')
      r = await app(['sensor-read', 'ocre-random', '2'])
      const v = Number((await finish(r.c, r.out)).split(' ')[2])
      assert.ok(v >= 0 && v < 100, String(v))
      r = await app(['sensor-read', 'broken', '0'])
      assert.equal(await finish(r.c, r.out), 'broken 0 -121.00\n')
    })

    it('a timer app blinks a JS GPIO pin', async () => {
      const { c, out } = await app(['gpio-blink', 'led', '4', '2'])
      assert.equal(await finish(c, out), 'tick 1 state 1\ntick 2 state 0\ntick 3 state 1\ntick 4 state 0\n')
      assert.deepEqual(sets, [0, 1, 0, 1, 0])
      assert.deepEqual(dirs, ['0:output'])
    })

    it('input changes reported from JS reach a registered callback', async () => {
      const { c, out } = await app(['gpio-watch', 'gpio0/1', '2'])
      await out.until(/watching\n/)
      assert.deepEqual(dirs.slice(-1), ['1:input'])
      assert.equal(port.port, 0)
      notify!(1, true)
      assert.equal(port.changed(1, 0), 1)
      assert.equal(await finish(c, out), 'watching\ngpio 0 1 1\ngpio 0 1 0\n')
      assert.equal(port.changed(1, 1), 0) // the watch ended with the run
    })

    it('rejects bad providers', async () => {
      const s = t.ctx.sensors
      await rejectsType(() => s.register({ name: '', channels: 1, read: () => 0 }), RangeError, /name/)
      await rejectsType(() => s.register({ name: 'x', channels: 0, read: () => 0 }), RangeError, /channels/)
      await rejectsType(() => s.register({ name: 'x', channels: 1 } as never), TypeError, /read/)
      await rejectsType(() => s.register({ name: 'x', channels: 1, read: () => 0, extra: 1 } as never), TypeError, /extra/)
      assert.throws(() => s.register({ name: 'thermo', channels: 1, read: () => 0 }), (e: OcreError) => e.code === 'ERR_OCRE_EXISTS')
      const g = t.ctx.gpio
      await rejectsType(() => g.register({ name: 'p', pins: 65, set: () => {}, get: () => 0 }), RangeError, /pins/)
      await rejectsType(() => g.register({ name: 'p', pins: 1, get: () => 0 } as never), TypeError, /set/)
      await rejectsType(() => port.changed(2, 1), RangeError, /pin/)
    })
  })
})

// Issue #7 item 6: bad API input. Property-based tests (fast-check) over every
// public function and option: whatever a caller passes, the outcome is a
// result, a TypeError, a RangeError or an OcreError — never another error, a
// crash of the process, or a hang (each call must settle: a hang guard of HANG_MS).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import {
  type Container,
  type Context,
  OcreError,
  getLogLevel,
  isOcreError,
  open,
  setLogLevel,
  setLogger,
} from '../../lib/index'
import { FIXTURES, makeWorkdir, removeWorkdir, settles as notHung } from '../helpers'

const RUNS = Number(process.env.OCRE_PROPERTY_RUNS ?? 300)

/** Values that break assumptions: wrong types, edge numbers, path tricks, odd objects. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '', '.', '..', '/', '\0', 'a\0b', 'A.wasm', '../x', '/etc/passwd', 'x'.repeat(300), 'é', '\uD800',
    'trivial.wasm', 'hello.wasm', 'wamr/wasip1', 'filesystem', 'pipe', 'inherit', 'ignore', '__proto__', 'constructor',
  ),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, -1, 0, 1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1.5, Number.MAX_VALUE, 1e-300),
  fc.constantFrom(null, undefined, true, false, Symbol('s'), 10n, () => 1, [], {}, Object.create(null), new Uint8Array(3), new ArrayBuffer(2), new URL('file:///nonexistent'), /re/, new Date(NaN), Promise.resolve(1)),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)), { maxKeys: 4 }),
)

const CREATE_KEYS = ['image', 'id', 'runtime', 'args', 'env', 'capabilities', 'mounts', 'stdio', 'detached', 'memoryLimit'] as const

/** A valid-ish create() option object with 1–3 fields replaced by weird values (or an unknown key added). */
const createOptions = fc
  .tuple(
    fc.array(fc.tuple(fc.constantFrom(...CREATE_KEYS, 'imgae', 'memorylimit', 'signal', '__proto__'), weird), { minLength: 1, maxLength: 3 }),
    fc.boolean(),
  )
  .map(([overrides, whole]) => {
    if (whole && overrides.length === 1) return overrides[0][1]
    const o: Record<string, unknown> = { image: 'trivial.wasm', stdio: 'ignore' }
    for (const [k, v] of overrides) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true })
    return o
  })

function acceptable(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof OcreError
}

/** Calls `fn`; a result or an acceptable error passes; anything else (or a hang) fails with a description. */
async function settles(what: string, fn: () => unknown, systemErrors = false): Promise<unknown> {
  try {
    return await notHung(Promise.resolve().then(fn), what)
  } catch (err) {
    if (acceptable(err)) return err
    // documented (docs/cli.md, store.add): a source file that cannot be read is Node's own error
    const e = err as NodeJS.ErrnoException
    if (systemErrors && typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) && typeof e.syscall === 'string') return err
    throw new Error(`${what}: ${(err as Error)?.constructor?.name} ${(err as Error)?.message} (code ${(err as { code?: string })?.code})`)
  }
}

const show = (v: unknown) => fc.stringify(v)

describe('reliability: bad API input (property-based)', function () {
  this.timeout(120_000)
  let workdir: string
  let ctx: Context
  const hostDir = makeWorkdir('ocre-prop-host-')

  before(async () => {
    workdir = makeWorkdir()
    ctx = await open({ workdir })
  })
  after(async () => {
    await ctx?.close()
    removeWorkdir(workdir)
    removeWorkdir(hostDir)
  })

  it('open(options): a context, or TypeError/RangeError/OcreError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(weird, fc.record({ workdir: weird }), fc.record({ workdir: fc.constant(workdir) })), async (o) => {
        const r = await settles(`open(${show(o)})`, () => open(o as never))
        if (r && !(r instanceof Error)) await (r as Context).close()
      }),
      { numRuns: RUNS },
    )
  })

  it('ctx.create(options): a container (removed again), or TypeError/RangeError/OcreError; nothing left behind', async () => {
    await fc.assert(
      fc.asyncProperty(createOptions, async (o) => {
        const r = await settles(`create(${show(o)})`, () => ctx.create(o as never))
        if (r && !(r instanceof Error)) await (r as Container).remove()
        assert.equal(ctx.size, 0)
      }),
      { numRuns: RUNS * 2 },
    )
    assert.deepEqual(fs.readdirSync(path.join(workdir, 'containers')), [])
  })

  it('ctx.run(image, options): a result or TypeError/RangeError/OcreError (trivial.wasm, stdio ignored)', async () => {
    await fc.assert(
      fc.asyncProperty(weird, createOptions, async (image, o) => {
        const opts = o && typeof o === 'object' && !Array.isArray(o) ? { ...(o as object), stdio: 'ignore' } : o
        delete (opts as Record<string, unknown> | null)?.['image' as never]
        delete (opts as Record<string, unknown> | null)?.['detached' as never]
        const img = typeof image === 'string' && image.endsWith('.wasm') && image !== 'trivial.wasm' ? image : 'trivial.wasm'
        await settles(`run(${show(img)}, ${show(opts)})`, () => ctx.run(img, opts as never))
        await settles(`run(${show(image)})`, () => ctx.run(image as never, { stdio: 'ignore' }))
        assert.equal(ctx.size, 0)
      }),
      { numRuns: RUNS },
    )
  })

  it('ctx.get / ctx.list with anything', async () => {
    await fc.assert(
      fc.asyncProperty(weird, async (v) => {
        await settles(`get(${show(v)})`, () => ctx.get(v as never))
        await settles(`list(${show(v)})`, () => (ctx.list as (v: unknown) => unknown)(v))
      }),
      { numRuns: RUNS },
    )
  })

  it('container methods with any argument, in every state', async () => {
    const states = ['created', 'running', 'paused', 'stopped', 'removed'] as const
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...states),
        fc.constantFrom('start', 'wait', 'kill', 'stop', 'pause', 'unpause', 'remove', 'ref', 'unref'),
        weird,
        async (state, method, arg) => {
          for (const old of ctx.list()) await old.remove({ force: true }) // left over by a failed run
          const image = state === 'created' || state === 'removed' ? 'trivial.wasm' : 'sleeper.wasm'
          const c = await ctx.create({ image, detached: true, stdio: 'ignore' })
          if (state !== 'created' && state !== 'removed') await c.start()
          if (state === 'paused') await c.pause()
          if (state === 'stopped') await c.kill()
          if (state === 'removed') await c.remove()
          const call = () => (c[method] as (a: unknown) => unknown).call(c, arg)
          // wait() on a running container only settles when it ends, and stop() may
          // legitimately wait out its grace period (10 s by default): end it
          if ((method === 'wait' || method === 'stop') && (state === 'running' || state === 'paused')) setTimeout(() => void c.kill().catch(() => {}), 20)
          await settles(`${state} container.${method}(${show(arg)})`, call)
          let removeError: unknown
          await c.remove({ force: true }).catch((e: unknown) => (removeError = e))
          assert.ok(removeError === undefined || isOcreError(removeError), String(removeError))
          assert.equal(ctx.size, 0, `${state} ${method}: left a container (${c.status}, remove: ${String(removeError)})`)
        },
      ),
      { numRuns: RUNS, verbose: 2 },
    )
  })

  it('ctx.images: add, get, has, path, remove, list, pull with anything', async () => {
    const noNetwork = (v: unknown) => !(typeof v === 'string' && /^\s*https?:/i.test(v)) && !(v instanceof URL && /^https?:/.test(v.protocol))
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('add', 'get', 'has', 'path', 'remove', 'list', 'pull'),
        weird.filter(noNetwork),
        fc.oneof(weird.filter(noNetwork), fc.constant(fs.readFileSync(path.join(hostDir, 'images', 'trivial.wasm'))), fc.constant(hostDir), fc.constant(path.join(hostDir, 'images', 'hello.wasm'))),
        fc.oneof(weird.filter((v) => !(v && typeof v === 'object' && 'timeout' in v)), fc.record({ replace: weird, sha256: weird, maxBytes: weird, onProgress: weird })),
        async (method, a, b, c) => {
          for (const old of ctx.list()) await old.remove({ force: true })
          const store = ctx.images as unknown as Record<string, (...args: unknown[]) => unknown>
          await settles(`images.${method}(${show(a)}, ${show(b)}, ${show(c)})`, () => store[method].call(ctx.images, a, b, c), true)
        },
      ),
      { numRuns: RUNS },
    )
    // whatever was added is a valid image of a valid name
    for (const info of (await ctx.images.list())) assert.match(info.name, /^[a-z0-9_-][a-z0-9._-]*$/)
  })

  it('setLogLevel, setLogger, isOcreError with anything; the runtime still logs and runs', async () => {
    const level = getLogLevel()
    try {
      await fc.assert(
        fc.asyncProperty(weird, weird, async (a, b) => {
          await settles(`setLogLevel(${show(a)})`, () => setLogLevel(a as never))
          await settles(`setLogger(${show(a)})`, () => setLogger(a as never))
          await settles(`isOcreError(${show(a)}, ${show(b)})`, () => isOcreError(a, b as never))
        }),
        { numRuns: RUNS },
      )
    } finally {
      setLogger(null)
      setLogLevel(level)
    }
    await ctx.images.add('hello.wasm', path.join(FIXTURES, 'hello.wasm'), { replace: true }) // the images property may have removed it
    const r = await ctx.run('hello.wasm')
    assert.equal(r.stdout!.toString(), 'Hello from WebAssembly!\n')
  })
})

// Contexts: open, close, one per workdir, the container registry.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Context, OcreError, open, version } from '../lib/index'
import { spawn } from 'node:child_process'
import { ROOT, makeWorkdir, rejectsCode, rejectsType, removeWorkdir } from './helpers'

describe('context', () => {
  const dirs: string[] = []
  const contexts: Context[] = []
  function workdir(): string {
    const d = makeWorkdir()
    dirs.push(d)
    return d
  }
  async function openCtx(dir = workdir()): Promise<Context> {
    const ctx = await open({ workdir: dir })
    contexts.push(ctx)
    return ctx
  }
  after(async () => {
    for (const c of contexts) await c.close()
    for (const d of dirs) removeWorkdir(d)
  })

  it('exports the runtime version', () => {
    assert.match(version, /^\d+\.\d+\.\d+ \(WAMR \d+\.\d+\.\d+\)$/)
  })

  it('opens a context and creates workdir, images/ and containers/', async () => {
    const base = workdir()
    const dir = path.join(base, 'a', 'b')
    const ctx = await openCtx(dir)
    assert.ok(ctx instanceof Context)
    assert.equal(ctx.workdir, fs.realpathSync(dir))
    assert.ok(fs.statSync(path.join(dir, 'images')).isDirectory())
    assert.ok(fs.statSync(path.join(dir, 'containers')).isDirectory())
    assert.equal(ctx.size, 0)
    assert.deepEqual(ctx.list(), [])
    assert.equal(ctx.closed, false)
  })

  it('exposes the image store of <workdir>/images', async () => {
    const ctx = await openCtx()
    assert.ok(ctx.images, 'images')
    assert.equal(typeof ctx.images, 'object')
  })

  it('refuses a second context on the same workdir (ERR_OCRE_EXISTS), however it is spelled', async () => {
    const dir = workdir()
    await openCtx(dir)
    const err = await rejectsCode(open({ workdir: dir }), 'ERR_OCRE_EXISTS')
    assert.ok(err instanceof OcreError)
    assert.match(err.message, /already open/)
    await rejectsCode(open({ workdir: `${dir}/./` }), 'ERR_OCRE_EXISTS')
  })

  it('an open workdir is locked: another process gets ERR_OCRE_BUSY until the holder closes it or dies', async () => {
    const dir = workdir()
    const lib = JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))
    // The child opens the workdir, says so, closes it when told (a line on
    // stdin), then holds it again until it is killed.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `
        const { open } = require(${lib})
        const rl = require('node:readline').createInterface({ input: process.stdin })
        const lines = rl[Symbol.asyncIterator]()
        ;(async () => {
          let ctx = await open({ workdir: process.argv[1] })
          process.stdout.write('open\\n')
          await lines.next()
          await ctx.close()
          process.stdout.write('closed\\n')
          await lines.next()
          ctx = await open({ workdir: process.argv[1] })
          process.stdout.write('open\\n')
        })()
      `,
        dir,
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    )
    const said: string[] = []
    const waiters: (() => void)[] = []
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      said.push(...d.split('\n').filter(Boolean))
      waiters.splice(0).forEach((w) => w())
    })
    let gone = false
    const exited = new Promise((resolve) => child.once('exit', resolve)).then(() => {
      gone = true
      waiters.splice(0).forEach((w) => w())
    })
    const hear = async (word: string, count: number) => {
      while (said.filter((w) => w === word).length < count) {
        assert.ok(!gone, `the child exited before saying ${word}`)
        await new Promise<void>((r) => waiters.push(r))
      }
    }
    try {
      await hear('open', 1)
      const err = await rejectsCode(open({ workdir: dir }), 'ERR_OCRE_BUSY')
      assert.ok(err instanceof OcreError)
      assert.equal(err.message, `working directory ${fs.realpathSync(dir)} is in use by another process (it holds ${fs.realpathSync(dir)}/.lock)`)
      child.stdin.write('close\n')
      await hear('closed', 1)
      const ctx = await open({ workdir: dir })
      await ctx.close()
      child.stdin.write('again\n')
      await hear('open', 2)
      await rejectsCode(open({ workdir: dir }), 'ERR_OCRE_BUSY')
      child.kill('SIGKILL') // a crashed holder: the kernel drops its lock
      await exited
      await openCtx(dir)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('allows a new context on a workdir once the previous one is closed', async () => {
    const dir = workdir()
    const a = await openCtx(dir)
    await a.close()
    const b = await openCtx(dir)
    assert.equal(b.closed, false)
  })

  it('rejects bad options with TypeErrors before reaching C', async () => {
    await rejectsType(() => open({ workdir: 'relative/dir' }), TypeError, /Expected an absolute path for options\.workdir but received/)
    await rejectsType(() => open({ workdir: 42 as unknown as string }), TypeError, /Expected a string for options\.workdir/)
    await rejectsType(() => open({ workdr: '/tmp/x' } as unknown as { workdir: string }), TypeError, /Unknown option 'workdr'.*did you mean 'workdir'/)
    await rejectsType(() => open(null as unknown as { workdir: string }), TypeError, /Expected an object for options/)
  })

  it('reports C failures as OcreError with the reason (ERR_OCRE_IO)', async () => {
    const file = path.join(workdir(), 'a-file')
    fs.writeFileSync(file, 'x')
    const err = await rejectsCode(open({ workdir: path.join(file, 'sub') }), 'ERR_OCRE_IO')
    assert.match(err.message, /cannot create working directory/)
  })

  it('close() is idempotent and also Symbol.asyncDispose', async () => {
    const ctx = await openCtx()
    const p1 = ctx.close()
    const p2 = ctx.close()
    assert.equal(p1, p2)
    await p1
    assert.equal(ctx.closed, true)
    await ctx.close()
    const ctx2 = await openCtx()
    await ctx2[Symbol.asyncDispose]()
    assert.equal(ctx2.closed, true)
  })

  it('rejects create() on a closed context with ERR_OCRE_STATE', async () => {
    const ctx = await openCtx()
    await ctx.close()
    await rejectsCode(ctx.create({ image: 'hello.wasm' }), 'ERR_OCRE_STATE', /closed/)
    await rejectsCode(ctx.run('hello.wasm'), 'ERR_OCRE_STATE')
  })

  it('tracks containers: get(), list() in creation order, size', async () => {
    const ctx = await openCtx()
    const a = await ctx.create({ image: 'hello.wasm', id: 'a' })
    const b = await ctx.create({ image: 'trivial.wasm', id: 'b' })
    const c = await ctx.create({ image: 'hello.wasm' })
    assert.equal(ctx.size, 3)
    assert.deepEqual(
      ctx.list().map((x) => x.id),
      ['a', 'b', c.id],
    )
    assert.equal(ctx.get('a'), a)
    assert.equal(ctx.get('b'), b)
    assert.equal(ctx.get('nope'), undefined)
    await b.remove()
    assert.equal(ctx.size, 2)
    assert.equal(ctx.get('b'), undefined)
    assert.throws(() => ctx.get(1 as unknown as string), TypeError)
  })

  it('close() kills running containers, waits for them and removes everything', async () => {
    const ctx = await openCtx()
    const spin = await ctx.create({ image: 'spin.wasm', detached: true })
    const sleeper = await ctx.create({ image: 'sleeper.wasm', detached: true, stdio: 'ignore' })
    const paused = await ctx.create({ image: 'ticker.wasm', detached: true, stdio: 'ignore' })
    const fsc = await ctx.create({ image: 'fs.wasm', id: 'withfs', capabilities: ['filesystem'] })
    const created = await ctx.create({ image: 'hello.wasm' })
    await spin.start()
    await sleeper.start()
    await paused.start()
    await paused.pause()
    const exits: string[] = []
    for (const c of [spin, sleeper, paused]) c.on('exit', (r) => exits.push(`${c.id}:${r.reason}:${r.exitCode}`))
    assert.ok(fs.existsSync(path.join(ctx.workdir, 'containers', 'withfs')))
    await ctx.close()
    assert.equal(ctx.size, 0)
    for (const c of [spin, sleeper, paused, fsc, created]) {
      assert.equal(c.removed, true, `${c.id} removed`)
    }
    for (const c of [spin, sleeper, paused]) {
      assert.equal(c.status, 'stopped')
      assert.deepEqual(c.exitResult, { exitCode: 137, reason: 'killed' })
    }
    assert.equal(exits.length, 3)
    assert.ok(!fs.existsSync(path.join(ctx.workdir, 'containers', 'withfs')), 'private dir deleted')
    await rejectsCode(spin.start(), 'ERR_OCRE_NOT_FOUND')
  })

  it('close() waits for starts still in flight, then kills and removes those containers', async () => {
    const ctx = await openCtx()
    const containers = await Promise.all(
      Array.from({ length: 8 }, () =>
        ctx.create({ image: 'sleeper.wasm', args: ['60'], detached: true, stdio: 'ignore' }),
      ),
    )
    const starting = containers.map((c) => c.start())
    const closing = ctx.close() // before any start() has settled
    const started = await Promise.allSettled(starting)
    await closing
    assert.deepEqual(
      started.map((s) => s.status),
      containers.map(() => 'fulfilled'),
    )
    for (const c of containers) {
      assert.equal(c.removed, true)
      assert.equal(c.status, 'stopped')
      assert.deepEqual(c.exitResult, { exitCode: 137, reason: 'killed' })
    }
    assert.equal(ctx.size, 0)
  })

  it('close() during creates in flight: each create fails with ERR_OCRE_STATE or its container is removed', async () => {
    const ctx = await openCtx()
    const creating = Array.from({ length: 8 }, () => ctx.create({ image: 'trivial.wasm', stdio: 'ignore' }))
    const closing = ctx.close()
    const created = await Promise.allSettled(creating)
    await closing
    for (const r of created) {
      if (r.status === 'fulfilled') assert.equal(r.value.removed, true)
      else assert.equal((r.reason as OcreError).code, 'ERR_OCRE_STATE')
    }
    assert.equal(ctx.size, 0)
  })

  it('explains in one error what was tried when the addon cannot be loaded', () => {
    const script = `try { require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))}) } catch (e) { process.stdout.write(e.message) }`
    const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PREBUILDS_ONLY: '1', OCRE_NODE_PREBUILD: path.join(ROOT, 'no-such-dir') },
    })
    assert.equal(res.status, 0, res.stderr)
    assert.match(res.stdout, /^ocre-node: cannot load the native addon \(No native build was found/)
    assert.match(res.stdout, /Tried, in this order:\n {2}.*build\/Release\/ocre_node\.node\n {2}.*build\/Debug/)
    assert.match(res.stdout, /prebuilds\/linux-/)
    assert.match(res.stdout, /npm rebuild ocre-node/)
  })
})

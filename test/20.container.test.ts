// Containers: create options, every lifecycle call and transition, the error
// code of each invalid call, events, exit codes, args and env.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { Container, OcreError, open, type ContainerStatus } from '../lib/index'
import {
  makeWorkdir,
  readAll,
  rejectsCode,
  rejectsType,
  removeWorkdir,
  settles,
  useContext,
  waitForOutput,
} from './helpers'

describe('container', () => {
  const t = useContext()

  describe('create', () => {
    it('creates a container in status created with the given id, image and defaults', async () => {
      const c = await t.ctx.create({ image: 'hello.wasm', id: 'web-1' })
      assert.ok(c instanceof Container)
      assert.equal(c.id, 'web-1')
      assert.equal(c.image, 'hello.wasm')
      assert.equal(c.runtime, 'wamr/wasip1')
      assert.equal(c.detached, false)
      assert.equal(c.status, 'created')
      assert.equal(c.exitResult, null)
      assert.equal(c.removed, false)
      assert.equal(c.stdout, null, 'no streams before start')
      assert.equal(c.memoryLimit, 256 * 1024 * 1024)
      await c.remove()
    })

    it('answers every getter after remove() and after the context closed', async () => {
      const c = await t.ctx.create({ image: 'hello.wasm', id: 'gone-1', memoryLimit: 4 << 20, stdio: 'ignore' })
      await c.start()
      await c.wait()
      await c.remove()
      assert.equal(c.removed, true)
      assert.equal(c.memoryLimit, 4 << 20)
      assert.equal(c.tier, 'interpreter')
      assert.equal(c.status, 'stopped')
      assert.equal(c.exitResult?.exitCode, 0)
      assert.deepEqual([c.id, c.image, c.runtime], ['gone-1', 'hello.wasm', 'wamr/wasip1'])
      const workdir = makeWorkdir()
      const ctx = await open({ workdir })
      const d = await ctx.create({ image: 'hello.wasm', memoryLimit: 2 << 20 })
      await ctx.close()
      removeWorkdir(workdir)
      assert.equal(d.removed, true)
      assert.equal(d.memoryLimit, 2 << 20)
      assert.equal(d.tier, 'interpreter')
    })

    it('checks maxOpenFiles and stackSize and applies them', async () => {
      await rejectsType(() => t.ctx.create({ image: 'hello.wasm', maxOpenFiles: 'x' as unknown as number }), TypeError, /maxOpenFiles/)
      await rejectsType(() => t.ctx.create({ image: 'hello.wasm', stackSize: 100 }), RangeError, /stackSize/)
      const dir = makeWorkdir('ocre-files-')
      try {
        const r = await t.ctx.run('hostile.wasm', {
          args: ['openmany', '/d'],
          mounts: [{ source: dir, target: '/d' }],
          maxOpenFiles: 6,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        assert.equal(r.stdout?.toString(), 'opened 3: No file descriptors available\n') // stdio 2 (stdin ignored) + /d
        const deep = await t.ctx.run('hostile.wasm', {
          args: ['recurse', '100000'],
          stackSize: 8 << 20,
          tier: 'interpreter',
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        assert.deepEqual([deep.exitCode, deep.stdout?.toString()], [0, 'depth 100000\n'])
      } finally {
        removeWorkdir(dir)
      }
    })

    it('gives a random 8-hex-digit id when none is given', async () => {
      const a = await t.ctx.create({ image: 'hello.wasm' })
      const b = await t.ctx.create({ image: 'hello.wasm' })
      assert.match(a.id, /^[0-9a-f]{8}$/)
      assert.notEqual(a.id, b.id)
      await a.remove()
      await b.remove()
    })

    it('accepts runtime wamr/wasip1 explicitly and records memoryLimit', async () => {
      const c = await t.ctx.create({ image: 'hello.wasm', runtime: 'wamr/wasip1', memoryLimit: 1 << 20 })
      assert.equal(c.memoryLimit, 1 << 20)
      await c.remove()
    })

    it('rejects bad input with TypeError/RangeError naming the field', async () => {
      const create = (o: unknown) => () => t.ctx.create(o as never)
      await rejectsType(create(undefined), TypeError, /Expected an object for options but received undefined/)
      await rejectsType(create({}), TypeError, /Expected a string for options\.image but received undefined/)
      await rejectsType(create({ image: '' }), TypeError, /Expected a non-empty string for options\.image/)
      await rejectsType(create({ image: 7 }), TypeError, /options\.image but received type number \(7\)/)
      await rejectsType(create({ image: 'hello.wasm', argz: [] }), TypeError, /Unknown option 'argz'.*did you mean 'args'/)
      await rejectsType(create({ image: 'hello.wasm', detach: true }), TypeError, /did you mean 'detached'/)
      await rejectsType(create({ image: 'hello.wasm', args: 'x' }), TypeError, /Expected an array of strings for options\.args/)
      await rejectsType(create({ image: 'hello.wasm', args: ['a', 1] }), TypeError, /options\.args\[1\]/)
      await rejectsType(create({ image: 'hello.wasm', args: ['a\0b'] }), TypeError, /without NUL/)
      await rejectsType(create({ image: 'hello.wasm', env: { 'A=B': 'x' } }), TypeError, /options\.env key/)
      await rejectsType(create({ image: 'hello.wasm', env: { A: 1 } }), TypeError, /options\.env\.A/)
      await rejectsType(create({ image: 'hello.wasm', env: ['A=1'] }), TypeError, /options\.env/)
      await rejectsType(create({ image: 'hello.wasm', detached: 'yes' }), TypeError, /a boolean for options\.detached/)
      await rejectsType(create({ image: 'hello.wasm', memoryLimit: -1 }), RangeError, /options\.memoryLimit/)
      await rejectsType(create({ image: 'hello.wasm', memoryLimit: 1.5 }), TypeError, /an integer for options\.memoryLimit/)
      await rejectsType(create({ image: 'hello.wasm', capabilities: 'filesystem' }), TypeError, /options\.capabilities/)
      await rejectsType(create({ image: 'hello.wasm', mounts: [{ source: 'rel', target: '/d' }] }), TypeError, /absolute path for options\.mounts\[0\]\.source/)
      await rejectsType(create({ image: 'hello.wasm', mounts: [{ source: '/tmp', target: '' }] }), TypeError, /non-empty path/)
      await rejectsType(create({ image: 'hello.wasm', mounts: [{ source: '/tmp', target: '/a:b' }] }), TypeError, /without ':'/)
      await rejectsType(create({ image: 'hello.wasm', mounts: [{ source: '/tmp', target: '/d', ro: true }] }), TypeError, /Unknown option 'ro'/)
      await rejectsType(create({ image: 'hello.wasm', stdio: 'piped' }), TypeError, /options\.stdio/)
      await rejectsType(create({ image: 'hello.wasm', stdio: ['pipe', -1] }), TypeError, /options\.stdio\[1\]/)
      assert.equal(t.ctx.size, 0, 'nothing was created')
    })

    it('reports C validation failures as OcreError codes, leaving nothing behind', async () => {
      await rejectsCode(t.ctx.create({ image: 'Hello.wasm' }), 'ERR_OCRE_INVALID_NAME', /image name/)
      await rejectsCode(t.ctx.create({ image: '../hello.wasm' }), 'ERR_OCRE_INVALID_NAME')
      await rejectsCode(t.ctx.create({ image: '.hidden' }), 'ERR_OCRE_INVALID_NAME')
      await rejectsCode(t.ctx.create({ image: 'hello.wasm', id: 'Web' }), 'ERR_OCRE_INVALID_NAME', /container id/)
      await rejectsCode(t.ctx.create({ image: 'hello.wasm', id: 'a/b' }), 'ERR_OCRE_INVALID_NAME')
      await rejectsCode(t.ctx.create({ image: 'missing.wasm' }), 'ERR_OCRE_IMAGE_NOT_FOUND', /missing\.wasm/)
      await rejectsCode(t.ctx.create({ image: 'hello.wasm', runtime: 'nope/1' }), 'ERR_OCRE_RUNTIME', /unknown runtime 'nope\/1'/)
      await rejectsCode(t.ctx.create({ image: 'hello.wasm', runtime: '' }), 'ERR_OCRE_RUNTIME')
      await rejectsCode(
        t.ctx.create({ image: 'hello.wasm', capabilities: ['teleport' as never] }),
        'ERR_OCRE_INVALID_CAPABILITY',
        /teleport/,
      )
      await rejectsCode(
        t.ctx.create({ image: 'hello.wasm', mounts: [{ source: '/definitely/not/here', target: '/d' }] }),
        'ERR_OCRE_INVALID_MOUNT',
        /not a directory/,
      )
      fs.writeFileSync(path.join(t.workdir, 'images', 'junk.wasm'), 'not wasm at all')
      await rejectsCode(t.ctx.create({ image: 'junk.wasm', id: 'junk', capabilities: ['filesystem'] }), 'ERR_OCRE_INVALID_IMAGE', /junk\.wasm/)
      assert.ok(!fs.existsSync(path.join(t.workdir, 'containers', 'junk')), 'no private dir left')
      assert.equal(t.ctx.size, 0)
    })

    it('rejects a duplicate id with ERR_OCRE_EXISTS', async () => {
      const a = await t.ctx.create({ image: 'hello.wasm', id: 'dup' })
      const err = await rejectsCode(t.ctx.create({ image: 'trivial.wasm', id: 'dup' }), 'ERR_OCRE_EXISTS', /dup/)
      assert.ok(err instanceof OcreError)
      await a.remove()
      const b = await t.ctx.create({ image: 'trivial.wasm', id: 'dup' })
      await b.remove()
    })

    it('gives async OcreErrors the stack of the caller', async () => {
      async function someCallerFunction() {
        return t.ctx.create({ image: 'missing.wasm' })
      }
      const err = await rejectsCode(someCallerFunction(), 'ERR_OCRE_IMAGE_NOT_FOUND')
      assert.match(err.stack ?? '', /^OcreError: image 'missing\.wasm' not found/)
      assert.match(err.stack ?? '', /someCallerFunction/)
      assert.match(err.stack ?? '', /20\.container\.test\.ts/)
    })

    it('gives create() errors the stack of a non-async caller: known image, image to validate, pool-loaded image', async () => {
      const images = path.join(t.workdir, 'images')
      // A valid module over the 64 KiB inline limit: trivial.wasm plus a custom section.
      const big = Buffer.concat([
        fs.readFileSync(path.join(images, 'trivial.wasm')),
        Buffer.from([0, 0x84, 0x80, 0x04, 3, 0x70, 0x61, 0x64]), // id 0, size 65540 (LEB128), name "pad"
        Buffer.alloc(65536),
      ])
      fs.writeFileSync(path.join(images, 'big-pad.wasm'), big)
      fs.copyFileSync(path.join(images, 'hello.wasm'), path.join(images, 'fresh-copy.wasm'))
      const held = await t.ctx.create({ image: 'trivial.wasm', id: 'held' })
      function plainCreateCaller(image: string) {
        return t.ctx.create({ image, id: 'held' })
      }
      // trivial.wasm is known (no wait); fresh-copy.wasm is validated first;
      // big-pad.wasm is loaded on the pool: every error names the caller.
      for (const image of ['trivial.wasm', 'fresh-copy.wasm', 'big-pad.wasm']) {
        const err = await rejectsCode(plainCreateCaller(image), 'ERR_OCRE_EXISTS', /held/)
        assert.match(err.stack ?? '', /plainCreateCaller/, image)
        assert.match(err.stack ?? '', /20\.container\.test\.ts/, image)
      }
      const c = await t.ctx.create({ image: 'big-pad.wasm', stdio: 'ignore' })
      assert.deepEqual(await c.start(), { exitCode: 0, reason: 'exit' })
      await c.remove()
      await held.remove()
    })

    it('gives OcreErrors of start() and remove() the stack of the caller', async () => {
      const c = await t.ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
      await c.start()
      async function startingCaller() {
        return c.start()
      }
      async function removingCaller() {
        return c.remove()
      }
      const s = await rejectsCode(startingCaller(), 'ERR_OCRE_STATE', /running/)
      assert.match(s.stack ?? '', /^OcreError: cannot .* container .*: it is running/)
      assert.match(s.stack ?? '', /startingCaller/)
      const r = await rejectsCode(removingCaller(), 'ERR_OCRE_STATE', /running/)
      assert.match(r.stack ?? '', /^OcreError: cannot remove container/)
      assert.match(r.stack ?? '', /removingCaller/)
      assert.match(r.stack ?? '', /20\.container\.test\.ts/)
      await c.kill()
      await c.remove()
    })
  })

  describe('lifecycle', () => {
    it('attached start() resolves at exit with the result; status created -> running -> stopped', async () => {
      const c = await t.ctx.create({ image: 'hello.wasm' })
      const statuses: ContainerStatus[] = []
      const exits: unknown[] = []
      c.on('status', (s) => statuses.push(s))
      c.on('exit', (r) => exits.push(r))
      const p = c.start()
      const out = readAll(c.stdout!)
      const result = await p
      assert.deepEqual(result, { exitCode: 0, reason: 'exit' })
      assert.equal((await out).toString(), 'Hello from WebAssembly!\n')
      assert.equal(c.status, 'stopped')
      assert.deepEqual(statuses, ['running', 'stopped'])
      assert.deepEqual(exits, [{ exitCode: 0, reason: 'exit' }])
      assert.deepEqual(c.exitResult, result)
      await c.remove()
    })

    it('detached start() resolves once running; wait() resolves at exit', async () => {
      // stdin-close runs until its stdin ends: start() must resolve while it runs
      const c = await t.ctx.create({ image: 'stdin-close.wasm', detached: true })
      const exits: unknown[] = []
      c.on('exit', (r) => exits.push(r))
      assert.equal(await c.start(), undefined)
      assert.equal(c.status, 'running')
      assert.deepEqual(exits, [], 'start() did not wait for the exit')
      const out = readAll(c.stdout!)
      c.stdin!.end('abc')
      const r = await c.wait()
      assert.equal((await out).toString(), 'eof after 3 bytes\n')
      assert.deepEqual(r, { exitCode: 0, reason: 'exit' })
      assert.equal(c.status, 'stopped')
      // wait() on a stopped container: the last result at once
      assert.deepEqual(await c.wait(), r)
      await c.remove()
    })

    it('returns the exit code of main and of exit()/proc_exit', async () => {
      for (const [args, code] of [
        [[], 0],
        [['3'], 3],
        [['255'], 255],
        [['42', 'proc'], 42],
        [['0', 'proc'], 0],
      ] as const) {
        const c = await t.ctx.create({ image: 'exit-code.wasm', args: [...args] })
        assert.deepEqual(await c.start(), { exitCode: code, reason: 'exit' }, `exit-code ${args.join(' ')}`)
        await c.remove()
      }
    })

    it('passes args (after argv[0] = image name) and env in order', async () => {
      const r = await t.ctx.run('args-env.wasm', {
        args: ['--port', '80', 'with space', ''],
        env: { K: 'v', EMPTY: '', 'X.Y': 'a=b' },
      })
      assert.equal(r.exitCode, 0)
      assert.equal(
        r.stdout?.toString(),
        [
          'argc=5',
          'argv[0]=args-env.wasm',
          'argv[1]=--port',
          'argv[2]=80',
          'argv[3]=with space',
          'argv[4]=',
          'env:K=v',
          'env:EMPTY=',
          'env:X.Y=a=b',
          '',
        ].join('\n'),
      )
    })

    it('restarts a stopped container with fresh stdio streams, counting runs', async () => {
      const c = await t.ctx.create({ image: 'hello.wasm' })
      const outputs: string[] = []
      for (let i = 0; i < 3; i++) {
        const p = c.start()
        const out = readAll(c.stdout!)
        assert.deepEqual(await p, { exitCode: 0, reason: 'exit' })
        outputs.push((await out).toString())
      }
      assert.deepEqual(outputs, Array(3).fill('Hello from WebAssembly!\n'))
      await c.remove()
    })

    it('a restart from an exit listener gets its own streams and result', async () => {
      const c = await t.ctx.create({ image: 'exit-code.wasm', args: ['5'] })
      const results: number[] = []
      let second: Promise<unknown> | undefined
      c.on('exit', (r) => {
        results.push(r.exitCode)
        if (results.length === 1) second = c.start()
      })
      assert.deepEqual(await c.start(), { exitCode: 5, reason: 'exit' })
      assert.ok(second)
      assert.deepEqual(await second, { exitCode: 5, reason: 'exit' })
      assert.deepEqual(results, [5, 5])
      await c.remove()
    })

    it('a restart before the previous exit event was delivered keeps the new run intact', async () => {
      const c = await t.ctx.create({ image: 'sleeper.wasm', args: ['0.05'], detached: true })
      let exits = 0
      c.on('exit', () => exits++)
      await c.start()
      // Block the event loop: the run ends in C, its exit event stays queued.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300)
      assert.equal(exits, 0, 'exit event not delivered yet')
      const restarted = c.start() // a new run, with new streams
      assert.equal(exits, 1, 'the previous run was settled first')
      const stdin = c.stdin!
      const out = readAll(c.stdout!)
      await restarted
      assert.equal(stdin.destroyed, false, 'the new stdin is not closed by the old run ending')
      assert.deepEqual(await c.wait(), { exitCode: 0, reason: 'exit' })
      assert.equal((await out).toString(), 'sleeping\nwoke\n')
      assert.equal(exits, 2)
      await c.remove()
    })

    it('invalid calls in created state: wait/kill/stop/pause/unpause -> ERR_OCRE_STATE', async () => {
      const c = await t.ctx.create({ image: 'hello.wasm' })
      await rejectsCode(c.wait(), 'ERR_OCRE_STATE', /cannot wait for container .*: it is created/)
      await rejectsCode(c.kill(), 'ERR_OCRE_STATE', /cannot kill/)
      await rejectsCode(c.stop(), 'ERR_OCRE_STATE', /cannot stop/)
      await rejectsCode(c.pause(), 'ERR_OCRE_STATE', /cannot pause/)
      await rejectsCode(c.unpause(), 'ERR_OCRE_STATE', /cannot unpause/)
      assert.equal(c.status, 'created')
      await c.remove()
    })

    it('invalid calls while running: start/unpause/remove -> ERR_OCRE_STATE', async () => {
      const c = await t.ctx.create({ image: 'sleeper.wasm', detached: true, stdio: 'ignore' })
      await c.start()
      await rejectsCode(c.start(), 'ERR_OCRE_STATE', /cannot (start|change the stdio of)/)
      await rejectsCode(c.unpause(), 'ERR_OCRE_STATE', /cannot unpause/)
      await rejectsCode(c.remove(), 'ERR_OCRE_STATE', /cannot remove .*: it is running/)
      assert.equal(c.status, 'running')
      await c.kill()
      await c.remove()
    })

    it('a second start() while one is in flight fails with ERR_OCRE_STATE', async () => {
      const c = await t.ctx.create({ image: 'sleeper.wasm', detached: true, stdio: 'ignore' })
      const first = c.start()
      await rejectsCode(c.start(), 'ERR_OCRE_STATE')
      await first
      assert.equal(c.status, 'running')
      await c.kill()
      await c.remove()
    })

    it('invalid calls while stopped: pause/unpause -> ERR_OCRE_STATE; kill/stop are no-ops', async () => {
      const c = await t.ctx.create({ image: 'trivial.wasm' })
      await c.start()
      await rejectsCode(c.pause(), 'ERR_OCRE_STATE', /it is stopped/)
      await rejectsCode(c.unpause(), 'ERR_OCRE_STATE')
      assert.deepEqual(await c.kill(), { exitCode: 0, reason: 'exit' })
      assert.deepEqual(await c.stop(), { exitCode: 0, reason: 'exit' })
      await c.remove()
    })

    it('pause() parks a container at its next host call; unpause() resumes it', async () => {
      const c = await t.ctx.create({ image: 'ticker.wasm', args: ['5'], detached: true })
      const statuses: ContainerStatus[] = []
      c.on('status', (s) => statuses.push(s))
      await c.start()
      let last = -1
      c.stdout!.on('data', (d: Buffer) => {
        for (const m of d.toString().matchAll(/tick (\d+)\n/g)) last = Number(m[1])
      })
      await waitForOutput(c.stdout!, /tick 3\n/)
      await c.pause()
      assert.equal(c.status, 'paused')
      await rejectsCode(c.pause(), 'ERR_OCRE_STATE', /it is paused/)
      await rejectsCode(c.start(), 'ERR_OCRE_STATE')
      await rejectsCode(c.remove(), 'ERR_OCRE_STATE')
      // (that nothing is printed while paused is measured in bench/timing.mjs)
      await c.unpause()
      assert.equal(c.status, 'running')
      const resumed = last + 3
      await settles(waitForOutput(c.stdout!, new RegExp(`tick ${resumed}\\n`)), `tick ${resumed} after unpause`)
      await c.kill()
      assert.deepEqual(statuses, ['running', 'paused', 'running', 'stopped'])
      await c.remove()
    })

    it('stop() lets a stdin reader finish (EOF) within the grace period', async () => {
      const c = await t.ctx.create({ image: 'stdin-close.wasm', detached: true })
      await c.start()
      const out = readAll(c.stdout!)
      await new Promise<void>((resolve, reject) => c.stdin!.write('12345', (err) => (err ? reject(err) : resolve())))
      const r = await settles(c.stop({ timeout: 5000 }), 'stop')
      assert.deepEqual(r, { exitCode: 0, reason: 'exit' })
      assert.equal((await out).toString(), 'eof after 5 bytes\n')
      await c.remove()
    })

    it('stop() kills after the grace period when the container does not finish', async () => {
      const c = await t.ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
      await c.start()
      const stopped = c.stop({ timeout: 200 })
      const r = await stopped
      assert.deepEqual(r, { exitCode: 137, reason: 'killed' })
      await rejectsType(() => c.stop({ timeout: -1 }), RangeError, /options\.timeout/)
      await rejectsType(() => c.stop({ timout: 1 } as never), TypeError, /did you mean 'timeout'/)
      await c.remove()
    })

    it('remove({ force: true }) kills a running container first; remove() is idempotent', async () => {
      const c = await t.ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
      await c.start()
      await c.remove({ force: true })
      assert.equal(c.removed, true)
      assert.deepEqual(c.exitResult, { exitCode: 137, reason: 'killed' })
      await c.remove()
      assert.equal(t.ctx.get(c.id), undefined)
    })

    it('a removed container fails lifecycle calls with ERR_OCRE_NOT_FOUND', async () => {
      const c = await t.ctx.create({ image: 'hello.wasm' })
      await c.remove()
      assert.equal(c.removed, true)
      assert.equal(c.id.length, 8, 'getters still work')
      await rejectsCode(c.start(), 'ERR_OCRE_NOT_FOUND', /removed/)
      await rejectsCode(c.wait(), 'ERR_OCRE_NOT_FOUND')
      await rejectsCode(c.kill(), 'ERR_OCRE_NOT_FOUND')
      await rejectsCode(c.pause(), 'ERR_OCRE_NOT_FOUND')
      await rejectsCode(c.unpause(), 'ERR_OCRE_NOT_FOUND')
      await rejectsCode(c.stop(), 'ERR_OCRE_NOT_FOUND')
    })

    it('applies memoryLimit: memory.grow fails past it', async () => {
      const grow = async (memoryLimit?: number) => {
        const r = await t.ctx.run('trap.wasm', { args: ['grow'], ...(memoryLimit ? { memoryLimit } : {}) })
        assert.equal(r.exitCode, 0, r.stderr?.toString())
        const m = /grew (\d+) pages/.exec(r.stdout?.toString() ?? '')
        assert.ok(m, r.stdout?.toString())
        return Number(m[1])
      }
      const limited = await grow(1 << 20) // 16 pages of 64 KiB
      assert.ok(limited <= 16, `grew ${limited} pages under a 1 MiB limit`)
      const unlimited = await grow()
      assert.ok(unlimited > 1000, `grew ${unlimited} pages by default`)
    })

    it('filesystem capability: a private / that survives restarts and goes with remove()', async () => {
      const c = await t.ctx.create({ image: 'fs.wasm', id: 'files', capabilities: ['filesystem'], args: ['write', '/note', 'hi'] })
      let out = readAll((c.start(), c.stdout!))
      assert.deepEqual(await c.wait(), { exitCode: 0, reason: 'exit' })
      assert.equal((await out).toString(), 'ok\n')
      const dir = path.join(t.workdir, 'containers', 'files')
      assert.equal(fs.readFileSync(path.join(dir, 'note'), 'utf8'), 'hi')
      // restart: same private dir
      const p = c.start()
      out = readAll(c.stdout!)
      await p
      assert.equal((await out).toString(), 'ok\n')
      await c.remove()
      assert.ok(!fs.existsSync(dir))
    })

    it('a leftover private directory is never reused by accident: ERR_OCRE_EXISTS, untouched', async () => {
      const dir = path.join(t.workdir, 'containers', 'leftover')
      fs.mkdirSync(dir)
      fs.writeFileSync(path.join(dir, 'secret'), 'of a crashed process')
      await rejectsCode(
        t.ctx.create({ image: 'fs.wasm', id: 'leftover', capabilities: ['filesystem'] }),
        'ERR_OCRE_EXISTS',
        /^container leftover: its private directory .*\/containers\/leftover already exists \(left by an earlier process\?\); delete it, or restore it explicitly$/,
      )
      assert.equal(fs.readFileSync(path.join(dir, 'secret'), 'utf8'), 'of a crashed process')
      assert.equal(t.ctx.get('leftover'), undefined)
      // without the capability the directory is not used: no conflict
      const plain = await t.ctx.create({ image: 'fs.wasm', id: 'leftover' })
      await plain.remove()
      assert.ok(fs.existsSync(path.join(dir, 'secret')), 'not its directory: not deleted')

      // restoreDirectory: the container gets it back, and remove() deletes it
      const r = await t.ctx.run('fs.wasm', { id: 'leftover', capabilities: ['filesystem'], restoreDirectory: true, args: ['read', '/secret'] })
      assert.equal(r.stdout?.toString(), 'of a crashed process')
      assert.ok(!fs.existsSync(dir))
      // and with nothing to restore it starts empty
      const fresh = await t.ctx.run('fs.wasm', { id: 'leftover', capabilities: ['filesystem'], restoreDirectory: true, args: ['ls', '/'] })
      assert.equal(fresh.stdout?.toString(), '')
    })

    it('restoreDirectory refuses a symlink in place of the directory (and leaves its target alone)', async () => {
      const target = fs.mkdtempSync(path.join(t.workdir, 'elsewhere-'))
      fs.writeFileSync(path.join(target, 'keep'), 'x')
      const link = path.join(t.workdir, 'containers', 'linked')
      fs.symlinkSync(target, link)
      await rejectsCode(
        t.ctx.create({ image: 'fs.wasm', id: 'linked', capabilities: ['filesystem'], restoreDirectory: true }),
        'ERR_OCRE_IO',
        /cannot restore .*linked: not a directory/,
      )
      assert.ok(fs.existsSync(path.join(target, 'keep')))
      fs.unlinkSync(link)
      await rejectsType(() => t.ctx.create({ image: 'fs.wasm', restoreDirectory: 'yes' as never }), TypeError, /options\.restoreDirectory/)
    })

    it('a mount source that vanished before start: the run ends with a one-line message naming it', async () => {
      const host = fs.mkdtempSync(path.join(t.workdir, 'gone-'))
      const c = await t.ctx.create({ image: 'fs.wasm', args: ['ls', '/data'], mounts: [{ source: host, target: '/data' }] })
      fs.rmdirSync(host)
      const out = readAll((c.start(), c.stdout!))
      assert.deepEqual(await c.wait(), {
        exitCode: 134,
        reason: 'trap',
        message: `cannot open ${host}, mounted at /data: No such file or directory`,
      })
      assert.equal((await out).length, 0, 'stdout ended: no copy of it was left open')
      await c.remove()
    })

    it('mounts a host directory at a guest path, read-only when asked', async () => {
      const host = fs.mkdtempSync(path.join(t.workdir, 'vol-'))
      fs.writeFileSync(path.join(host, 'in.txt'), 'from host')
      const rw = await t.ctx.run('fs.wasm', { args: ['read', '/data/in.txt'], mounts: [{ source: host, target: '/data' }] })
      assert.equal(rw.stdout?.toString(), 'from host')
      const w = await t.ctx.run('fs.wasm', { args: ['write', '/data/out.txt', 'x'], mounts: [{ source: host, target: '/data' }] })
      assert.equal(w.stdout?.toString(), 'ok\n')
      assert.equal(fs.readFileSync(path.join(host, 'out.txt'), 'utf8'), 'x')
      const ro = await t.ctx.run('fs.wasm', {
        args: ['write', '/data/ro.txt', 'x'],
        mounts: [{ source: host, target: '/data', readonly: true }],
      })
      assert.equal(ro.exitCode, 1)
      assert.match(ro.stdout?.toString() ?? '', /^error: /)
      assert.ok(!fs.existsSync(path.join(host, 'ro.txt')))
    })

    it("a module that cannot be instantiated: start() resolves, the run ends with reason 'trap', 134 and the engine's message", async () => {
      // trap.wasm needs 2 pages at instantiation: a 64 KiB limit refuses it
      const c = await t.ctx.create({ image: 'trap.wasm', args: ['grow'], memoryLimit: 65536 })
      const statuses: ContainerStatus[] = []
      c.on('status', (s) => statuses.push(s))
      const result = await c.start()
      assert.equal(result.reason, 'trap')
      assert.equal(result.exitCode, 134)
      assert.match(result.message ?? '', /allocate memory failed/)
      assert.equal(c.status, 'stopped')
      assert.deepEqual(statuses, ['running', 'stopped'])
      assert.deepEqual(await c.wait(), result)
      // the same through run(), and a restart is possible (it fails the same way)
      const r = await t.ctx.run('trap.wasm', { args: ['grow'], memoryLimit: 65536 })
      assert.equal(r.reason, 'trap')
      assert.equal(r.exitCode, 134)
      assert.equal((await c.start()).exitCode, 134)
      await c.remove()
    })

    it('kill() right after a start() that has not resolved yet kills the run before it begins', async () => {
      const c = await t.ctx.create({ image: 'spin.wasm', detached: true, stdio: 'ignore' })
      for (let i = 0; i < 20; i++) {
        const started = c.start()
        const killed = c.kill()
        await started
        const r = await killed
        assert.equal(r.reason, 'killed')
        assert.equal(r.exitCode, 137)
      }
      await c.remove()
    })

    it('memory is unchanged across a sleep long enough for the idle trim (1 s)', async () => {
      const r = await t.ctx.run('memkeep.wasm', { args: ['1.1'] })
      assert.equal(r.stdout?.toString(), 'kept\n')
      assert.equal(r.exitCode, 0)
    })

    it('containers run one after another on reused threads each get their own stdio, args and env', async () => {
      for (let i = 0; i < 20; i++) {
        const a = await t.ctx.run('args-env.wasm', { args: [`a${i}`], env: { RUN: `a${i}` } })
        assert.equal(a.stdout?.toString(), `argc=2\nargv[0]=args-env.wasm\nargv[1]=a${i}\nenv:RUN=a${i}\n`)
        const h = await t.ctx.run('hello.wasm')
        assert.equal(h.stdout?.toString(), 'Hello from WebAssembly!\n')
        assert.equal(h.stderr?.toString(), '')
        const e = await t.ctx.run('exit-code.wasm', { args: [String(i)], stdio: 'ignore' })
        assert.equal(e.exitCode, i)
      }
    })
  })
})

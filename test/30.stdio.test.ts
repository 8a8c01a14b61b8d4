// stdio: 'pipe' (net.Socket over pipe2 fds), 'inherit', 'ignore', an fd.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT, makeWorkdir, readAll, rejectsType, removeWorkdir, useContext, waitForOutput, settles } from './helpers'

describe('stdio', () => {
  const t = useContext()

  it("defaults to 'pipe' for all three: a cat round trip of 1 MiB of binary data", async () => {
    const c = await t.ctx.create({ image: 'cat.wasm' })
    const data = randomBytes(1 << 20)
    const p = c.start()
    assert.ok(c.stdin && c.stdout && c.stderr, 'three streams')
    const out = readAll(c.stdout)
    const err = readAll(c.stderr)
    c.stdin.end(data)
    assert.deepEqual(await p, { exitCode: 0, reason: 'exit' })
    assert.ok((await out).equals(data), 'same bytes back')
    assert.equal((await err).length, 0)
    await c.remove()
  })

  it("stdout ends ('end') when the container exits, and 'close' follows 'exit'", async () => {
    const c = await t.ctx.create({ image: 'ticker.wasm', args: ['10', '3'], detached: true })
    const order: string[] = []
    await c.start()
    c.stdout!.on('data', () => {})
    c.stdout!.on('end', () => order.push('end'))
    c.on('exit', () => order.push('exit'))
    const closed = new Promise((resolve) => c.once('close', resolve))
    const r = await settles(closed, 'close')
    order.push('close')
    assert.deepEqual(r, { exitCode: 0, reason: 'exit' })
    assert.equal(order[order.length - 1], 'close')
    assert.ok(order.includes('end') && order.includes('exit'))
    await c.remove()
  })

  it('stdout of a killed container ends too', async () => {
    const c = await t.ctx.create({ image: 'spin.wasm', detached: true })
    await c.start()
    const out = readAll(c.stdout!)
    await waitForOutput(c.stdout!, /spinning\n/)
    await c.kill()
    assert.equal((await settles(out, 'stdout end')).toString(), 'spinning\n')
    await c.remove()
  })

  it('writing to stdin after the container exited does not crash (EPIPE is absorbed)', async () => {
    const c = await t.ctx.create({ image: 'hello.wasm' })
    const p = c.start()
    const stdin = c.stdin!
    await p
    let callbackError: Error | null | undefined
    await new Promise<void>((resolve) => {
      stdin.write(Buffer.alloc(1 << 16), (e) => {
        callbackError = e
        resolve()
      })
    })
    assert.ok(callbackError, 'the write failed')
    // A stdin pipe whose reader is gone while the container runs: EPIPE.
    const c2 = await t.ctx.create({ image: 'hello.wasm', detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
    await c2.start()
    const in2 = c2.stdin!
    for (let i = 0; i < 20; i++) in2.write(Buffer.alloc(8192))
    await c2.wait()
    // its callback reports the failure (EPIPE); nothing crashes meanwhile
    const late = await new Promise<Error | null | undefined>((resolve) => in2.write('more', resolve))
    assert.ok(late, 'the late write failed')
    await c.remove()
    await c2.remove()
  })

  it("'ignore' costs no host fd: 20 sleepers started with stdio 'ignore' add none", async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length
    const before = fds()
    const cs = []
    for (let i = 0; i < 20; i++) {
      const c = await t.ctx.create({ image: 'sleeper.wasm', args: ['60'], stdio: 'ignore', detached: true })
      await c.start()
      cs.push(c)
    }
    // A run that is still instantiating holds its stdio placeholders
    // (memfds, closed right after: native/runtime/wamr/stdio.c), and start()
    // returns before that: wait for the count to come back, which it never
    // would if 'ignore' held an fd per container.
    await settles(
      (async () => {
        while (fds() > before) await new Promise((resolve) => setTimeout(resolve, 5))
      })(),
      `fd count back to ${before}`,
    )
    assert.ok(fds() <= before, `${fds()} fds, ${before} before`)
    for (const c of cs) {
      assert.deepEqual(await c.kill(), { exitCode: 137, reason: 'killed' })
      await c.remove()
    }
  })

  it("'ignore' acts as /dev/null: no streams, no output", async () => {
    const r = await t.ctx.run('hello.wasm', { stdio: 'ignore' })
    assert.deepEqual(r, { exitCode: 0, reason: 'exit' })
    const c = await t.ctx.create({ image: 'cat.wasm', stdio: ['ignore', 'pipe', 'ignore'] })
    const p = c.start()
    assert.equal(c.stdin, null)
    assert.equal(c.stderr, null)
    const out = readAll(c.stdout!)
    assert.deepEqual(await p, { exitCode: 0, reason: 'exit' }, 'cat reads EOF from /dev/null')
    assert.equal((await out).length, 0)
    await c.remove()
  })

  it('a file descriptor (or a stream with an fd) receives the output', async () => {
    const file = path.join(t.workdir, 'out.txt')
    const fd = fs.openSync(file, 'w')
    try {
      const r = await t.ctx.run('hello.wasm', { stdio: ['ignore', fd, 'pipe'] })
      assert.equal(r.exitCode, 0)
      assert.equal(r.stdout, undefined, 'not collected: not a pipe')
      assert.deepEqual(r.stderr, Buffer.alloc(0))
      const r2 = await t.ctx.run('trap.wasm', { stdio: ['ignore', 'ignore', { fd }] })
      assert.equal(r2.exitCode, 2, 'usage error')
    } finally {
      fs.closeSync(fd)
    }
    const text = fs.readFileSync(file, 'utf8')
    assert.match(text, /^Hello from WebAssembly!\nusage/)
  })

  it('an fd that is not open is reported by the runtime (ERR_OCRE_INVALID_ARGUMENT)', async () => {
    const c = await t.ctx.create({ image: 'hello.wasm', stdio: ['ignore', 987654, 'ignore'] })
    const err = await rejectsType(() => c.start(), Error, /stdio fd 987654 is not open/)
    assert.equal((err as Error & { code: string }).code, 'ERR_OCRE_INVALID_ARGUMENT')
    assert.equal(c.status, 'created')
    await c.remove()
  })

  it("'inherit' writes to the process's own stdout and stderr", function () {
    this.timeout(30_000)
    const script = `
      const { open } = require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))})
      ;(async () => {
        const ctx = await open({ workdir: process.argv[1] })
        const r = await ctx.run('hello.wasm', { stdio: 'inherit' })
        const e = await ctx.run('trap.wasm', { stdio: ['ignore', 'inherit', 'inherit'] })
        await ctx.close()
        process.stdout.write('exit ' + r.exitCode + ' ' + e.exitCode + ' ' + (r.stdout === undefined) + '\\n')
      })()
    `
    const dir = makeWorkdir()
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script, dir], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      assert.equal(out, 'Hello from WebAssembly!\nexit 0 2 true\n')
    } finally {
      removeWorkdir(dir)
    }
  })

  it('carries large stderr output completely (chatty)', async () => {
    const r = await t.ctx.run('chatty.wasm', { args: ['20000'] })
    assert.equal(r.exitCode, 0)
    const lines = r.stderr!.toString().split('\n')
    assert.equal(lines.length, 20001)
    assert.equal(lines[0], 'line 0')
    assert.equal(lines[19999], 'line 19999')
    assert.equal(r.stdout!.length, 0)
  })

  it('run() writes options.input to stdin and closes it', async () => {
    const r = await t.ctx.run('cat.wasm', { input: 'abc\ndef' })
    assert.equal(r.stdout?.toString(), 'abc\ndef')
    const r2 = await t.ctx.run('stdin-close.wasm', { input: Buffer.from([1, 2, 3]) })
    assert.equal(r2.stdout?.toString(), 'eof after 3 bytes\n')
    const r3 = await t.ctx.run('stdin-close.wasm')
    assert.equal(r3.stdout?.toString(), 'eof after 0 bytes\n')
    await rejectsType(() => t.ctx.run('cat.wasm', { input: 42 as never }), TypeError, /options\.input/)
  })

  it('leaks no file descriptors over many runs', async () => {
    const count = () => fs.readdirSync('/proc/self/fd').length
    await t.ctx.run('hello.wasm')
    const before = count()
    for (let i = 0; i < 50; i++) {
      await t.ctx.run('cat.wasm', { input: 'x' })
      await t.ctx.run('hello.wasm', { stdio: 'ignore' })
    }
    // streams close on their own events: give the loop turns, not time
    for (let i = 0; i < 1000 && count() > before + 2; i++) await new Promise((r) => setImmediate(r))
    assert.ok(count() <= before + 2, `fds: ${before} -> ${count()}`)
  })
})

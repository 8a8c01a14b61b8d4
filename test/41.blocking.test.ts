// Guests blocked in host I/O (hostile.wasm: sockets, FIFOs in a mount) end
// at kill(), at ctx.close() and at process exit. The C side, with every
// blocking call and its latency, is native/test/test_blocking.c; the kill
// latencies are bench rows (`node bench/run.mjs --only killblock`).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { type Container, type Context, open } from '../lib/index'
import { ROOT, makeWorkdir, removeWorkdir, runTsChild, settles, waitForOutput } from './helpers'

/** A listening TCP server that accepts and never sends (its port). */
async function silentServer(): Promise<{ port: string; close: () => void }> {
  const peers: net.Socket[] = []
  const server = net.createServer((s) => peers.push(s))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = String((server.address() as net.AddressInfo).port)
  return { port, close: () => (peers.forEach((p) => p.destroy()), server.close()) }
}

/** A port nothing listens on (for the guest's own listener). */
async function freePort(): Promise<string> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = String((s.address() as net.AddressInfo).port)
  await new Promise((r) => s.close(r))
  return port
}

describe('guests blocked in host I/O end at kill, close and exit', function () {
  this.timeout(30_000)
  let workdir: string
  let ctx: Context
  let server: { port: string; close: () => void }
  let fifoDir: string
  let keep: number

  before(async () => {
    workdir = makeWorkdir()
    ctx = await open({ workdir })
    server = await silentServer()
    fifoDir = fs.mkdtempSync(path.join(workdir, 'fifo-'))
    execFileSync('mkfifo', [path.join(fifoDir, 'fifo')])
    keep = fs.openSync(path.join(fifoDir, 'fifo'), fs.constants.O_RDWR) // a writer that never writes
  })
  after(async () => {
    fs.closeSync(keep)
    server.close()
    await ctx.close()
    removeWorkdir(workdir)
  })

  const NET = { capabilities: ['networking' as const] }
  const cases = (): [string, string[], object][] => [
    ['sock_accept', ['accept', 'PORT'], NET],
    ['sock_recv', ['recv', '127.0.0.1', server.port], NET],
    ['poll_oneoff on a socket', ['pollsock', '127.0.0.1', server.port], NET],
    ['fd_read of a FIFO in a mount', ['read', '/data/fifo'], { mounts: [{ source: fifoDir, target: '/data' }] }],
    ['poll_oneoff on a FIFO in a mount', ['poll', '/data/fifo'], { mounts: [{ source: fifoDir, target: '/data' }] }],
  ]

  /** Start hostile.wasm with `args` in `inCtx` and wait until it is about to block. */
  async function blocked(inCtx: Context, args: string[], opts: object): Promise<Container> {
    const a = await Promise.all(args.map(async (x) => (x === 'PORT' ? freePort() : x)))
    const c = await inCtx.create({ image: 'hostile.wasm', args: a, stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true })
    await c.start()
    c.stdout!.resume()
    await settles(waitForOutput(c.stderr!, /ready/), `hostile ${args[0]} ready`)
    return c
  }

  for (const label of ['sock_accept', 'sock_recv', 'poll_oneoff on a socket', 'fd_read of a FIFO in a mount', 'poll_oneoff on a FIFO in a mount']) {
    it(`kill() ends a guest blocked in ${label}: 137, killed`, async () => {
      const [, a, opts] = cases().find(([l]) => l === label)!
      const c = await blocked(ctx, a, opts)
      assert.equal(c.status, 'running')
      const r = await settles(c.kill(), `kill in ${label}`)
      assert.deepEqual([r.exitCode, r.reason], [137, 'killed'])
      await c.remove()
    })
  }

  it('ctx.close() ends guests blocked in every one of those calls and removes them', async () => {
    const dir = makeWorkdir()
    try {
      const other = await open({ workdir: dir })
      const cs: Container[] = []
      for (const [, a, opts] of cases()) cs.push(await blocked(other, a, opts))
      const exits = cs.map((c) => new Promise((resolve) => c.once('exit', resolve)))
      await settles(other.close(), 'close')
      assert.deepEqual(
        (await Promise.all(exits)).map((r) => (r as { reason: string }).reason),
        cs.map(() => 'killed'),
      )
      assert.deepEqual(
        cs.map((c) => c.removed),
        cs.map(() => true),
      )
      assert.deepEqual(fs.readdirSync(path.join(dir, 'containers')), [], 'private directories deleted')
    } finally {
      removeWorkdir(dir)
    }
  })

  it('process.exit() with guests blocked in a socket and a FIFO read: the process exits at once, cleanly', async () => {
    const dir = makeWorkdir()
    const child = `
      const { open } = require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))})
      const [workdir, port, fifoDir] = process.argv.slice(1)
      ;(async () => {
        const ctx = await open({ workdir })
        const ready = []
        for (const [args, opts] of [
          [['recv', '127.0.0.1', port], { capabilities: ['networking'] }],
          [['read', '/data/fifo'], { mounts: [{ source: fifoDir, target: '/data' }] }],
        ]) {
          const c = await ctx.create({ image: 'hostile.wasm', args, stdio: ['ignore', 'ignore', 'pipe'], ...opts, detached: true })
          await c.start()
          ready.push(new Promise((r) => c.stderr.on('data', (b) => /ready/.test(String(b)) && r())))
        }
        await Promise.all(ready)
        process.stdout.write('ready\\n')
        process.exit(0)
      })()
    `
    try {
      const r = await runTsChild(child, [dir, server.port, fifoDir])
      assert.equal(r.signal, null, r.stderr)
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, 'ready\n')
      assert.deepEqual(fs.readdirSync(path.join(dir, 'containers')), [], 'the exit hook removed them')
    } finally {
      removeWorkdir(dir)
    }
  })
})

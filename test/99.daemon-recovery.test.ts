// Crash recovery of `ocre daemon`: SIGKILL with running, stopped, created
// and manually stopped containers, then a new daemon on the same workdir;
// kill -9 at random points of create/rm loops, then a check that every
// acknowledged operation holds and no record is lost or half-written.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import type { DaemonClient } from '../lib/client/connect'
import { Daemon, ensureBuilt, ocre } from './daemon-helpers'
import { makeWorkdir, removeWorkdir } from './helpers'

function recordFiles(workdir: string): string[] {
  return fs.readdirSync(path.join(workdir, 'daemon', 'containers')).sort()
}

describe('ocre daemon: crash recovery', function () {
  this.timeout(120_000)
  let workdir: string
  before(() => ensureBuilt())
  beforeEach(() => {
    workdir = makeWorkdir('ocre-daemon-crash-')
  })
  afterEach(() => removeWorkdir(workdir))

  it('after a SIGKILL the next daemon has the same containers; those that should run run again', async () => {
    let d = await Daemon.start(workdir)
    let client: DaemonClient = await d.client()
    const make = async (id: string, image: string, args: string[], restart = 'no', capabilities: string[] = []) =>
      client.create({ id, image, args, restart, capabilities: capabilities as never, stopTimeout: 0 })
    await (await make('run', 'ticker.wasm', ['50'])).start()
    const stopped = await make('stopped', 'exit-code.wasm', ['7'])
    await stopped.start()
    await stopped.wait()
    await make('created', 'hello.wasm', [], 'on-failure:2')
    const us = await make('us', 'sleeper.wasm', ['60'], 'unless-stopped')
    await us.start()
    await us.stop()
    const al = await make('al', 'sleeper.wasm', ['60'], 'always')
    await al.start()
    await al.stop()
    const fsw = await make('fsw', 'fs.wasm', ['append', '/note', 'x'], 'no', ['filesystem'])
    await fsw.start()
    assert.equal((await fsw.wait()).exitCode, 0)
    const before = new Map((await client.list()).map((c) => [c.id, c.info]))
    client.close()

    await d.crash()
    assert.ok(fs.existsSync(path.join(workdir, 'ocre.sock')), 'a stale socket is left')
    // no daemon now: container commands cannot reach it; run works on its own
    const ps = await ocre(['--workdir', workdir, 'ps'])
    assert.equal(ps.code, 125)
    assert.match(ps.stderr, /cannot reach the ocre daemon/)
    const run = await ocre(['--workdir', workdir, 'run', 'hello.wasm'])
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stdout, 'Hello from WebAssembly!\n')

    d = await Daemon.start(workdir)
    try {
      const restored = await d.record((r) => r.msg === 'containers restored')
      assert.deepEqual({ ...restored, time: 0 }, { time: 0, level: 'info', msg: 'containers restored', restored: 6, started: 2, failed: 0 })
      client = await d.client()
      const after = new Map((await client.list()).map((c) => [c.id, c]))
      assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort())
      assert.equal(after.get('run')!.status, 'running', 'it was running: started again')
      assert.equal(after.get('al')!.status, 'running', 'always: started again even after a manual stop')
      assert.equal(after.get('us')!.status, 'stopped', 'unless-stopped, stopped by hand: stays down')
      assert.equal(after.get('created')!.status, 'created')
      assert.equal(after.get('stopped')!.status, 'stopped')
      assert.deepEqual(after.get('stopped')!.exitResult, { exitCode: 7, reason: 'exit' })
      assert.deepEqual(await after.get('stopped')!.wait(), { exitCode: 7, reason: 'exit' })
      for (const [id, info] of before) {
        const now = after.get(id)!.info
        assert.equal(now.created, info.created, id)
        assert.equal(now.image, info.image, id)
        assert.deepEqual(now.args, info.args, id)
        assert.equal(now.restartPolicy, info.restartPolicy, id)
      }
      const full = await after.get('fsw')!.refresh()
      assert.deepEqual(full.capabilities, ['filesystem'])
      // its private directory survived: a second run appends to the same file
      const f = after.get('fsw')!
      await f.start()
      assert.equal((await f.wait()).exitCode, 0)
      assert.equal(fs.readFileSync(path.join(workdir, 'containers', 'fsw', 'note'), 'utf8'), 'xx')
      // the restored running ones are the daemon's as before: stop, logs
      const r = after.get('run')!
      let tick = ''
      for await (const rec of r.logs({ follow: true })) if ((tick = rec.line) === 'tick 2') break
      assert.equal(tick, 'tick 2')
      await r.kill()
      client.close()
    } finally {
      await d.stop()
    }
  })

  it('a paused container comes back paused after a SIGKILL or a graceful stop of the daemon; unpause resumes it', async () => {
    let d = await Daemon.start(workdir)
    let client: DaemonClient = await d.client()
    const t = await client.create({ id: 'tick', image: 'ticker.wasm', args: ['20'], stopTimeout: 0 })
    await t.start()
    await t.pause()
    assert.equal((await t.refresh()).status, 'paused')
    client.close()
    for (const how of ['SIGKILL', 'SIGTERM'] as const) {
      if (how === 'SIGKILL') await d.crash()
      else await d.stop()
      d = await Daemon.start(workdir)
      const restored = await d.record((r) => r.msg === 'containers restored')
      assert.equal(restored.started, 1, how)
      client = await d.client()
      const c = (await client.get('tick'))!
      assert.equal((await c.refresh()).status, 'paused', `${how}: restored paused`)
      assert.equal((await c.refresh()).desiredRunning, true)
      if (how === 'SIGKILL') client.close()
    }
    const c = (await client.get('tick'))!
    await c.unpause()
    assert.equal((await c.refresh()).status, 'running')
    let line = ''
    for await (const rec of c.logs({ follow: true, since: new Date() })) if ((line = rec.line).startsWith('tick')) break
    assert.match(line, /^tick \d+$/)
    // unpaused is recorded too: the next daemon starts it running
    client.close()
    await d.crash()
    d = await Daemon.start(workdir)
    try {
      client = await d.client()
      assert.equal((await (await client.get('tick'))!.refresh()).status, 'running')
      client.close()
    } finally {
      await d.stop()
    }
  })

  it('kill -9 at random points of create/rm loops loses no acknowledged operation and leaves no half-written record', async function () {
    this.timeout(240_000)
    const expected = new Set<string>()
    let serial = 0
    for (let round = 0; round < 6; round++) {
      const d = await Daemon.start(workdir)
      const client = await d.client()
      assert.deepEqual(
        (await client.list()).map((c) => c.id).sort(),
        [...expected].sort(),
        `round ${round}: the containers are those acknowledged`,
      )
      let inFlight: string | null = null
      const loop = (async () => {
        try {
          for (;;) {
            const ids = [...expected]
            if (ids.length > 0 && Math.random() < 0.4) {
              const id = ids[Math.floor(Math.random() * ids.length)]
              inFlight = id
              await (await client.get(id))?.remove()
              expected.delete(id)
            } else {
              const id = `c${serial++}`
              inFlight = id
              await client.create({ id, image: 'trivial.wasm', args: [String(round)], capabilities: ['filesystem'] })
              expected.add(id)
            }
            inFlight = null
          }
        } catch {
          // the daemon died under it
        }
      })()
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 300))
      await d.crash()
      await loop
      client.close()
      // the operation in flight at the kill may have happened or not: both are consistent
      if (inFlight !== null) {
        const file = path.join(workdir, 'daemon', 'containers', `${inFlight}.json`)
        if (fs.existsSync(file)) expected.add(inFlight)
        else expected.delete(inFlight)
      }
      for (const f of recordFiles(workdir)) {
        if (!f.endsWith('.json')) continue // a temp file of the write in flight: removed at load
        const rec = JSON.parse(fs.readFileSync(path.join(workdir, 'daemon', 'containers', f), 'utf8'))
        assert.equal(rec.definition.id, f.slice(0, -5))
      }
    }
    const d = await Daemon.start(workdir)
    try {
      const client = await d.client()
      assert.deepEqual((await client.list()).map((c) => c.id).sort(), [...expected].sort())
      assert.ok(!d.records.some((r) => r.msg === 'unreadable container record skipped'))
      assert.deepEqual(
        recordFiles(workdir),
        [...expected].map((id) => `${id}.json`).sort(),
        'one record per container, no temp file left',
      )
      for (const id of expected) assert.ok(fs.statSync(path.join(workdir, 'containers', id)).isDirectory(), id)
      client.close()
    } finally {
      await d.stop()
    }
  })
})

// `ocre daemon` as a real process on a temp workdir, driven by the CLI and
// the JS client: detached lifecycle, logs, events, restart policies,
// concurrency, 1,000 containers, log rotation, the socket's permissions,
// TCP with a token, bad requests.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { DaemonClient, DaemonEvent } from '../lib/client/connect'
import { spawn } from 'node:child_process'
import { BIN, Daemon, ensureBuilt, ocre, ok } from './daemon-helpers'
import { makeWorkdir, removeWorkdir, ROOT } from './helpers'

/** Collects events from now on until `done(events)` says so. */
function collectEvents(client: DaemonClient, done: (events: DaemonEvent[]) => boolean): Promise<DaemonEvent[]> {
  const ac = new AbortController()
  const events: DaemonEvent[] = []
  const p = (async () => {
    for await (const e of client.events({ signal: ac.signal })) {
      events.push(e)
      if (done(events)) break
    }
    ac.abort()
    return events
  })()
  return p
}

/** Raw HTTP on the daemon's socket. */
function request(
  socketPath: string,
  method: string,
  urlPath: string,
  body?: string | Buffer,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ status: number; json: Record<string, unknown> | null; text: string }> {
  return new Promise((resolve, reject) => {
    const h = body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) }
    const req = http.request({ socketPath, method, path: urlPath, headers: h }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d) => (text += d))
      res.on('end', () => {
        let json = null
        try {
          json = JSON.parse(text)
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, json, text })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

const JSON_HEADERS = { 'content-type': 'application/json' }

describe('ocre daemon', function () {
  this.timeout(60_000)
  let workdir: string
  let daemon: Daemon
  let client: DaemonClient
  const w = () => ['--workdir', workdir]

  before(async () => {
    ensureBuilt()
    workdir = makeWorkdir('ocre-daemon-')
    daemon = await Daemon.start(workdir)
    client = await daemon.client()
  })

  after(async () => {
    client?.close()
    if (daemon) {
      const { code } = await daemon.stop()
      assert.equal(code, 0, 'the daemon exits 0 on SIGTERM')
      assert.deepEqual(daemon.nonJson, [], 'every line of the daemon on stderr is JSON')
    }
    removeWorkdir(workdir)
  })

  it('listens on <workdir>/ocre.sock with mode 0660 and logs JSON lines', async () => {
    const st = fs.statSync(daemon.socket)
    assert.ok(st.isSocket())
    assert.equal(st.mode & 0o777, 0o660)
    const listening = await daemon.record((r) => r.msg === 'listening')
    assert.equal(listening.socket, daemon.socket)
    assert.equal(typeof listening.time, 'string')
    assert.equal(listening.level, 'info')
  })

  it('publishes its OpenAPI description (the committed docs/openapi.json is current)', async () => {
    const r = await request(daemon.socket, 'GET', '/v1/openapi.json')
    assert.equal(r.status, 200)
    assert.equal(r.json?.openapi, '3.1.0')
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'openapi.json'), 'utf8'))
    assert.deepEqual(r.json, committed, 'regenerate docs/openapi.json: node scripts/openapi.mjs')
  })

  it('runs a detached container through the CLI: run -d, ps, logs, pause, unpause, stop, wait, inspect, rm', async () => {
    const id = (await ok([...w(), 'run', '-d', '--name', 'tick', 'ticker.wasm', '20'])).trim()
    assert.equal(id, 'tick')
    const ps = await ok([...w(), 'ps'])
    assert.match(ps, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+RESTART$/m)
    assert.match(ps, /^tick\s+ticker\.wasm\s+"ticker\.wasm 20"\s+.*\s+Up .*\s+no$/m)
    // its output is captured: follow the log until tick 3 shows up
    const c = (await client.get('tick'))!
    for await (const r of c.logs({ follow: true })) if (r.line === 'tick 3') break
    const logs = await ok([...w(), 'logs', '--tail', '2', 'tick'])
    assert.equal(logs.split('\n').filter(Boolean).length, 2)
    assert.match(logs, /^tick \d+\n/)
    const records = (await ok([...w(), 'logs', '--tail', '2', '--format', 'json', 'tick'])).trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(records.length, 2)
    for (const r of records) {
      assert.deepEqual(Object.keys(r).sort(), ['line', 'stream', 'time'])
      assert.equal(r.stream, 'stdout')
      assert.match(r.line, /^tick \d+$/)
    }
    await ok([...w(), 'pause', 'tick'])
    assert.match(await ok([...w(), 'ps']), /Up .*\(Paused\)/)
    const json = JSON.parse((await ok([...w(), 'ps', '--format', 'json'])).trim())
    assert.equal(json.status, 'paused')
    await ok([...w(), 'unpause', 'tick'])
    assert.equal((await c.refresh()).status, 'running')
    assert.equal((await ok([...w(), 'stop', '-t', '0', 'tick'])).trim(), 'tick')
    assert.equal((await ok([...w(), 'wait', 'tick'])).trim(), '137')
    const [info] = JSON.parse(await ok([...w(), 'inspect', 'tick']))
    assert.equal(info.status, 'stopped')
    assert.deepEqual({ ...info.lastExit, time: undefined }, { exitCode: 137, reason: 'killed', time: undefined })
    assert.equal(info.desiredRunning, false)
    assert.equal((await ok([...w(), 'ps'])).trim().split('\n').length, 1, 'only the header: it is stopped')
    assert.match(await ok([...w(), 'ps', '-a']), /^tick\s.*Exited \(137\)/m)
    await ok([...w(), 'rm', 'tick'])
    assert.equal((await ok([...w(), 'ps', '-a', '-q'])).trim(), '')
    assert.equal(fs.existsSync(path.join(workdir, 'daemon', 'containers', 'tick.json')), false)
    assert.equal(fs.existsSync(path.join(workdir, 'daemon', 'logs', 'tick.log')), false)
  })

  it('create + start + wait + logs; attached run exits with the status and prints the output; --rm removes', async () => {
    await ok([...w(), 'create', '--name', 'hi', '-e', 'A=1', 'args-env.wasm', 'x', 'y'])
    assert.match(await ok([...w(), 'ps', '-a']), /^hi\s+args-env\.wasm\s+"args-env\.wasm x y"\s+.*Created/m)
    await ok([...w(), 'start', 'hi'])
    assert.equal((await ok([...w(), 'wait', 'hi'])).trim(), '0')
    assert.equal(
      await ok([...w(), 'logs', 'hi']),
      'argc=3\nargv[0]=args-env.wasm\nargv[1]=x\nargv[2]=y\nenv:A=1\n',
    )
    const r = await ocre([...w(), 'run', '--name', 'three', 'exit-code.wasm', '3'])
    assert.equal(r.code, 3)
    assert.match(await ok([...w(), 'ps', '-a']), /^three\s.*Exited \(3\)/m, 'kept without --rm')
    const hello = await ocre([...w(), 'run', '--rm', 'hello.wasm'])
    assert.equal(hello.code, 0)
    assert.equal(hello.stdout, 'Hello from WebAssembly!\n')
    const trap = await ocre([...w(), 'container', 'run', '--rm', 'trap.wasm', 'unreachable'])
    assert.equal(trap.code, 134)
    assert.match(trap.stderr, /trapped: .*unreachable/)
    const ids = (await ok([...w(), 'container', 'ls', '-a', '-q'])).trim().split('\n').sort()
    assert.deepEqual(ids, ['hi', 'three'])
    await ok([...w(), 'container', 'rm', 'hi', 'three'])
  })

  it('events streams lifecycle events until Ctrl-C; restart; images lists the store', async () => {
    // --since replays what came after the stream was asked for, so nothing is missed while it connects
    const since = new Date(Date.now() - 1000).toISOString()
    const child = spawn(process.execPath, [BIN, ...w(), 'events', '--since', since], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const got = new Promise<void>((resolve) =>
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (/container destroy ev /.test(out)) resolve()
      }),
    )
    await ok([...w(), 'create', '--name', 'ev', 'sleeper.wasm', '60'])
    await ok([...w(), 'restart', '-t', '0', 'ev'])
    assert.equal((await client.get('ev'))!.status, 'running')
    await ok([...w(), 'rm', '-f', 'ev'])
    await got
    child.kill('SIGINT')
    assert.equal(await new Promise((resolve) => child.once('close', resolve)), 0)
    const lines = out.split('\n').filter((l) => / ev /.test(l))
    assert.deepEqual(
      lines.map((l) => l.replace(/^\S+ /, '')),
      [
        'container create ev (image=sleeper.wasm)',
        'container start ev (image=sleeper.wasm)',
        'container die ev (image=sleeper.wasm, exitCode=137, reason=killed)',
        'container destroy ev (image=sleeper.wasm)',
      ],
    )
    const images = (await ok([...w(), 'images', '-q'])).trim().split('\n')
    assert.ok(images.includes('hello.wasm') && images.includes('sleeper.wasm'))
  })

  it('drives containers from the JS client with the in-process API\'s methods, and streams events', async () => {
    const events = collectEvents(client, (es) => es.some((e) => e.id === 'js1' && e.action === 'destroy'))
    const c = await client.create({ image: 'sleeper.wasm', id: 'js1', args: ['60'], stopTimeout: 0 })
    assert.equal(c.status, 'created')
    assert.equal(await c.start(), undefined)
    assert.equal(c.status, 'running')
    await c.pause()
    assert.equal(c.status, 'paused')
    await c.unpause()
    const result = await c.stop()
    assert.deepEqual(result, { exitCode: 137, reason: 'killed' })
    assert.deepEqual(await c.wait(), { exitCode: 137, reason: 'killed' })
    assert.equal((await client.list()).some((x) => x.id === 'js1'), true)
    await c.remove()
    await c.remove() // idempotent, like Container.remove()
    assert.equal(await client.get('js1'), undefined)
    const actions = (await events).filter((e) => e.id === 'js1').map((e) => e.action)
    assert.deepEqual(actions, ['create', 'start', 'pause', 'unpause', 'stop', 'die', 'destroy'])
  })

  describe('restart policies', () => {
    it('on-failure:3 restarts a failing container 3 times, then leaves it stopped', async () => {
      const events = collectEvents(client, (es) => es.filter((e) => e.id === 'f3' && e.action === 'die').length === 4)
      const c = await client.create({ image: 'exit-code.wasm', id: 'f3', args: ['1'], restart: 'on-failure:3' })
      await c.start()
      const es = (await events).filter((e) => e.id === 'f3').map((e) => e.action)
      assert.deepEqual(es, ['create', 'start', 'die', 'restart', 'die', 'restart', 'die', 'restart', 'die'])
      const info = await c.refresh()
      assert.equal(info.restartCount, 3)
      assert.equal(info.restartPolicy, 'on-failure:3')
      assert.equal(info.lastExit?.exitCode, 1)
      // no fourth restart comes: the container is stopped and no longer meant to run
      assert.equal(info.status, 'stopped')
      assert.equal(info.desiredRunning, false)
      await c.remove()
    })

    it('on-failure does not restart a clean exit; no never restarts', async () => {
      for (const [image, args, restart] of [
        ['exit-code.wasm', ['0'], 'on-failure'],
        ['exit-code.wasm', ['1'], 'no'],
      ] as const) {
        const c = await client.create({ image, args: [...args], restart })
        await c.start()
        await c.wait()
        const info = await c.refresh()
        assert.equal(info.status, 'stopped', `${restart}`)
        assert.equal(info.restartCount, 0, `${restart}`)
        await c.remove()
      }
    })

    it('always restarts a clean exit; a manual stop ends it', async () => {
      const events = collectEvents(client, (es) => es.filter((e) => e.id === 'al' && e.action === 'restart').length === 2)
      const c = await client.create({ image: 'exit-code.wasm', id: 'al', args: ['0'], restart: 'always' })
      await c.start()
      await events
      const stopped = await c.stop({ timeout: 0 })
      assert.equal(typeof stopped.exitCode, 'number')
      const info = await c.refresh()
      assert.equal(info.status, 'stopped')
      assert.ok(info.restartCount >= 2)
      assert.equal(info.desiredRunning, false)
      await c.remove()
    })

    it('liveness: a container that writes nothing for the period is killed as failed and its policy restarts it', async () => {
      const events = collectEvents(client, (es) => es.filter((e) => e.id === 'lv' && e.action === 'die').length === 2)
      // sleeper prints "sleeping", then nothing for 60 s
      const c = await client.create({ image: 'sleeper.wasm', id: 'lv', args: ['60'], restart: 'on-failure:1', liveness: 200 })
      await c.start()
      const es = (await events).filter((e) => e.id === 'lv').map((e) => (e.action === 'die' ? `die ${e.exitCode}` : e.action))
      assert.deepEqual(es, ['create', 'start', 'unhealthy', 'die 137', 'restart', 'unhealthy', 'die 137'])
      const info = await c.refresh()
      assert.equal(info.restartCount, 1)
      assert.equal(info.liveness, 200)
      assert.equal(info.status, 'stopped')
      assert.ok(daemon.records.some((r) => r.msg === 'no output within the liveness period: killing the container' && r.id === 'lv'))
      await c.remove()
    })

    it('kill ends a container for good whatever its policy; start resets the restart count', async () => {
      const c = await client.create({ image: 'sleeper.wasm', id: 'kl', args: ['60'], restart: 'always' })
      await c.start()
      assert.deepEqual(await c.kill(), { exitCode: 137, reason: 'killed' })
      assert.equal((await c.refresh()).status, 'stopped')
      await c.start()
      assert.equal((await c.refresh()).restartCount, 0)
      await c.remove({ force: true })
    })
  })

  it('serves concurrent clients', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => daemon.client()))
    const results = await Promise.all(
      clients.map(async (cl, i) => {
        const out: number[] = []
        for (let k = 0; k < 5; k++) {
          const c = await cl.create({ image: 'exit-code.wasm', args: [String(i * 10 + k)] })
          await c.start()
          out.push((await c.wait()).exitCode)
          await c.remove()
        }
        return out
      }),
    )
    results.forEach((codes, i) => assert.deepEqual(codes, [0, 1, 2, 3, 4].map((k) => i * 10 + k)))
    for (const cl of clients) cl.close()
    assert.equal((await client.list()).length, 0)
  })

  it('lists 1,000 containers (ps -a)', async function () {
    this.timeout(180_000)
    let next = 0
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 1000) {
          const k = next++
          await client.create({ image: 'trivial.wasm', id: `k${String(k).padStart(4, '0')}` })
        }
      }),
    )
    const ids = (await ok([...w(), 'ps', '-a', '-q'])).trim().split('\n')
    assert.equal(ids.length, 1000)
    // the fast path (no commander) and commander's (--verbose is not taken by the fast path) agree
    assert.equal(await ok([...w(), 'ps', '-a', '--format', 'json']), await ok([...w(), 'ps', '-a', '--format', 'json', '--verbose']))
    assert.deepEqual(
      [...ids].sort(),
      Array.from({ length: 1000 }, (_, k) => `k${String(k).padStart(4, '0')}`),
    )
    const table = (await ok([...w(), 'ps', '-a'])).trim().split('\n')
    assert.equal(table.length, 1001)
    // through a shell pipe (more than a pipe holds at once): every line arrives before ocre exits
    const q = (a: string) => `'${a.replace(/'/g, "'\\''")}'`
    const piped = spawn('sh', ['-c', `${[process.execPath, BIN, ...w(), 'ps', '-a', '--format', 'json'].map(q).join(' ')} | wc -l`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let lines = ''
    piped.stdout.setEncoding('utf8').on('data', (d) => (lines += d))
    assert.equal(await new Promise((resolve) => piped.on('close', resolve)), 0)
    assert.equal(lines.trim(), '1000')
    await Promise.all(
      Array.from({ length: 16 }, async (_, lane) => {
        for (let k = lane; k < 1000; k += 16) await (await client.get(`k${String(k).padStart(4, '0')}`))!.remove()
      }),
    )
    assert.equal((await client.list()).length, 0)
  })

  describe('attach and run -i (stdin through the daemon)', () => {
    /** The CLI with a stdin pipe we hold: its output so far, a wait for some text, its exit status. */
    function interactive(args: string[]) {
      const child = spawn(process.execPath, [BIN, ...w(), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
      const out = { stdout: '', stderr: '' }
      const waiters: (() => void)[] = []
      for (const name of ['stdout', 'stderr'] as const)
        child[name].setEncoding('utf8').on('data', (d: string) => {
          out[name] += d
          for (const f of waiters.splice(0)) f()
        })
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      const seen = (text: string) =>
        new Promise<void>((resolve) => {
          const check = () => (out.stdout.includes(text) ? resolve() : waiters.push(check))
          check()
        })
      return { child, out, exited, seen }
    }

    it('run -i sends stdin to the container; its end is end-of-file there; exits with its status', async () => {
      const r = interactive(['run', '-i', '--rm', 'cat.wasm'])
      r.child.stdin.write('first line\n')
      await r.seen('first line\n') // echoed while stdin is still open
      r.child.stdin.end('second\n')
      assert.equal(await r.exited, 0, r.out.stderr)
      assert.equal(r.out.stdout, 'first line\nsecond\n')
      const exitCode = interactive(['run', '-i', '--rm', 'exit-code.wasm', '3'])
      exitCode.child.stdin.end()
      assert.equal(await exitCode.exited, 3)
    })

    it('attach echoes through a running -i container; Ctrl-C detaches and leaves it running with stdin open; a second attach ends it with EOF', async () => {
      const id = (await ok([...w(), 'create', '-i', '-n', 'echo', 'cat.wasm'])).trim()
      assert.equal(id, 'echo')
      assert.equal((await client.get('echo'))!.info.status, 'created')
      assert.equal(((await (await client.get('echo'))!.refresh()) as { interactive?: boolean }).interactive, true)
      await ok([...w(), 'start', 'echo'])
      const a = interactive(['attach', 'echo'])
      a.child.stdin.write('ping\n')
      await a.seen('ping\n')
      a.child.kill('SIGINT')
      assert.equal(await a.exited, 0, a.out.stderr)
      const c = (await client.get('echo'))!
      assert.equal((await c.refresh()).status, 'running', 'detached: still running')
      const b = interactive(['attach', 'echo'])
      b.child.stdin.write('again\n')
      await b.seen('again\n')
      b.child.stdin.end()
      assert.equal(await b.exited, 0, b.out.stderr)
      assert.equal(b.out.stdout, 'again\n')
      assert.equal((await c.refresh()).status, 'stopped')
      assert.deepEqual((await c.refresh()).lastExit && { exitCode: (await c.refresh()).lastExit!.exitCode }, { exitCode: 0 })
      // the output went to its log too
      assert.deepEqual((await ok([...w(), 'logs', 'echo'])).split('\n'), ['ping', 'again', ''])
      await c.remove()
    })

    it('the JS client: attach() before start() gets all output; stdin ends with the stream; detach() leaves it running', async () => {
      const { PassThrough } = await import('node:stream')
      const c = await client.create({ id: 'js-echo', image: 'cat.wasm', interactive: true })
      const stdin = new PassThrough()
      let out = ''
      const waiters: (() => void)[] = []
      const session = c.attach({ stdin, onOutput: (stream, text) => {
        if (stream === 'stdout') out += text
        for (const f of waiters.splice(0)) f()
      } })
      await session.ready
      await c.start()
      stdin.write('abc\n')
      await new Promise<void>((resolve) => {
        const check = () => (out === 'abc\n' ? resolve() : waiters.push(check))
        check()
      })
      stdin.end('def\n')
      assert.deepEqual(await session.done, { exitCode: 0, reason: 'exit' })
      assert.equal(out, 'abc\ndef\n')
      await c.remove()

      const t = await client.create({ id: 'js-tick', image: 'ticker.wasm', args: ['20'], stopTimeout: 0 })
      await t.start()
      let ticks = ''
      const watching = t.attach({ onOutput: (_s, text) => {
        ticks += text
        if (ticks.includes('\n')) watching.detach()
      } })
      assert.equal(await watching.done, null)
      assert.match(ticks, /^tick \d+\n/)
      assert.equal((await t.refresh()).status, 'running')
      assert.throws(() => t.attach({} as never), /onOutput must be a function/)
      assert.throws(() => t.attach({ onOutput: () => {}, colour: 1 } as never), TypeError)
      await t.remove({ force: true })
    })

    it('attach without -i shows the output only; refuses stdin and stopped containers with 409', async () => {
      const t = await client.create({ id: 'ticks', image: 'ticker.wasm', args: ['20'], stopTimeout: 0 })
      await t.start()
      const a = interactive(['attach', 'ticks'])
      await a.seen('tick')
      a.child.kill('SIGINT')
      assert.equal(await a.exited, 0)
      assert.equal((await t.refresh()).status, 'running')
      const withStdin = await request(daemon.socket, 'POST', '/v1/containers/ticks/attach?stdin=true', '')
      assert.equal(withStdin.status, 409)
      assert.equal(withStdin.json?.code, 'ERR_OCRE_STATE')
      assert.match(String(withStdin.json?.message), /interactive \(-i\)/)
      await t.kill()
      const stopped = await ocre([...w(), 'attach', 'ticks'])
      assert.equal(stopped.code, 125)
      assert.match(stopped.stderr, /cannot attach to container ticks: it is stopped/)
      const unknown = await request(daemon.socket, 'POST', '/v1/containers/nope/attach', '')
      assert.equal(unknown.status, 404)
      assert.equal(unknown.json?.code, 'ERR_OCRE_NOT_FOUND')
      await t.remove()
    })
  })

  describe('bad requests get a 4xx JSON error with an ERR_OCRE_* code', () => {
    const cases: [string, string, string, (string | Buffer)?, http.OutgoingHttpHeaders?, number?, string?][] = [
      ['malformed JSON', 'POST', '/v1/containers', '{"image": ', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_JSON'],
      ['a JSON array', 'POST', '/v1/containers', '[]', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['an unknown field', 'POST', '/v1/containers', '{"image":"hello.wasm","colour":1}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a missing image field', 'POST', '/v1/containers', '{}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a wrong type', 'POST', '/v1/containers', '{"image":"hello.wasm","args":"x"}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['an invalid image name', 'POST', '/v1/containers', '{"image":"../x"}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['an invalid id', 'POST', '/v1/containers', '{"image":"hello.wasm","id":"A B"}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['an unknown restart policy', 'POST', '/v1/containers', '{"image":"hello.wasm","restart":{"name":"sometimes"}}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['maxRetries with always', 'POST', '/v1/containers', '{"image":"hello.wasm","restart":{"name":"always","maxRetries":2}}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a relative mount', 'POST', '/v1/containers', '{"image":"hello.wasm","mounts":[{"source":"tmp","target":"/x"}]}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a missing image', 'POST', '/v1/containers', '{"image":"nope.wasm"}', JSON_HEADERS, 404, 'ERR_OCRE_IMAGE_NOT_FOUND'],
      ['an oversized body', 'POST', '/v1/containers', Buffer.alloc(2 * 1024 * 1024, 0x20), JSON_HEADERS, 413, 'ERR_OCRE_TOO_LARGE'],
      ['another content type', 'POST', '/v1/containers', '{"image":"hello.wasm"}', { 'content-type': 'text/plain' }, 415, 'ERR_OCRE_UNSUPPORTED_MEDIA_TYPE'],
      ['an unknown id', 'GET', '/v1/containers/nosuch', undefined, {}, 404, 'ERR_OCRE_NOT_FOUND'],
      ['an action on an unknown id', 'POST', '/v1/containers/nosuch/start', '{}', JSON_HEADERS, 404, 'ERR_OCRE_NOT_FOUND'],
      ['an unknown endpoint', 'GET', '/v1/nothing', undefined, {}, 404, 'ERR_OCRE_NOT_FOUND'],
      ['a wrong method', 'PUT', '/v1/containers', undefined, {}, 405, 'ERR_OCRE_METHOD_NOT_ALLOWED'],
      ['an unknown query parameter', 'GET', '/v1/containers?colour=red', undefined, {}, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a bad query value', 'GET', '/v1/containers?all=maybe', undefined, {}, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a repeated query parameter', 'GET', '/v1/containers?all=1&all=0', undefined, {}, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a bad stop timeout', 'POST', '/v1/containers/x/stop', '{"timeout":-1}', JSON_HEADERS, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a body where none is taken', 'GET', '/v1/containers', 'x', {}, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a bad log tail', 'GET', '/v1/containers/x/logs?tail=-3', undefined, {}, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
      ['a bad since', 'GET', '/v1/events?since=yesterday', undefined, {}, 400, 'ERR_OCRE_INVALID_ARGUMENT'],
    ]
    for (const [what, method, url, body, headers, status, code] of cases)
      it(`${what}: ${status} ${code}`, async () => {
        const r = await request(daemon.socket, method, url, body, headers)
        assert.equal(r.status, status, r.text)
        assert.equal(r.json?.code, code, r.text)
        assert.equal(typeof r.json?.message, 'string')
      })

    it('invalid state transitions: 409 ERR_OCRE_STATE; a duplicate id: 409 ERR_OCRE_EXISTS', async () => {
      const c = await client.create({ image: 'sleeper.wasm', id: 'st', args: ['60'], stopTimeout: 0 })
      const post = (action: string) => request(daemon.socket, 'POST', `/v1/containers/st/${action}`, '{}', JSON_HEADERS)
      for (const action of ['kill', 'pause', 'unpause', 'wait']) {
        const r = await post(action)
        assert.equal(r.status, 409, `${action} of a created container: ${r.text}`)
        assert.equal(r.json?.code, 'ERR_OCRE_STATE')
      }
      await c.start()
      const again = await post('start')
      assert.equal(again.status, 409)
      assert.equal(again.json?.code, 'ERR_OCRE_STATE')
      const rm = await request(daemon.socket, 'DELETE', '/v1/containers/st')
      assert.equal(rm.status, 409)
      assert.equal(rm.json?.code, 'ERR_OCRE_STATE')
      const dup = await request(daemon.socket, 'POST', '/v1/containers', '{"image":"hello.wasm","id":"st"}', JSON_HEADERS)
      assert.equal(dup.status, 409)
      assert.equal(dup.json?.code, 'ERR_OCRE_EXISTS')
      const gone = await request(daemon.socket, 'DELETE', '/v1/containers/st?force=true')
      assert.equal(gone.status, 204)
    })

    it('the CLI reports them as one line with exit 125 (1 for some of several ids)', async () => {
      const r = await ocre([...w(), 'start', 'nosuch'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /^ocre: no such container: nosuch$/m)
      const bad = await ocre([...w(), 'run', '-d', '--restart', 'sometimes', 'hello.wasm'])
      assert.equal(bad.code, 125)
      assert.match(bad.stderr, /invalid --restart 'sometimes'/)
    })

    it('the daemon still answers after all of them', async () => {
      const r = await request(daemon.socket, 'GET', '/v1/_ping')
      assert.equal(r.status, 200)
      assert.equal(r.json?.ok, true)
    })
  })

  it('refuses a second daemon on the same workdir', async () => {
    const r = await ocre(['daemon', '--workdir', workdir])
    assert.equal(r.code, 125)
    assert.match(r.stderr, /ocre: .*(already|busy|in use|locked)/i)
    assert.equal((await request(daemon.socket, 'GET', '/v1/_ping')).status, 200)
  })
})

describe('ocre daemon: options and life', function () {
  this.timeout(60_000)
  let workdir: string
  before(() => {
    ensureBuilt()
  })
  beforeEach(() => {
    workdir = makeWorkdir('ocre-daemon-')
  })
  afterEach(() => removeWorkdir(workdir))

  it('rotates container logs at --log-max-size, keeping --log-max-files files', async () => {
    const d = await Daemon.start(workdir, ['--log-max-size', '4k', '--log-max-files', '2'])
    try {
      const client = await d.client()
      const c = await client.create({ image: 'chatty.wasm', id: 'ch', args: ['2000'] })
      await c.start()
      await c.wait()
      // the output is all captured once a follow of the log ends
      let last = ''
      for await (const r of c.logs({ follow: true })) last = r.line
      assert.equal(last, 'line 1999')
      const records = []
      for await (const r of c.logs()) records.push(r)
      assert.ok(records.length > 10 && records.length < 2000, `${records.length} records kept`)
      // the newest, contiguous, each once, all from stderr
      const n = records.length
      records.forEach((r, i) => assert.equal(r.line, `line ${2000 - n + i}`))
      assert.ok(records.every((r) => r.stream === 'stderr'))
      const tail = await ok(['--workdir', workdir, 'logs', '--tail', '3', 'ch'])
      assert.equal(tail, '')
      const tailErr = await ocre(['--workdir', workdir, 'logs', '--tail', '3', 'ch'])
      assert.equal(tailErr.stderr, 'line 1997\nline 1998\nline 1999\n')
      client.close()
    } finally {
      await d.stop()
    }
    // once the daemon has stopped, its log writes are all done
    const files = fs.readdirSync(path.join(workdir, 'daemon', 'logs')).sort()
    assert.deepEqual(files.filter((f) => f !== 'ch.log'), ['ch.log.1'], 'two files at most: the current one may be empty')
    for (const f of files) assert.ok(fs.statSync(path.join(workdir, 'daemon', 'logs', f)).size <= 4096, f)
  })

  it('TCP only with a bearer token: 401 without it, served with it', async () => {
    const tokenFile = path.join(workdir, 'token')
    fs.writeFileSync(tokenFile, 'a-long-enough-secret-token\n', { mode: 0o600 })
    const noToken = await ocre(['daemon', '--workdir', workdir, '--tcp', '0'])
    assert.equal(noToken.code, 125)
    assert.match(noToken.stderr, /--tcp needs --token-file/)
    const d = await Daemon.start(workdir, ['--tcp', '127.0.0.1:0', '--token-file', tokenFile])
    try {
      const rec = await d.record((r) => r.msg === 'listening on tcp')
      const [host, port] = String(rec.address).split(':')
      assert.equal(host, '127.0.0.1')
      const get = (auth?: string) =>
        new Promise<number>((resolve, reject) =>
          http
            .get({ host, port: Number(port), path: '/v1/_ping', headers: auth ? { authorization: auth } : {} }, (res) => {
              res.resume()
              resolve(res.statusCode ?? 0)
            })
            .on('error', reject),
        )
      assert.equal(await get(), 401)
      assert.equal(await get('Bearer wrong-token-of-some-length'), 401)
      assert.equal(await get('Bearer a-long-enough-secret-token'), 200)
      const ps = await ocre(['ps', '-a', '-q', '--host', `tcp://127.0.0.1:${port}`, '--token-file', tokenFile])
      assert.equal(ps.code, 0, ps.stderr)
      const denied = await ocre(['ps', '--host', `tcp://127.0.0.1:${port}`])
      assert.equal(denied.code, 125)
      assert.match(denied.stderr, /bearer token/)
    } finally {
      await d.stop()
    }
  })

  it('without a daemon: container commands say so; run -d needs one; run works standalone', async () => {
    const ps = await ocre(['--workdir', workdir, 'ps'])
    assert.equal(ps.code, 125)
    assert.match(ps.stderr, /^ocre: no ocre daemon runs on /)
    const d = await ocre(['--workdir', workdir, 'run', '-d', 'hello.wasm'])
    assert.equal(d.code, 125)
    assert.match(d.stderr, /run -d needs a daemon/)
    const run = await ocre(['--workdir', workdir, 'run', 'hello.wasm'])
    assert.equal(run.code, 0)
    assert.equal(run.stdout, 'Hello from WebAssembly!\n')
  })

  it('SIGTERM stops every container with its grace period, exits 0; they run again with the next daemon', async () => {
    let d = await Daemon.start(workdir)
    let client = await d.client()
    const c = await client.create({ image: 'sleeper.wasm', id: 'sl', args: ['60'], stopTimeout: 100 })
    await c.start()
    const stopped = await client.create({ image: 'hello.wasm', id: 'done' })
    await stopped.start()
    await stopped.wait()
    client.close()
    assert.deepEqual(await d.stop(), { code: 0, signal: null })
    assert.ok(d.records.some((r) => r.msg === 'stopped'))
    assert.equal(fs.existsSync(path.join(workdir, 'ocre.sock')), false, 'the socket is removed')
    d = await Daemon.start(workdir)
    try {
      client = await d.client()
      assert.equal((await client.get('sl'))!.status, 'running')
      const done = (await client.get('done'))!
      assert.equal(done.status, 'stopped')
      assert.deepEqual(done.exitResult, { exitCode: 0, reason: 'exit' })
      client.close()
    } finally {
      await d.stop()
    }
  })
})

// The daemon's parts on their own: restart policies and back-off, the
// record store (atomic writes, ordering, temp files), the rotating log
// file (rotation, reads during writes), error statuses, argument parsers.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseHost } from '../lib/client/transport'
import { humanDuration, parseSinceArg } from '../lib/cli/ps-format'
import { DEFAULT_PULL_MAX_BYTES } from '../lib/cli/util'
import { parseTcp } from '../lib/daemon/main'
import { LogFile } from '../lib/daemon/logs'
import { decideRestart, parseRestartPolicy, startsAtBoot } from '../lib/daemon/restart'
import { parseSince } from '../lib/daemon/routes'
import { statusOf } from '../lib/daemon/server'
import { type ContainerRecord, RecordStore } from '../lib/daemon/store'
import { DEFAULT_MAX_BYTES } from '../lib/images'

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-daemon-unit-'))
}

function record(id: string, restartCount = 0): ContainerRecord {
  return {
    version: 1,
    definition: {
      id,
      image: 'hello.wasm',
      args: [],
      env: {},
      capabilities: [],
      mounts: [],
      restart: { name: 'no', maxRetries: 0 },
      stopTimeout: 10_000,
      created: '2026-01-01T00:00:00.000Z',
    },
    state: { running: false, manuallyStopped: false, restartCount, startedAt: null, lastExit: null },
  }
}

describe('daemon: restart policies', () => {
  const B = { baseMs: 100, maxMs: 1000, stableMs: 10_000 }
  const end = (policy: string, exitCode: number, restartCount = 0, runMs = 5, streak = 0) => ({
    policy: parseRestartPolicy(policy)!,
    exitCode,
    restartCount,
    runMs,
    streak,
  })

  it('parses Docker\'s policy names', () => {
    assert.deepEqual(parseRestartPolicy('no'), { name: 'no', maxRetries: 0 })
    assert.deepEqual(parseRestartPolicy('on-failure'), { name: 'on-failure', maxRetries: 0 })
    assert.deepEqual(parseRestartPolicy('on-failure:5'), { name: 'on-failure', maxRetries: 5 })
    assert.deepEqual(parseRestartPolicy('unless-stopped'), { name: 'unless-stopped', maxRetries: 0 })
    for (const bad of ['', 'always:3', 'on-failure:', 'on-failure:-1', 'sometimes', 'NO']) assert.equal(parseRestartPolicy(bad), null, bad)
  })

  it('decides as Docker does: no never, on-failure on non-zero up to N, always and unless-stopped always', () => {
    assert.equal(decideRestart(end('no', 1), B).restart, false)
    assert.equal(decideRestart(end('on-failure', 0), B).restart, false)
    assert.equal(decideRestart(end('on-failure', 1), B).restart, true)
    assert.equal(decideRestart(end('on-failure', 137), B).restart, true)
    assert.equal(decideRestart(end('on-failure:2', 1, 1), B).restart, true)
    assert.equal(decideRestart(end('on-failure:2', 1, 2), B).restart, false)
    assert.equal(decideRestart(end('on-failure', 1, 1_000_000), B).restart, true, 'no limit without N')
    assert.equal(decideRestart(end('always', 0), B).restart, true)
    assert.equal(decideRestart(end('unless-stopped', 0), B).restart, true)
  })

  it('backs off exponentially between quick restarts, up to the maximum, and resets after a stable run', () => {
    let streak = 0
    const delays: number[] = []
    for (let i = 0; i < 7; i++) {
      const v = decideRestart(end('always', 1, i, 5, streak), B)
      delays.push(v.delayMs)
      streak = v.streak
    }
    assert.deepEqual(delays, [0, 100, 200, 400, 800, 1000, 1000])
    const stable = decideRestart(end('always', 1, 7, 10_000, streak), B)
    assert.equal(stable.delayMs, 0, 'a run of stableMs or more resets the back-off')
    assert.equal(decideRestart(end('always', 1, 8, 5, stable.streak), B).delayMs, 100)
  })

  it('starts at boot: always; unless-stopped unless stopped by hand; the others if they were running', () => {
    const p = (s: string) => parseRestartPolicy(s)!
    assert.equal(startsAtBoot(p('always'), false, true), true)
    assert.equal(startsAtBoot(p('unless-stopped'), false, false), true)
    assert.equal(startsAtBoot(p('unless-stopped'), true, true), false)
    assert.equal(startsAtBoot(p('no'), true, false), true)
    assert.equal(startsAtBoot(p('no'), false, false), false)
    assert.equal(startsAtBoot(p('on-failure'), false, false), false)
  })
})

describe('daemon: record store', () => {
  let dir: string
  beforeEach(() => {
    dir = tmp()
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('writes records atomically, keeps the latest of quick saves, deletes after earlier writes', async () => {
    const store = new RecordStore(path.join(dir, 'c'))
    await store.load(() => assert.fail('no bad record'))
    const saves = [1, 2, 3, 4, 5].map((n) => store.save(record('a', n)))
    const gone = store.delete('b')
    await Promise.all([...saves, gone])
    const a = JSON.parse(fs.readFileSync(path.join(dir, 'c', 'a.json'), 'utf8'))
    assert.equal(a.state.restartCount, 5)
    await store.save(record('b'))
    const deleting = store.delete('b')
    await deleting
    assert.deepEqual(fs.readdirSync(path.join(dir, 'c')), ['a.json'])
    // a save queued behind a delete comes back; a delete behind a save wins
    store.save(record('c'))
    store.delete('c')
    await store.idle()
    assert.deepEqual(fs.readdirSync(path.join(dir, 'c')), ['a.json'])
  })

  it('removes leftover temp files at load and reports records it cannot read', async () => {
    const d = path.join(dir, 'c')
    fs.mkdirSync(d)
    fs.writeFileSync(path.join(d, 'x.json.tmp-1-1'), '{"half')
    fs.writeFileSync(path.join(d, 'ok.json'), JSON.stringify(record('ok')))
    fs.writeFileSync(path.join(d, 'torn.json'), '{"version":1,"defin')
    fs.writeFileSync(path.join(d, 'other.json'), JSON.stringify(record('someone-else')))
    const bad: string[] = []
    const records = await new RecordStore(d).load((file) => bad.push(path.basename(file)))
    assert.deepEqual(records.map((r) => r.definition.id), ['ok'])
    assert.deepEqual(bad.sort(), ['other.json', 'torn.json'])
    assert.equal(fs.existsSync(path.join(d, 'x.json.tmp-1-1')), false)
  })
})

describe('daemon: log files', () => {
  let dir: string
  beforeEach(() => {
    dir = tmp()
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('rotates at maxBytes and keeps maxFiles files of whole records', async () => {
    const log = new LogFile(dir, 'x', { maxBytes: 1000, maxFiles: 3 })
    for (let i = 0; i < 200; i++) log.append(i % 2 ? 'stderr' : 'stdout', `line ${i}`)
    await log.close()
    const files = fs.readdirSync(dir).sort()
    assert.deepEqual(files, ['x.log', 'x.log.1', 'x.log.2'])
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8')
      assert.ok(text.length <= 1000, `${f}: ${text.length}`)
      for (const line of text.split('\n').filter(Boolean)) assert.ok(JSON.parse(line).line.startsWith('line '))
    }
    const { records } = await log.read()
    records.forEach((r, i) => assert.equal(r.line, `line ${200 - records.length + i}`))
    assert.equal(records[records.length - 1].stream, 'stderr')
  })

  it('a read during writes sees every record once, in order, then the live ones', async () => {
    const log = new LogFile(dir, 'y', { maxBytes: 1 << 20, maxFiles: 2 })
    let n = 0
    for (; n < 500; n++) log.append('stdout', `r${n}`)
    const live: string[] = []
    const reading = log.read((r) => live.push(r.line))
    for (; n < 1000; n++) log.append('stdout', `r${n}`) // while the read holds the writer
    const { records, stop } = await reading
    for (; n < 1500; n++) log.append('stdout', `r${n}`)
    stop()
    log.append('stdout', 'after stop')
    const seen = [...records.map((r) => r.line), ...live]
    assert.deepEqual(seen, Array.from({ length: 1500 }, (_, i) => `r${i}`))
    await log.close()
  })

  it('splits long lines and captures a last line without a newline', async () => {
    const { PassThrough } = await import('node:stream')
    const log = new LogFile(dir, 'z', { maxBytes: 1 << 20, maxFiles: 1 })
    const s = new PassThrough()
    log.capture(s, 'stdout')
    s.write('a'.repeat(40 * 1024) + '\nb')
    s.end('c')
    await new Promise((resolve) => s.once('close', resolve))
    const { records } = await log.read()
    assert.deepEqual(records.map((r) => r.line.length), [16384, 16384, 40 * 1024 - 32768, 2])
    assert.equal(records[3].line, 'bc')
    await log.remove()
    assert.deepEqual(fs.readdirSync(dir), [])
  })
})

describe('daemon: small parsers and mappings', () => {
  it('maps error codes to HTTP statuses', () => {
    assert.equal(statusOf('ERR_OCRE_NOT_FOUND'), 404)
    assert.equal(statusOf('ERR_OCRE_IMAGE_NOT_FOUND'), 404)
    assert.equal(statusOf('ERR_OCRE_STATE'), 409)
    assert.equal(statusOf('ERR_OCRE_EXISTS'), 409)
    assert.equal(statusOf('ERR_OCRE_INVALID_NAME'), 400)
    assert.equal(statusOf('ERR_OCRE_TOO_LARGE'), 413)
    assert.equal(statusOf('ERR_OCRE_IO'), 500)
    assert.equal(statusOf(undefined, 'TypeError'), 400)
    assert.equal(statusOf(undefined, 'Error'), 500)
  })

  it('parses hosts, --tcp and times', () => {
    assert.deepEqual(parseHost('unix:///run/ocre/ocre.sock'), { socketPath: '/run/ocre/ocre.sock' })
    assert.deepEqual(parseHost('/x.sock'), { socketPath: '/x.sock' })
    assert.deepEqual(parseHost('tcp://10.0.0.1:2375'), { host: '10.0.0.1', port: 2375 })
    assert.deepEqual(parseHost('tcp://:2375'), { host: '127.0.0.1', port: 2375 })
    assert.deepEqual(parseHost('tcp://[::1]:2375'), { host: '::1', port: 2375 })
    for (const bad of ['unix://rel', 'tcp://x', 'tcp://h:99999', 'http://h:1', 'rel.sock'])
      assert.throws(() => parseHost(bad), { code: 'ERR_OCRE_INVALID_ARGUMENT' }, bad)
    assert.deepEqual(parseTcp('2375'), { host: '127.0.0.1', port: 2375 })
    assert.deepEqual(parseTcp('0.0.0.0:1'), { host: '0.0.0.0', port: 1 })
    assert.throws(() => parseTcp('host'), { code: 'ERR_OCRE_INVALID_ARGUMENT' })
    assert.equal(parseSince('1700000000')!.toISOString(), '2023-11-14T22:13:20.000Z')
    assert.equal(parseSince('2026-01-02T03:04:05Z')!.toISOString(), '2026-01-02T03:04:05.000Z')
    assert.throws(() => parseSince('soon'), { code: 'ERR_OCRE_INVALID_ARGUMENT' })
    assert.equal(parseSinceArg('10m', 1_000_000).getTime(), 400_000)
    assert.equal(parseSinceArg('2h', 1e8).getTime(), 1e8 - 72e5)
    assert.throws(() => parseSinceArg('10 minutes'), /invalid time/)
    assert.equal(humanDuration(500), 'Less than a second')
    assert.equal(humanDuration(5_000), '5 seconds')
    assert.equal(humanDuration(70_000), 'About a minute')
    assert.equal(humanDuration(3 * 3600_000), '3 hours')
  })

  it('the CLI\'s pull size limit in --help is the image store\'s', () => {
    assert.equal(DEFAULT_PULL_MAX_BYTES, DEFAULT_MAX_BYTES)
  })
})

#!/usr/bin/env node
// The adversarial-guest suite (run by `npm run fuzz` after the mutants, and
// alone with `node scripts/adversarial.mjs [--json]`): every hostile thing a
// guest can do through a host call, each case checked for its exact outcome,
// all of them in one child process so that a crash or hang of the host is
// observed, not suffered. A host call added to the engine gets a case here
// (and a command in test/fixtures/src/hostile.c when it needs guest code).
//
// Cases end one of three ways: an expected exit (code, stdout), an expected
// trap message, or a kill from whatever the guest is blocked in (it printed
// "ready" / "spinning" first). Every kill must end the container (137,
// killed) and every case must leave the process alive with no fd leaked.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const FIXTURES = path.join(root, 'test', 'fixtures')
const CASE_TIMEOUT_MS = 20000

/** What ocre-app.wasm abuse prints: each hostile call's negative errno. */
const OCRE_ABUSE = [
  'ocre_get_event(bad, &v, &v, &v, &v, &v) -14',
  'ocre_get_event(&v, &v, &v, &v, &v, bad) -14',
  'ocre_publish_message("t", "text/plain", end_of_memory, 4000) -14',
  'ocre_publish_message("t", "text/plain", "x", -1) -22',
  'ocre_subscribe_message(end_of_memory) -22',
  'ocre_sensors_get_list(small, 1 << 30) -22',
  'ocre_sensors_get_list(small, 0) -22',
  'ocre_timer_start(1, 10, 1) -22',
  'ocre_timer_create(-5) -22',
  'ocre_gpio_pin_set(-1, -1, 1) -19',
  'ocre_register_dispatcher(0, "") -22',
  'end',
  '',
].join('\n')

/** The cases: [name, image, create options, expectation]. */
function cases(env) {
  const caps = ['networking']
  const data = [{ source: env.dir, target: '/data' }]
  const kill = (marker) => ({ kill: marker })
  return [
    ['start section calls WASI', 'start-hostcall.wasm', {}, { exit: 0, stdout: 'start\nmain\n' }],
    ['start section calls the Ocre API', 'start-ocre-api.wasm', { capabilities: ['ocre:api'] }, { exit: 0, stdout: '0y\n' }],
    // ocre_sleep needs no capability; a timer is -EACCES (never a trap)
    ['start section calls the Ocre API without the capability', 'start-ocre-api.wasm', {}, { exit: 0, stdout: '0n\n' }],
    ['proc_exit in a start section', 'start-exit.wasm', {}, { exit: 7, stdout: '' }],
    ['trap in a start section', 'start-trap.wasm', {}, { trap: /unreachable/ }],
    ['imported start function', 'start-import.wasm', {}, { trap: /unlinked import/ }],
    ['import re-exported as _start', 'export-import-start.wasm', {}, { trap: /unlinked import/ }],
    ['wrong-typed _start', 'export-wasi-start.wasm', {}, { trap: /not a WASI command/ }],
    ['busy start section', 'start-spin.wasm', {}, kill(/spinning/)],
    ['busy instantiation hooks', 'post-instantiate-spin.wasm', {}, kill(null)],
    ['table and memory at their limits', 'limits.wasm', {}, { trap: /./ }],
    ['busy loop', 'hostile.wasm', { args: ['spin'] }, kill(/ready/)],
    ['blocked in sock_accept', 'hostile.wasm', { args: ['accept', env.freePort], capabilities: caps }, kill(/ready/)],
    ['blocked in sock_recv', 'hostile.wasm', { args: ['recv', '127.0.0.1', env.port], capabilities: caps }, kill(/ready/)],
    ['blocked in poll_oneoff on a socket', 'hostile.wasm', { args: ['pollsock', '127.0.0.1', env.port], capabilities: caps }, kill(/ready/)],
    ['blocked in sock_send', 'hostile.wasm', { args: ['send', '127.0.0.1', env.port], capabilities: caps }, kill(/ready/)],
    ['blocked in fd_read of a FIFO', 'hostile.wasm', { args: ['read', '/data/fifo'], mounts: data }, kill(/ready/)],
    ['blocked in poll_oneoff on a FIFO', 'hostile.wasm', { args: ['poll', '/data/fifo'], mounts: data }, kill(/ready/)],
    ['fd_write to a full pipe after fd_renumber', 'hostile.wasm', { args: ['renumber-write'], stdio: 'pipe' }, { ...kill(/ready/), unread: true }],
    [
      'opening files without end',
      'hostile.wasm',
      { args: ['openmany', '/data/many'], mounts: data, maxOpenFiles: 16 },
      { exit: 0, stdout: 'opened 13: No file descriptors available\n' },
    ],
    // WASI calls the engine implements itself (wasi_preopen.c, wasi_checks.c)
    ['fd_renumber(n, n)', 'wasi-edge.wasm', { args: ['renumber-self'] }, { exit: 0, stdout: 'renumber 0\nstill open\n' }],
    [
      'renumbering to get past the open-file limit',
      'wasi-edge.wasm',
      { args: ['fd-count', '/data', '20'], mounts: data, maxOpenFiles: 16 },
      { exit: 0, stdout: 'open 16 33\n' },
    ],
    ['closing a preopen', 'wasi-edge.wasm', { args: ['close-preopen', '/data'], mounts: data }, { exit: 0, stdout: 'close 0\nprestat 8\nfdstat 8\n' }],
    ['fd_prestat_get past the end of memory', 'wasi-edge.wasm', { args: ['bad-pointer'], mounts: data }, { trap: /out of bounds memory access/ }],
    ['sock_shutdown of a pipe', 'wasi-edge.wasm', { args: ['shutdown'] }, { exit: 0, stdout: 'stdout 57\nbadfd 8\n' }],
    ['absolute symlink target', 'hostile.wasm', { args: ['symlink', '/etc/passwd', '/data/l1'], mounts: data }, { exit: 0, stdout: 'error: Operation not permitted\n' }],
    ['escaping symlink target', 'hostile.wasm', { args: ['symlink', '../..', '/data/l2'], mounts: data }, { exit: 0, stdout: 'error: Operation not permitted\n' }],
    ['runaway recursion', 'hostile.wasm', { args: ['recurse', '100000000'] }, { trap: /call stack overflow/ }],
    ['Ocre API: offsets and sizes outside memory', 'ocre-app.wasm', { args: ['abuse'], capabilities: ['ocre:api'] }, { exit: 0, stdout: OCRE_ABUSE }],
    ['Ocre API: a topic pointer outside memory', 'ocre-app.wasm', { args: ['abuse-trap'], capabilities: ['ocre:api'] }, { trap: /out of bounds/ }],
    ['Ocre API: the event loop with 16 timers', 'ocre-app.wasm', { args: ['hold', 'loop'], capabilities: ['ocre:api'] }, kill(/holding/)],
  ]
}

async function child() {
  const require = createRequire(import.meta.url)
  const ocre = require(path.join(root, 'dist', 'index.js'))
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-adversarial-'))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-adversarial-data-'))
  fs.mkdirSync(path.join(dir, 'many'))
  fs.mkdirSync(path.join(workdir, 'images'))
  for (const f of fs.readdirSync(FIXTURES)) if (f.endsWith('.wasm')) fs.copyFileSync(path.join(FIXTURES, f), path.join(workdir, 'images', f))
  const peers = [] // accepted, never read from or written to
  const server = net.createServer((s) => peers.push(s.on('error', () => {})))
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const idle = net.createServer(() => {})
  await new Promise((r) => idle.listen(0, '127.0.0.1', r))
  const freePort = String(idle.address().port)
  await new Promise((r) => idle.close(r))
  await new Promise((resolve, reject) => {
    const p = spawn('mkfifo', [path.join(dir, 'fifo')])
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error('mkfifo failed'))))
  })
  const keep = fs.openSync(path.join(dir, 'fifo'), fs.constants.O_RDWR) // a writer that never writes
  const env = { dir, port: String(server.address().port), freePort }
  const ctx = await ocre.open({ workdir })
  const fdList = () => fs.readdirSync('/proc/self/fd').map((f) => { try { return f + ' ' + fs.readlinkSync('/proc/self/fd/' + f) } catch { return f } })
  const fds = () => fs.readdirSync('/proc/self/fd').length
  const beforeList = fdList()
  const before = fds()
  for (const [name, image, options, expect] of cases(env)) {
    process.stdout.write(JSON.stringify({ begin: name }) + '\n')
    let verdict
    try {
      verdict = await runCase(ctx, image, options, expect)
    } catch (err) {
      verdict = `threw ${err?.code ?? ''} ${err?.message ?? err}`
    }
    process.stdout.write(JSON.stringify({ name, ok: verdict === null, detail: verdict }) + '\n')
  }
  await ctx.close()
  await Promise.all(peers.map((s) => (s.closed ? null : new Promise((r) => s.once('close', r).destroy()))))
  const leaked = fds() - before
  if (process.env.OCRE_ADV_DEBUG) process.stderr.write(JSON.stringify(fdList().filter((f) => !beforeList.includes(f))) + '\n')
  process.stdout.write(JSON.stringify({ name: 'no fd leaked', ok: leaked <= 0, detail: leaked > 0 ? `${leaked} fds` : null }) + '\n')
  fs.closeSync(keep)
  server.close()
  fs.rmSync(workdir, { recursive: true, force: true })
  fs.rmSync(dir, { recursive: true, force: true })
}

/** null when the case ended as expected, else what happened. */
async function runCase(ctx, image, options, expect) {
  const c = await ctx.create({ image, stdio: ['ignore', 'pipe', 'pipe'], memoryLimit: 64 << 20, ...options, detached: true })
  let stdout = ''
  let stderr = ''
  let marker
  const seen = new Promise((resolve) => (marker = resolve))
  const closed = new Promise((resolve) => c.once('close', resolve))
  await c.start()
  const watch = (b, isOut) => {
    if (isOut) stdout = (stdout + b).slice(0, 4096)
    else stderr = (stderr + b).slice(0, 4096)
    if (expect.kill && expect.kill.test(stdout) | expect.kill.test(stderr)) marker()
  }
  if (expect.unread) c.stdout.pause() // nobody reads: the pipe fills
  else c.stdout.on('data', (b) => watch(b, true))
  c.stderr.on('data', (b) => watch(b, false))
  let result
  if (expect.kill !== undefined) {
    const early = c.wait().then((r) => r)
    if (expect.kill && (await Promise.race([seen.then(() => null), early])) !== null) {
      await closed
      await c.remove()
      return `ended ${JSON.stringify(await early)} before it blocked: ${JSON.stringify(stdout + stderr)}`
    }
    await new Promise((r) => setTimeout(r, 20)) // let it enter the call
    result = await c.kill()
    if (expect.unread) c.stdout.destroy()
    c.stdin?.destroy()
  } else {
    result = await c.wait()
  }
  await closed
  await c.remove()
  if (expect.kill !== undefined)
    return result.exitCode === 137 && result.reason === 'killed' ? null : `ended ${JSON.stringify(result)}, not killed`
  if (expect.trap)
    return result.reason === 'trap' && expect.trap.test(result.message ?? '') ? null : `ended ${JSON.stringify(result)}, expected a trap ${expect.trap}`
  if (result.exitCode !== expect.exit || result.reason !== 'exit') return `ended ${JSON.stringify(result)}, expected exit ${expect.exit}`
  if (expect.stdout !== undefined && stdout !== expect.stdout) return `stdout ${JSON.stringify(stdout)}, expected ${JSON.stringify(expect.stdout)}`
  return null
}

/** Run the suite in a child process; resolves to { ok, results, failure }. */
export function runAdversarial() {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let current = null
    let timer
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => p.kill('SIGKILL'), CASE_TIMEOUT_MS)
    }
    arm()
    p.stdout.on('data', (b) => {
      out += b
      const begun = [...out.matchAll(/\{"begin":"([^"]+)"\}/g)].pop()
      if (begun && begun[1] !== current) {
        current = begun[1]
        arm()
      }
    })
    p.stderr.on('data', (b) => (err += b))
    p.on('close', (code, signal) => {
      clearTimeout(timer)
      const results = out
        .split('\n')
        .filter((l) => l.startsWith('{"name"'))
        .map((l) => JSON.parse(l))
      const failure =
        code === 0
          ? null
          : `the host ${signal ? `died of ${signal}` : `exited ${code}`} during "${current}"${signal === 'SIGKILL' ? ' (hung)' : ''}: ${err.trim().slice(-300)}`
      resolve({ ok: failure === null && results.every((r) => r.ok), results, failure })
    })
  })
}

if (process.argv[2] === '--child') {
  await child()
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await runAdversarial()
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(r) + '\n')
  else {
    for (const c of r.results) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? `: ${c.detail}` : ''}\n`)
    if (r.failure) process.stdout.write(`FAIL ${r.failure}\n`)
    process.stdout.write(r.ok ? `adversarial: ${r.results.length} cases, all as expected\n` : 'adversarial: failures\n')
  }
  process.exitCode = r.ok ? 0 : 1
}

#!/usr/bin/env node
// `npm run bench`: ocre-node against what a Node user would otherwise pick
// (node:wasi on the main thread with one compiled Module, node:wasi in a fresh
// worker_thread per container, a pool of 2 workers sharing one Module), on
// the fixtures of test/fixtures. Prints a markdown table and writes
// bench/results/<date>.json. Never part of `npm test`. Method: BENCHMARKS.md.
//
//   node bench/run.mjs [--quick] [--only NAME[,NAME]]
//   (NAME: cycle, throughput, memory, many, kill, killblock, compute, log, eventloop, aot, ocreapi, daemon, timing, oci, priority, runcycle)
// A full run writes bench/results/<date>.json, a partial one <date>-partial.json.
// Memory is measured in child processes (`--child memory-...`) so that each
// figure starts from a clean heap.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { WASI } from 'node:wasi'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Worker } from 'node:worker_threads'
import { benchAot } from './aot.mjs'
import { benchOcreApi, childOcreApiMemory } from './ocre-api.mjs'
import { benchDaemon } from './daemon.mjs'
import { benchTiming } from './timing.mjs'
import { benchOci } from './oci.mjs'
import { benchPriority } from './priority.mjs'
import { benchRunCycle } from './run-cycle.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..')
const require = createRequire(import.meta.url)
const fixtures = path.join(root, 'test', 'fixtures')
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const onlyArg = args.indexOf('--only')
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : null
const want = (name) => !only || only.has(name)

function loadOcre() {
  const dist = path.join(root, 'dist', 'index.js')
  if (!fs.existsSync(dist)) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' })
  return require(dist)
}
const ocre = loadOcre()
process.removeAllListeners('warning') // node:wasi's ExperimentalWarning

// ---- helpers ----

const nowUs = () => Number(process.hrtime.bigint()) / 1000
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
function stats(samples) {
  const s = [...samples].sort((a, b) => a - b)
  const q = (p) => s[Math.min(s.length - 1, Math.floor(s.length * p))]
  return { n: s.length, median: q(0.5), p99: q(0.99), min: s[0], max: s[s.length - 1] }
}
function procStatus() {
  const t = fs.readFileSync('/proc/self/status', 'utf8')
  const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? NaN)
  return { rssKb: get('VmRSS'), threads: get('Threads') }
}
const modules = {}
function wasmModule(name) {
  modules[name] ??= new WebAssembly.Module(fs.readFileSync(path.join(fixtures, name)))
  return modules[name]
}
const devnull = fs.openSync('/dev/null', 'r+')
// Node 20.20's node:wasi crashes (SIGSEGV in V8's LoadIC) after a few
// thousand instances in one process unless a full GC runs in between; the
// main-thread loops and the pool workers do so every 100–500 runs.
v8.setFlagsFromString('--expose-gc')
const forceGc = vm.runInNewContext('gc')

async function openCtx() {
  const wd = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-bench-'))
  const ctx = await ocre.open({ workdir: wd })
  for (const f of ['trivial', 'hello', 'exit-code', 'sleeper', 'spin', 'cat', 'sha256', 'chatty', 'hostile', 'start-spin'])
    fs.copyFileSync(path.join(fixtures, `${f}.wasm`), path.join(wd, 'images', `${f}.wasm`))
  return { ctx, wd, done: async () => (await ctx.close(), fs.rmSync(wd, { recursive: true, force: true })) }
}

// ---- node:wasi alternatives ----

function wasiRunMain(mod, argv = []) {
  const wasi = new WASI({ version: 'preview1', args: ['x', ...argv], env: {}, stdin: devnull, stdout: devnull, stderr: devnull, returnOnExit: true })
  const inst = new WebAssembly.Instance(mod, wasi.getImportObject())
  return wasi.start(inst)
}

// A worker that runs one module (workerData: { module, args, stdout }) and exits.
const ONE_SHOT = `
const { WASI } = require('node:wasi'); const { workerData, parentPort } = require('node:worker_threads')
const fs = require('node:fs'); const nul = fs.openSync('/dev/null', 'r+')
const wasi = new WASI({ version: 'preview1', args: ['x', ...workerData.args], env: {}, stdin: workerData.stdin ?? nul, stdout: nul, stderr: nul, returnOnExit: true })
const inst = new WebAssembly.Instance(workerData.module, wasi.getImportObject())
parentPort.postMessage({ started: true })
const code = wasi.start(inst)
parentPort.postMessage({ code })`
function workerRun(mod, argv = [], extra = {}) {
  const w = new Worker(ONE_SHOT, { eval: true, execArgv: ['--no-warnings'], workerData: { module: mod, args: argv, ...extra } })
  const started = new Promise((r) => w.on('message', (m) => m.started && r()))
  const exited = new Promise((r, j) => (w.once('exit', r), w.once('error', j)))
  return { w, started, exited }
}

// A pool of workers, each running jobs { args } on one shared Module.
const POOL = `
const { WASI } = require('node:wasi'); const { workerData, parentPort } = require('node:worker_threads')
const fs = require('node:fs'); const nul = fs.openSync('/dev/null', 'r+')
require('node:v8').setFlagsFromString('--expose-gc')
const runGc = require('node:vm').runInNewContext('gc')
let jobs = 0
parentPort.on('message', (job) => {
  if (++jobs % 500 === 0) runGc() // node:wasi's crash, see forceGc
  const wasi = new WASI({ version: 'preview1', args: ['x', ...job.args], env: {}, stdin: nul, stdout: nul, stderr: nul, returnOnExit: true })
  const inst = new WebAssembly.Instance(workerData.module, wasi.getImportObject())
  parentPort.postMessage({ id: job.id, code: wasi.start(inst) })
})`
class Pool {
  constructor(mod, size = 2) {
    this.workers = Array.from({ length: size }, () => new Worker(POOL, { eval: true, execArgv: ['--no-warnings'], workerData: { module: mod } }))
    this.waiting = new Map()
    this.next = 0
    this.id = 0
    for (const w of this.workers) w.on('message', (m) => (this.waiting.get(m.id)(m.code), this.waiting.delete(m.id)))
  }
  run(argv = []) {
    const id = this.id++
    const w = this.workers[this.next++ % this.workers.length]
    return new Promise((r) => (this.waiting.set(id, r), w.postMessage({ id, args: argv })))
  }
  async ready() {
    await Promise.all(this.workers.map((w) => new Promise((r) => w.once('online', r))))
  }
  close() {
    return Promise.all(this.workers.map((w) => w.terminate()))
  }
}

// ---- results ----

const rows = []
const results = {}
function record(group, name, value, unit, extra = {}) {
  results[group] ??= {}
  results[group][name] = { value, unit, ...extra }
  rows.push({ group, name, value, unit, extra })
}
function recordLatency(group, name, samplesUs, extra = {}) {
  const s = stats(samplesUs)
  record(group, name, s.median, 'µs', { n: s.n, p99: s.p99, ...extra })
  console.error(`  ${group} / ${name}: median ${fmt(s.median)} µs, p99 ${fmt(s.p99)} µs (n=${s.n})`)
}
function fmt(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v)
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US')
  if (Math.abs(v) >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

// ---- 1. cold cycle ----

async function benchCycle() {
  console.error('1. cold cycle (create + start + wait + remove)')
  const n = quick ? 300 : 3000
  const { ctx, done } = await openCtx()
  for (const image of ['trivial.wasm', 'hello.wasm']) {
    for (let i = 0; i < 200; i++) {
      const c = await ctx.create({ image, stdio: 'ignore' })
      await c.start()
      await c.remove()
    }
    const t = []
    for (let i = 0; i < n; i++) {
      const t0 = nowUs()
      const c = await ctx.create({ image, stdio: 'ignore' })
      await c.start()
      await c.remove()
      t.push(nowUs() - t0)
    }
    recordLatency('cold cycle', `ocre-node ${image} (stdio ignore)`, t)
    const r = []
    for (let i = 0; i < n / 3; i++) {
      const t0 = nowUs()
      await ctx.run(image)
      r.push(nowUs() - t0)
    }
    recordLatency('cold cycle', `ocre-node ${image} ctx.run (stdio pipe)`, r)
    const mod = wasmModule(image)
    const m = []
    for (let i = 0; i < n; i++) {
      if (i % 100 === 0) forceGc() // see forceGc
      const t0 = nowUs()
      wasiRunMain(mod)
      m.push(nowUs() - t0)
    }
    recordLatency('cold cycle', `node:wasi main thread ${image}`, m)
    const w = []
    for (let i = 0; i < (quick ? 10 : 50); i++) {
      const t0 = nowUs()
      await workerRun(mod).exited
      w.push(nowUs() - t0)
    }
    recordLatency('cold cycle', `node:wasi fresh worker ${image}`, w)
    const pool = new Pool(mod)
    await pool.ready()
    const p = []
    for (let i = 0; i < n; i++) {
      const t0 = nowUs()
      await pool.run()
      p.push(nowUs() - t0)
    }
    await pool.close()
    recordLatency('cold cycle', `node:wasi pool of 2 ${image}`, p)
  }
  await done()
}

// ---- 2. throughput ----

async function inFlight(total, width, fn) {
  let next = 0
  const t0 = nowUs()
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < total) {
        next++
        await fn()
      }
    }),
  )
  return total / ((nowUs() - t0) / 1e6)
}

async function benchThroughput() {
  console.error('2. throughput (trivial.wasm, 64 in flight)')
  const { ctx, done } = await openCtx()
  const total = quick ? 3000 : 30000
  const cycle = async () => {
    const c = await ctx.create({ image: 'trivial.wasm', stdio: 'ignore' })
    await c.start()
    await c.remove()
  }
  await inFlight(1000, 64, cycle)
  const ours = await inFlight(total, 64, cycle)
  record('throughput', 'ocre-node (64 in flight)', ours, 'containers/s', { n: total })
  const mod = wasmModule('trivial.wasm')
  let runs = 0
  const main = await inFlight(total, 64, async () => {
    if (++runs % 500 === 0) forceGc()
    wasiRunMain(mod)
  })
  record('throughput', 'node:wasi main thread (serial by nature)', main, 'containers/s', { n: total })
  const fresh = await inFlight(quick ? 64 : 256, 64, () => workerRun(mod).exited)
  record('throughput', 'node:wasi fresh worker (64 in flight)', fresh, 'containers/s', { n: quick ? 64 : 256 })
  const pool = new Pool(mod)
  await pool.ready()
  const pooled = await inFlight(total, 64, () => pool.run())
  await pool.close()
  record('throughput', 'node:wasi pool of 2 (64 queued)', pooled, 'containers/s', { n: total })
  for (const r of rows.filter((r) => r.group === 'throughput')) console.error(`  ${r.name}: ${fmt(r.value)} /s`)
  await done()
}

// ---- 3. memory (children) ----

async function childMemory(kind, n) {
  const base = procStatus()
  if (kind === 'ocre') {
    const { ctx, done } = await openCtx()
    // warm: module loaded, arenas created
    const w = await ctx.create({ image: 'sleeper.wasm', args: ['0'], stdio: 'ignore' })
    await w.start()
    await w.remove()
    const b = procStatus()
    const cs = []
    for (let i = 0; i < n; i++) {
      const c = await ctx.create({ image: 'sleeper.wasm', args: ['60'], stdio: 'ignore', detached: true })
      await c.start()
      cs.push(c)
    }
    await sleep(1000)
    const a = procStatus()
    const t0 = nowUs()
    await Promise.all(cs.map((c) => c.kill()))
    const killAllMs = (nowUs() - t0) / 1000
    await Promise.all(cs.map((c) => c.remove()))
    await done()
    return { n, rssKbBefore: b.rssKb, rssKbAfter: a.rssKb, perKb: (a.rssKb - b.rssKb) / n, threads: a.threads - b.threads, killAllMs }
  }
  const mod = wasmModule('sleeper.wasm')
  const b = procStatus()
  const ws = []
  for (let i = 0; i < n; i++) {
    const r = workerRun(mod, ['60'])
    await r.started
    ws.push(r)
  }
  await sleep(1000)
  const a = procStatus()
  const t0 = nowUs()
  await Promise.race([Promise.all(ws.map((r) => r.w.terminate())), sleep(3000)])
  const killAllMs = (nowUs() - t0) / 1000
  setTimeout(() => process.exit(0), 10).unref()
  return { n, base: base.rssKb, rssKbBefore: b.rssKb, rssKbAfter: a.rssKb, perKb: (a.rssKb - b.rssKb) / n, threads: a.threads - b.threads, killAllMs }
}

function runChild(kind, n) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', `memory-${kind}`, String(n)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 180_000,
  })
  const line = r.stdout.trim().split('\n').pop()
  return JSON.parse(line)
}

async function benchMemory() {
  console.error('3. memory (sleeping containers)')
  const n = quick ? 200 : 1000
  const ours = runChild('ocre', n)
  record('memory', `ocre-node, ${n} asleep`, ours.perKb, 'KB RSS/container', { threads: ours.threads, rssKbAfter: ours.rssKbAfter })
  console.error(`  ocre-node: ${fmt(ours.perKb)} KB/container, +${ours.threads} threads`)
  const wn = quick ? 10 : 50
  const theirs = runChild('worker', wn)
  record('memory', `node:wasi fresh worker, ${wn} asleep`, theirs.perKb, 'KB RSS/container', { threads: theirs.threads })
  console.error(`  node:wasi workers: ${fmt(theirs.perKb)} KB/container, +${theirs.threads} threads`)
  record('memory', 'node:wasi main thread / pool of 2', 'n/a', '', { note: 'a sleeping guest blocks its thread: at most 1 / 2 asleep at a time' })
}

// ---- 4. kill latency ----

async function benchKill() {
  console.error('4. kill latency (kill() -> resolved)')
  const n = quick ? 30 : 200
  const { ctx, done } = await openCtx()
  const cases = [
    ['busy loop', 'spin.wasm', [], 'ignore'],
    ['sleeping', 'sleeper.wasm', ['60'], 'ignore'],
    ['blocked on stdin', 'cat.wasm', [], ['pipe', 'ignore', 'ignore']],
  ]
  for (const [label, image, a, stdio] of cases) {
    const t = []
    for (let i = 0; i < n; i++) {
      const c = await ctx.create({ image, args: a, stdio, detached: true })
      await c.start()
      await sleep(2) // let it reach the loop / the sleep / the read
      const t0 = nowUs()
      await c.kill()
      t.push(nowUs() - t0)
      await c.remove()
    }
    recordLatency('kill latency', `ocre-node ${label}`, t)
  }
  await done()
  // node:wasi in a worker: terminate() stops V8 execution, not a blocking syscall.
  const t = []
  for (let i = 0; i < (quick ? 5 : 30); i++) {
    const r = workerRun(wasmModule('spin.wasm'))
    await r.started
    await sleep(2)
    const t0 = nowUs()
    await r.w.terminate()
    t.push(nowUs() - t0)
  }
  recordLatency('kill latency', 'node:wasi worker.terminate() busy loop', t)
  const s = []
  for (let i = 0; i < 3; i++) {
    const r = workerRun(wasmModule('sleeper.wasm'), ['1'])
    await r.started
    await sleep(2)
    const t0 = nowUs()
    await r.w.terminate()
    s.push(nowUs() - t0)
  }
  recordLatency('kill latency', 'node:wasi worker.terminate() sleeping (1 s sleep)', s, { note: 'waits for the sleep to end' })
  record('kill latency', 'node:wasi worker.terminate() blocked on stdin', 'never', '', { note: 'a blocking read(2) is not interruptible by terminate(): the worker stays until input or EOF' })
}

// ---- 3b. many sleeping containers in one process ----

async function benchMany() {
  const n = quick ? 2000 : 10000
  console.error(`3b. ${n} sleeping containers in one process (stdio 'ignore')`)
  const { ctx, done } = await openCtx()
  const fdCount = () => fs.readdirSync('/proc/self/fd').length
  const w = await ctx.create({ image: 'sleeper.wasm', args: ['0'], stdio: 'ignore' })
  await w.start()
  await w.remove()
  const b = procStatus()
  const fdsBefore = fdCount()
  const cs = []
  const t0 = nowUs()
  for (let i = 0; i < n; i++) {
    const c = await ctx.create({ image: 'sleeper.wasm', args: ['600'], stdio: 'ignore', detached: true })
    await c.start()
    cs.push(c)
  }
  const createMs = (nowUs() - t0) / 1000
  await sleep(2000) // every one asleep (and trimmed: CONFIG_OCRE_IDLE_TRIM_MS)
  const a = procStatus()
  const fds = (fdCount() - fdsBefore) / n
  const t1 = nowUs()
  await Promise.all(cs.map((c) => c.kill()))
  const killAllMs = (nowUs() - t1) / 1000
  await Promise.all(cs.map((c) => c.remove()))
  await done()
  record('many', `ocre-node, ${n} asleep (stdio 'ignore'): host fds per container`, fds, 'fds/container', { note: `process fd limit ${execFileSync('sh', ['-c', 'ulimit -n']).toString().trim()}` })
  record('many', `ocre-node, ${n} asleep (stdio 'ignore'): memory`, (a.rssKb - b.rssKb) / n, 'KB RSS/container', { note: `+${a.threads - b.threads} threads; created and started in ${fmt(createMs)} ms; all killed in ${fmt(killAllMs)} ms` })
  console.error(`  ${fds} fds/container, ${fmt((a.rssKb - b.rssKb) / n)} KB/container, +${a.threads - b.threads} threads, killed in ${fmt(killAllMs)} ms`)
}

// ---- 4b. kill latency from each call that can block (hostile.wasm) ----

async function benchKillBlocked() {
  console.error('4b. kill latency from blocking WASI calls (kill() -> resolved)')
  const n = quick ? 20 : 100
  const { ctx, done } = await openCtx()
  const net = await import('node:net')
  const server = net.createServer(() => {}) // accepts, never reads or writes
  server.maxConnections = 1 << 20
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const port = String(server.address().port)
  const idle = net.createServer(() => {})
  await new Promise((r) => idle.listen(0, '127.0.0.1', r))
  const freePort = String(idle.address().port)
  await new Promise((r) => idle.close(r))
  const fifoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-bench-fifo-'))
  execFileSync('mkfifo', [path.join(fifoDir, 'fifo')])
  const keep = fs.openSync(path.join(fifoDir, 'fifo'), fs.constants.O_RDWR) // a writer that never writes
  execFileSync('mkfifo', [path.join(fifoDir, 'lonely')]) // nobody holds it: opens wait for the other end
  const mounts = [{ source: fifoDir, target: '/data' }]
  const caps = ['networking']
  // a peer whose accept queue is full (backlog 0, one connection queued): a connect to it waits
  const full = net.createServer(() => {})
  await new Promise((r) => full.listen(0, '127.0.0.1', r))
  const fullPort = String(full.address().port)
  await new Promise((r) => full.close(r))
  const listener = await ctx.create({ image: 'hostile.wasm', args: ['listen', fullPort], capabilities: caps, stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  await listener.start()
  await new Promise((resolve) => listener.stderr.on('data', (b) => /ready/.test(b.toString()) && resolve()))
  const queued = net.connect(Number(fullPort), '127.0.0.1')
  await new Promise((r) => queued.once('connect', r))
  const cases = [
    ['sock_accept', ['accept', freePort], { capabilities: caps }],
    ['sock_recv', ['recv', '127.0.0.1', port], { capabilities: caps }],
    ['poll_oneoff on a socket', ['pollsock', '127.0.0.1', port], { capabilities: caps }],
    ['sock_send (peer not reading)', ['send', '127.0.0.1', port], { capabilities: caps }],
    ['fd_read of a FIFO', ['read', '/data/fifo'], { mounts }],
    ['poll_oneoff on a FIFO', ['poll', '/data/fifo'], { mounts }],
    ['path_open of a FIFO for reading, no writer', ['open-read', '/data/lonely'], { mounts }],
    ['path_open of a FIFO for writing, no reader', ['open-write', '/data/lonely'], { mounts }],
    ['sock_connect to a full accept queue', ['connect', '127.0.0.1', fullPort], { capabilities: caps }],
    ['fd_write to a full pipe after fd_renumber(1, 0)', ['renumber-write'], { stdio: ['ignore', 'pipe', 'pipe'] }],
    ['start section busy loop', null, {}],
  ]
  for (const [label, a, opts] of cases) {
    const t = []
    for (let i = 0; i < n; i++) {
      const image = a ? 'hostile.wasm' : 'start-spin.wasm'
      const c = await ctx.create({ image, args: a ?? [], stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true })
      await c.start()
      const ready = new Promise((resolve) => {
        let seen = ''
        const stream = a ? c.stderr : c.stdout
        stream.on('data', (b) => {
          seen += b.toString()
          if (/ready|spinning/.test(seen)) resolve()
        })
      })
      await ready
      await sleep(5) // let it enter the call
      const t0 = nowUs()
      await c.kill()
      t.push(nowUs() - t0)
      await c.remove()
    }
    recordLatency('kill latency', `ocre-node blocked in ${label}`, t)
  }
  fs.closeSync(keep)
  fs.rmSync(fifoDir, { recursive: true, force: true })
  queued.destroy()
  await listener.kill()
  await listener.remove()
  server.close()
  await done()
}

// ---- 5. compute ----

async function benchCompute() {
  console.error('5. compute (sha256 of 32 MiB)')
  const mib = quick ? '8' : '32'
  const reps = quick ? 1 : 3
  const native = path.join(root, 'bench', 'native', 'sha256')
  if (!fs.existsSync(native)) {
    // git-ignored: build it as scripts/build-fixtures.sh does (host compiler, -O2)
    fs.mkdirSync(path.dirname(native), { recursive: true })
    execFileSync(process.env.HOST_CC ?? 'gcc', ['-O2', '-o', native, path.join(fixtures, 'src', 'sha256.c')], { stdio: 'inherit' })
  }
  const time = async (fn) => {
    const t = []
    for (let i = 0; i < reps; i++) {
      const t0 = nowUs()
      await fn()
      t.push((nowUs() - t0) / 1000)
    }
    return stats(t).median
  }
  const nat = await time(() => execFileSync(native, [mib]))
  const v8 = await time(() => wasiRunMain(wasmModule('sha256.wasm'), [mib]))
  const { ctx, done } = await openCtx()
  let out = ''
  const ours = await time(async () => {
    out = (await ctx.run('sha256.wasm', { args: [mib] })).stdout.toString().trim()
  })
  await done()
  record('compute', 'native gcc -O2', nat, 'ms', { ratio: 1 })
  record('compute', 'node:wasi (V8)', v8, 'ms', { ratio: v8 / nat })
  record('compute', 'ocre-node (WAMR fast interpreter)', ours, 'ms', { ratio: ours / nat, ratioToV8: ours / v8, digest: out })
  console.error(`  native ${fmt(nat)} ms, V8 ${fmt(v8)} ms (${fmt(v8 / nat)}x), ocre ${fmt(ours)} ms (${fmt(ours / nat)}x native)`)
}

// ---- 6. log forwarding ----

// Records are produced on threads that are not the JS thread, as container
// threads produce them: each worker thread calls the addon's internal
// emitLog (ocre_log_emit_text, the call every C module's LOG_* ends in), in
// chunks, and times every chunk. The main thread's logger counts what it
// receives. See BENCHMARKS.md.
const PRODUCER = `
const { workerData, parentPort } = require('node:worker_threads')
const { binding } = require(workerData.binding)
const per = [], end = Date.now() + workerData.ms
let sent = 0
while (Date.now() < end) {
  const t0 = process.hrtime.bigint()
  binding.emitLog(4, 'bench', 'a debug record of a typical length, e.g. fd_write(1): 4096 bytes', 100)
  per.push(Number(process.hrtime.bigint() - t0) / 100)
  sent += 100
}
per.sort((a, b) => a - b)
parentPort.postMessage({ sent, medianNs: per[per.length >> 1], p99Ns: per[Math.floor(per.length * 0.99)] })`

async function benchLog() {
  console.error('6. log forwarding')
  const { binding } = require(path.join(root, 'dist', 'binding.js'))
  let records = 0
  let dropped = 0
  ocre.setLogger((r) => {
    const m = /^(\d+) log records dropped/.exec(r.message)
    if (m) dropped += Number(m[1])
    else records++
  })
  ocre.setLogLevel('debug')
  // (a) the sink at full speed: 2 producer threads (the machine has 2 cores)
  const ms = quick ? 1000 : 3000
  const t0 = nowUs()
  const outs = await Promise.all(
    [0, 1].map(
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(PRODUCER, { eval: true, execArgv: ['--no-warnings'], workerData: { binding: path.join(root, 'dist', 'binding.js'), ms } })
          w.once('message', resolve)
          w.once('error', reject)
        }),
    ),
  )
  const produceSecs = (nowUs() - t0) / 1e6
  await sleep(100) // deliver what is queued
  const sent = outs.reduce((a, o) => a + o.sent, 0)
  const medianNs = Math.max(...outs.map((o) => o.medianNs))
  const p99Ns = Math.max(...outs.map((o) => o.p99Ns))
  record('log forwarding', 'records delivered to a JS logger (2 producer threads at full speed)', records / produceSecs, 'records/s', {
    note: `${sent} emitted, ${records} delivered, ${dropped} dropped (queue full); emit cost per record on the producing thread: median ${fmt(medianNs)} ns, p99 ${fmt(p99Ns)} ns (batches of 100)`,
  })
  console.error(`  ${fmt(records / produceSecs)} records/s delivered; ${sent} emitted, ${dropped} dropped; emit median ${fmt(medianNs)} ns, p99 ${fmt(p99Ns)} ns per record`)

  // (b) real records: container lifecycles at level debug, 64 in flight
  records = 0
  dropped = 0
  const { ctx, done } = await openCtx()
  const total = quick ? 3000 : 20000
  const t1 = nowUs()
  const rate = await inFlight(total, 64, async () => {
    const c = await ctx.create({ image: 'trivial.wasm', stdio: 'ignore' })
    await c.start()
    await c.remove()
  })
  await sleep(50)
  const lifeRate = records / ((nowUs() - t1) / 1e6)
  record('log forwarding', 'lifecycle records at level debug (64 lifecycles in flight)', lifeRate, 'records/s', {
    note: `${fmt(records / total)} records per container, ${dropped} dropped; ${fmt(rate)} containers/s`,
  })
  // (c) was a container slowed down? chatty's run time with a debug logger on vs off
  const chattyTime = async () => {
    const t = nowUs()
    await ctx.run('chatty.wasm', { args: ['200000'], stdio: 'ignore' })
    return (nowUs() - t) / 1000
  }
  const withLog = await chattyTime()
  ocre.setLogLevel('warn')
  ocre.setLogger(null)
  const noLog = await chattyTime()
  await done()
  record('log forwarding', 'chatty 200000 lines: run time, debug logger on / off', `${fmt(withLog)} / ${fmt(noLog)}`, 'ms')
  console.error(`  lifecycle records ${fmt(lifeRate)}/s; chatty ${fmt(withLog)} ms with logging vs ${fmt(noLog)} ms without`)
}

// ---- 7. event-loop delay ----

async function benchEventLoop() {
  console.error('7. event-loop delay with 64 containers spinning')
  const measure = async () => {
    const h = monitorEventLoopDelay({ resolution: 1 })
    h.enable()
    // an otherwise idle loop, as in a server between requests: the histogram's own timer wakes it every ms
    await sleep(quick ? 1000 : 3000)
    h.disable()
    return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 }
  }
  const idle = await measure()
  const { ctx, done } = await openCtx()
  const cs = []
  for (let i = 0; i < 64; i++) {
    const c = await ctx.create({ image: 'spin.wasm', stdio: 'ignore', detached: true })
    await c.start()
    cs.push(c)
  }
  const busy = await measure()
  await Promise.all(cs.map((c) => c.kill()))
  await done()
  record('event-loop delay', 'ocre-node, 64 spinning (p99)', busy.p99, 'ms', { max: busy.max, idleP99: idle.p99 })
  // node:wasi on the main thread: the loop is blocked for the whole run.
  record('event-loop delay', 'node:wasi main thread, 1 spinning', 'blocked', '', { note: 'the event loop does not run until the guest returns' })
  const ws = []
  for (let i = 0; i < 64; i++) ws.push(workerRun(wasmModule('spin.wasm')))
  await Promise.all(ws.map((r) => r.started))
  const wbusy = await measure()
  await Promise.all(ws.map((r) => r.w.terminate()))
  record('event-loop delay', 'node:wasi 64 workers spinning (p99)', wbusy.p99, 'ms', { max: wbusy.max })
  console.error(`  idle p99 ${fmt(idle.p99)} ms; ocre 64 spinning p99 ${fmt(busy.p99)} ms; 64 workers p99 ${fmt(wbusy.p99)} ms`)
}

// ---- main ----

async function main() {
  const childIdx = args.indexOf('--child')
  if (childIdx >= 0 && args[childIdx + 1].startsWith('ocreapi-')) {
    const r = await childOcreApiMemory(ocre, fixtures, args[childIdx + 1].slice(8), Number(args[childIdx + 2]))
    process.stdout.write(`${JSON.stringify(r)}\n`)
    return
  }
  if (childIdx >= 0) {
    const kind = args[childIdx + 1].replace('memory-', '')
    const r = await childMemory(kind, Number(args[childIdx + 2]))
    process.stdout.write(`${JSON.stringify(r)}\n`)
    return
  }
  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    ocre: ocre.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model,
    cpus: os.availableParallelism(),
    memoryMiB: Math.round(os.totalmem() / 1048576),
    quick,
  }
  console.error(`ocre-node bench: ${machine.cpus} × ${machine.cpu}, ${machine.os}, Node ${machine.node}`)
  if (want('cycle')) await benchCycle()
  if (want('throughput')) await benchThroughput()
  if (want('memory')) await benchMemory()
  if (want('many')) await benchMany()
  if (want('kill')) await benchKill()
  if (want('killblock')) await benchKillBlocked()
  if (want('compute')) await benchCompute()
  if (want('log')) await benchLog()
  if (want('eventloop')) await benchEventLoop()
  if (want('ocreapi')) await benchOcreApi({ ocre, record, quick, fixtures, fmt })
  if (want('aot')) await benchAot({ ocre, record, recordLatency, nowUs, quick, fixtures, root, wasiRunMain, wasmModule })
  if (want('daemon')) await benchDaemon({ ocre, record, recordLatency, nowUs, quick, fixtures, root })
  if (want('timing')) await benchTiming({ openCtx, record, recordLatency, nowUs, sleep, quick, fixtures })
  if (want('oci')) await benchOci({ record, recordLatency, nowUs, quick, fixtures, root })
  if (want('runcycle'))
    await benchRunCycle({ openCtx, record, recordLatency, nowUs, quick, wasiRunMain, wasmModule, forceGc, fmt, stats })
  if (want('priority')) await benchPriority({ openCtx, record, nowUs, sleep, quick, fmt, wasiRunMain, wasmModule })

  const lines = ['| benchmark | variant | median / value | p99 | unit | notes |', '| --- | --- | ---: | ---: | --- | --- |']
  for (const r of rows) {
    const notes = []
    if (r.extra.n) notes.push(`N=${r.extra.n}`)
    if (r.extra.ratio !== undefined) notes.push(`${fmt(r.extra.ratio)}× native`)
    if (r.extra.ratioToV8 !== undefined) notes.push(`${fmt(r.extra.ratioToV8)}× V8`)
    if (r.extra.threads !== undefined) notes.push(`+${r.extra.threads} threads`)
    if (r.extra.max !== undefined) notes.push(`max ${fmt(r.extra.max)} ms`)
    if (r.extra.idleP99 !== undefined) notes.push(`idle p99 ${fmt(r.extra.idleP99)} ms`)
    if (r.extra.note) notes.push(r.extra.note)
    lines.push(`| ${r.group} | ${r.name} | ${fmt(r.value)} | ${r.extra.p99 !== undefined ? fmt(r.extra.p99) : ''} | ${r.unit} | ${notes.join('; ')} |`)
  }
  const table = lines.join('\n')
  console.log(table)
  const dir = path.join(here, 'results')
  fs.mkdirSync(dir, { recursive: true })
  // a partial run (--quick, --only) never overwrites the day's full results
  const file = path.join(dir, `${machine.date.slice(0, 10)}${quick || only ? '-partial' : ''}.json`)
  fs.writeFileSync(file, `${JSON.stringify({ machine, results }, null, 2)}\n`)
  console.error(`written ${path.relative(root, file)}`)
}

await main()
process.exit(0)

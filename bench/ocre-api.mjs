// The Ocre application API rows of `npm run bench` (bench/run.mjs calls
// benchOcreApi; `--only ocreapi`): messaging between containers and with
// JavaScript (messages/s, delivery latency), 100 containers with periodic
// timers (lateness), and the memory an idle ocre:api container costs. The
// guest side is test/fixtures/src/ocre-app.c (bench-* modes), which measures
// with its own monotonic clock (the host's CLOCK_MONOTONIC through WASI).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const monoUs = () => process.hrtime.bigint() / 1000n // CLOCK_MONOTONIC, as the guests read it

async function openCtx(ocre, fixtures) {
  const wd = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-bench-api-'))
  const ctx = await ocre.open({ workdir: wd })
  for (const f of ['ocre-app', 'ocre-api'])
    fs.copyFileSync(path.join(fixtures, `${f}.wasm`), path.join(wd, 'images', `${f}.wasm`))
  return { ctx, done: async () => (await ctx.close(), fs.rmSync(wd, { recursive: true, force: true })) }
}

/** Start ocre-app with `args`; resolves once its stdout matched `ready`; `text()` is all its output. */
async function app(ctx, args, ready) {
  const c = await ctx.create({ image: 'ocre-app.wasm', args, capabilities: ['ocre:api'], detached: true, stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  let wake = () => {}
  const starting = c.start() // the streams exist from here
  c.stdout.on('data', (d) => ((text += d), wake()))
  const ended = new Promise((r) => c.stdout.once('end', r))
  await starting
  while (ready && !ready.test(text)) await new Promise((r) => (wake = r))
  return { c, text: () => text, ended }
}

function parseReport(text, what) {
  const m = new RegExp(`${what} (\\d+) p50 (\\d+) p99 (\\d+) max (\\d+)`).exec(text)
  if (!m) throw new Error(`no "${what}" report in: ${text}`)
  return { n: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), max: Number(m[4]) }
}

/** Per-container RSS of `n` idle containers (a child process each, for a clean heap). */
export async function childOcreApiMemory(ocre, fixtures, kind, n) {
  const rss = () => Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1])
  const { ctx, done } = await openCtx(ocre, fixtures)
  const opts = { image: 'ocre-api.wasm', args: ['sleep', '600000'], stdio: 'ignore', detached: true }
  if (kind === 'cap') opts.capabilities = ['ocre:api']
  const warm = await ctx.create(opts)
  await warm.start()
  await warm.kill()
  await warm.remove()
  const before = rss()
  const cs = []
  for (let i = 0; i < n; i++) {
    const c = await ctx.create(opts)
    await c.start()
    cs.push(c)
  }
  await sleep(1500) // asleep (the idle trim has run)
  const after = rss()
  await Promise.all(cs.map((c) => c.kill()))
  await done()
  return { n, perKb: (after - before) / n }
}

/** @param {object} d what bench/run.mjs provides: ocre, record, quick, fixtures, fmt */
export async function benchOcreApi(d) {
  console.error('9. Ocre application API (ocre:api)')
  const { ocre, record, quick, fixtures, fmt } = d
  const { ctx, done } = await openCtx(ocre, fixtures)
  try {
    // container -> container: the subscriber pulls in a loop, the publisher retries when its queue is full
    {
      const n = quick ? 50_000 : 200_000
      const sub = await app(ctx, ['bench-sub', 'b/', String(n)], /subscribed\n/)
      const t0 = monoUs()
      const pub = await app(ctx, ['bench-pub', String(n), 'b/x'], null)
      await Promise.all([sub.c.wait(), pub.c.wait(), sub.ended, pub.ended])
      const wall = Number(monoUs() - t0) / 1e6
      const r = parseReport(sub.text(), 'received')
      const elapsed = Number(/elapsed (\d+)/.exec(sub.text())[1]) / 1e6
      const retries = Number(/retries (\d+)/.exec(pub.text())[1])
      record('ocre:api messaging', 'container → container', Math.round(n / elapsed), 'messages/s', {
        p99: r.p99 / 1000,
        note: `latency p50 ${fmt(r.p50 / 1000)} ms, p99 ${fmt(r.p99 / 1000)} ms, max ${fmt(r.max / 1000)} ms; ${n} × 64 B; publisher retried ${retries}× on a full queue; ${fmt(wall)} s with start-up`,
      })
      console.error(`  container → container: ${fmt(n / elapsed)} msg/s, p99 ${r.p99} µs`)
      await sub.c.remove()
      await pub.c.remove()
    }
    // JS -> container
    {
      const n = quick ? 50_000 : 200_000
      const sub = await app(ctx, ['bench-sub', 'j/', String(n)], /subscribed\n/)
      const payload = Buffer.alloc(64)
      let retries = 0
      const t0 = monoUs()
      for (let i = 0; i < n; ) {
        payload.writeBigUInt64LE(monoUs(), 0)
        if (ctx.messaging.publish('j/x', 'application/octet-stream', payload) === 1) i++
        else {
          // the queue is full: give the subscriber the CPU instead of spinning on it
          retries++
          await new Promise((r) => setImmediate(r))
        }
      }
      await Promise.all([sub.c.wait(), sub.ended])
      const elapsed = Number(monoUs() - t0) / 1e6
      const r = parseReport(sub.text(), 'received')
      record('ocre:api messaging', 'JS → container', Math.round(n / elapsed), 'messages/s', {
        p99: r.p99 / 1000,
        note: `latency p50 ${fmt(r.p50 / 1000)} ms, p99 ${fmt(r.p99 / 1000)} ms; ${n} × 64 B; ${retries} publishes found the queue full`,
      })
      console.error(`  JS → container: ${fmt(n / elapsed)} msg/s, p99 ${r.p99} µs`)
      await sub.c.remove()
    }
    // container -> JS
    {
      const n = quick ? 50_000 : 200_000
      const lat = []
      let first = 0n
      let last = 0n
      let got = 0
      let finished
      const all = new Promise((r) => (finished = r))
      const sub = ctx.messaging.subscribe(
        'c/',
        (m) => {
          const now = monoUs()
          if (!first) first = now
          last = now
          lat.push(Number(now - m.payload.readBigUInt64LE(0)))
          if (++got === n) finished()
        },
        { queueSize: 65536 },
      )
      const pub = await app(ctx, ['bench-pub', String(n), 'c/x'], null)
      await all
      await Promise.all([pub.c.wait(), pub.ended])
      sub.close()
      const elapsed = Number(last - first) / 1e6
      lat.sort((a, b) => a - b)
      const p50 = lat[Math.floor(n / 2)]
      const p99 = lat[Math.floor(n * 0.99)]
      record('ocre:api messaging', 'container → JS', Math.round(n / elapsed), 'messages/s', {
        p99: p99 / 1000,
        note: `latency p50 ${fmt(p50 / 1000)} ms, p99 ${fmt(p99 / 1000)} ms (batched delivery); ${n} × 64 B; dropped ${sub.dropped}; publisher retried ${/retries (\d+)/.exec(pub.text())[1]}×`,
      })
      console.error(`  container → JS: ${fmt(n / elapsed)} msg/s, p99 ${p99} µs`)
      await pub.c.remove()
    }
    // 100 containers, each with a 10 ms periodic timer
    {
      const containers = 100
      const ticks = quick ? 100 : 300
      const apps = []
      for (let i = 0; i < containers; i++) apps.push(await app(ctx, ['bench-timer', '10', String(ticks)], null))
      await Promise.all(apps.map((a) => Promise.all([a.c.wait(), a.ended])))
      const reports = apps.map((a) => parseReport(a.text(), 'lateness'))
      const p99s = reports.map((r) => r.p99).sort((a, b) => a - b)
      // every expiry of every container, pooled: "p99 timer lateness"
      const pooled = apps.flatMap((a) => (/samples ([\d ]+)/.exec(a.text())?.[1] ?? '').trim().split(' ').map(Number))
      if (pooled.length !== containers * ticks) throw new Error(`expected ${containers * ticks} samples, got ${pooled.length}`)
      pooled.sort((a, b) => a - b)
      const at = (f) => pooled[Math.min(pooled.length - 1, Math.floor(pooled.length * f))] / 1000
      record('ocre:api timers', `${containers} containers × 10 ms periodic`, at(0.99), 'ms lateness (p99 of all expiries; p99 column: worst container)', {
        p99: p99s[containers - 1] / 1000,
        note: `all ${pooled.length} expiries pooled: p50 ${fmt(at(0.5))} ms, p90 ${fmt(at(0.9))} ms, p99.9 ${fmt(at(0.999))} ms, max ${fmt(pooled.at(-1) / 1000)} ms; median container's p99 ${fmt(p99s[Math.floor(containers / 2)] / 1000)} ms; ${ticks} expiries each; lateness = delivery to the guest's event loop (1 ms ocre_sleep polling) after the ideal time; load average ${os.loadavg()[0].toFixed(2)}`,
      })
      console.error(`  timers: p99 lateness of all expiries ${fmt(at(0.99) * 1000)} µs, median container ${p99s[containers >> 1]} µs, worst ${p99s[containers - 1]} µs`)
      for (const a of apps) await a.c.remove()
    }
  } finally {
    await done()
  }
  // memory: idle (asleep in ocre_sleep) with and without ocre:api, in child processes
  {
    const n = quick ? 100 : 300
    const child = (kind) => {
      const r = spawnSync(process.execPath, [fileURLToPath(new URL('./run.mjs', import.meta.url)), '--child', `ocreapi-${kind}`, String(n)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 180_000,
      })
      return JSON.parse(r.stdout.trim().split('\n').pop())
    }
    const plain = child('plain')
    const cap = child('cap')
    record('ocre:api memory', `${n} idle containers, plain`, plain.perKb, 'KB RSS/container', {})
    record('ocre:api memory', `${n} idle containers, ocre:api`, cap.perKb, 'KB RSS/container', {
      note: `${fmt((cap.perKb / plain.perKb - 1) * 100)} % vs plain`,
    })
    console.error(`  memory: plain ${fmt(plain.perKb)} KB, ocre:api ${fmt(cap.perKb)} KB per container`)
  }
}

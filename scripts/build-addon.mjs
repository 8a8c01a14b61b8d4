#!/usr/bin/env node
// Build the Node addon from CMakeLists.txt into build/Release/ocre_node.node
// (and, when CMake finds LLVM 15, the AOT compiler build/Release/ocre-aotc).
//
// With cmake-js installed (a development checkout, or a project that has it)
// it is used; otherwise plain CMake is run. Either way the Node-API headers
// come from the `node-api-headers` package (a dependency: no download of
// Node's headers). Nothing is downloaded except WAMR's sources from the npm
// registry (scripts/fetch-wamr.mjs).
//
//   --debug          Debug build (also OCRE_DEBUG_BUILD=1)
//   --aotc-only      only the AOT compiler (install.mjs, when a prebuilt addon is used)
//   --plain-cmake    never cmake-js
//
// OCRE_SKIP_AOTC=1: no AOT compiler even where LLVM 15 is installed.
//
// Before building it checks what the build needs (cmake >= 3.16, a C and a
// C++ compiler, the headers) and names what is missing; a failed build says
// which step failed.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(path.join(root, 'package.json'))
const argv = process.argv.slice(2)
const debug = argv.includes('--debug') || process.env.OCRE_DEBUG_BUILD === '1'
const aotcOnly = argv.includes('--aotc-only')
const skipAotc = process.env.OCRE_SKIP_AOTC === '1'
const buildType = debug ? 'Debug' : 'Release'
const jobs = String(Math.max(1, os.availableParallelism()))

class BuildError extends Error {}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs },
  })
  if (r.error) throw new BuildError(`${what}: cannot run ${cmd} (${r.error.message})`)
  if (r.status !== 0) throw new BuildError(`${what} failed (${cmd} exited with ${r.status ?? r.signal}; its output is above)`)
}

function resolveDir(spec) {
  try {
    return path.dirname(require.resolve(spec))
  } catch {
    return null
  }
}

function version(cmd) {
  try {
    return execFileSync(cmd, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return null
  }
}

/** What the build needs; throws a BuildError naming each missing piece. */
function preflight() {
  const missing = []
  const cmake = version('cmake')
  const m = cmake && /cmake version (\d+)\.(\d+)/.exec(cmake)
  if (!m) missing.push('cmake >= 3.16 (not found on PATH; Debian: apt-get install cmake)')
  else if (Number(m[1]) * 100 + Number(m[2]) < 316) missing.push(`cmake >= 3.16 (found ${m[1]}.${m[2]})`)
  const cc = process.env.CC || 'cc'
  const cxx = process.env.CXX || 'c++'
  if (!version(cc)) missing.push(`a C compiler (${cc} not found; Debian: apt-get install gcc)`)
  if (!version(cxx)) missing.push(`a C++ compiler (${cxx} not found; Debian: apt-get install g++)`)
  if (!aotcOnly) {
    if (!resolveDir('node-addon-api/package.json')) missing.push('the node-addon-api package (run npm install)')
    if (!resolveDir('node-api-headers/package.json')) missing.push('the node-api-headers package (run npm install)')
  }
  if (missing.length) throw new BuildError(`missing: ${missing.join('; ')}`)
}

function build() {
  const outDir = path.join(root, 'build', buildType)
  fs.mkdirSync(outDir, { recursive: true })
  const cmakeJs = aotcOnly || argv.includes('--plain-cmake') ? null : resolveDir('cmake-js/package.json')
  if (cmakeJs) {
    run(process.execPath, [
      path.join(cmakeJs, 'bin', 'cmake-js'),
      'compile',
      '--directory', root,
      '--out', path.join(root, 'build', 'cmake-js'),
      ...(debug ? ['--debug'] : []),
      `--CDOCRE_ADDON_OUTPUT_DIR=${outDir}`,
      `--CDOCRE_AOTC=${skipAotc ? 'OFF' : 'AUTO'}`,
    ], 'cmake-js compile')
    return
  }
  const buildDir = path.join(root, 'build', aotcOnly ? 'aotc' : 'cmake')
  const config = ['-S', root, '-B', buildDir, `-DCMAKE_BUILD_TYPE=${buildType}`, '-DOCRE_BUILD_TESTS=OFF']
  if (aotcOnly) {
    config.push('-DOCRE_BUILD_ADDON=OFF', '-DOCRE_AOTC=ON', `-DOCRE_AOTC_OUTPUT_DIR=${outDir}`)
  } else {
    config.push(`-DOCRE_AOTC=${skipAotc ? 'OFF' : 'AUTO'}`)
    config.push(
      '-DOCRE_BUILD_ADDON=ON',
      `-DOCRE_NODE_INCLUDE_DIR=${require('node-api-headers').include_dir}`,
      `-DOCRE_ADDON_OUTPUT_DIR=${outDir}`,
    )
  }
  run('cmake', config, 'CMake configure')
  run('cmake', ['--build', buildDir, ...(aotcOnly ? ['--target', 'ocre-aotc'] : [])], 'CMake build')
}

try {
  preflight()
  build()
} catch (err) {
  if (!(err instanceof BuildError)) throw err
  process.stderr.write(
    `ocre-node: building ${aotcOnly ? 'the AOT compiler' : 'the native addon'} from source failed: ${err.message}.\n` +
      (aotcOnly
        ? 'Everything but `ocre image compile` / `--aot` works without it.\n'
        : 'No prebuilt binary matches this machine (prebuilds/ has linux-x64, linux-arm64 and linux-armv7, ' +
          'glibc), so it must be built: see "Installing" in README.md.\n'),
  )
  process.exit(1)
}

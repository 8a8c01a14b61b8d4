#!/usr/bin/env node
// Build the Node addon from CMakeLists.txt into build/Release/ocre_node.node.
// With cmake-js installed (a development checkout) it is used; otherwise (an
// install from the registry without a matching prebuild) plain CMake is run
// with the local Node headers and node-addon-api. Nothing is downloaded
// except WAMR's sources from the npm registry (scripts/fetch-wamr.mjs).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(path.join(root, 'package.json'))
const debug = process.argv.includes('--debug') || process.env.OCRE_DEBUG_BUILD === '1'
const buildType = debug ? 'Debug' : 'Release'
const jobs = String(Math.max(1, (await import('node:os')).availableParallelism()))

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs } })
}

function resolveDir(spec) {
  try {
    return path.dirname(require.resolve(spec))
  } catch {
    return null
  }
}

const cmakeJs = resolveDir('cmake-js/package.json')
const outDir = path.join(root, 'build', 'Release')
fs.mkdirSync(outDir, { recursive: true })

try {
  if (cmakeJs) {
    run(process.execPath, [
      path.join(cmakeJs, 'bin', 'cmake-js'),
      'compile',
      '--out', 'build/cmake-js',
      ...(debug ? ['--debug'] : []),
      `--CDOCRE_ADDON_OUTPUT_DIR=${outDir}`,
    ])
  } else {
    const nodeInclude = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node')
    if (!fs.existsSync(path.join(nodeInclude, 'node_api.h')))
      throw new Error(`Node's headers are not at ${nodeInclude}; install cmake-js or the Node headers`)
    const buildDir = path.join(root, 'build', 'cmake')
    run('cmake', [
      '-S', root, '-B', buildDir,
      `-DCMAKE_BUILD_TYPE=${buildType}`,
      '-DOCRE_BUILD_ADDON=ON',
      `-DOCRE_NODE_INCLUDE_DIR=${nodeInclude}`,
      `-DOCRE_ADDON_OUTPUT_DIR=${outDir}`,
    ])
    run('cmake', ['--build', buildDir, '--target', 'ocre_node'])
  }
} catch (err) {
  process.stderr.write(
    `ocre-node: building the native addon failed (${err.message}).\n` +
      'It needs cmake >= 3.16, a C/C++ compiler and Node headers; see README.md.\n',
  )
  process.exit(1)
}

#!/usr/bin/env node
// The package's `install` script (npm runs it after unpacking):
//
// 1. A prebuilt addon in prebuilds/ matches this machine (chosen exactly as
//    lib/binding.ts will choose it at load time, by node-gyp-build) and loads
//    in a child Node: nothing is compiled. Otherwise the addon is built from
//    source (scripts/build-addon.mjs), whose failure fails the install with
//    the reason.
// 2. LLVM 15 is installed (Debian: llvm-15-dev) and cmake can be run: the AOT
//    compiler ocre-aotc is built too. Its failure only warns: everything but
//    AOT compilation works without it. OCRE_SKIP_AOTC=1 skips it.
//
// OCRE_BUILD_FROM_SOURCE=1 (or npm's --build-from-source) ignores prebuilds.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(path.join(root, 'package.json'))
const say = (line) => process.stderr.write(`ocre-node: ${line}\n`)

function builtAddon() {
  return ['Release', 'Debug'].some((t) => fs.existsSync(path.join(root, 'build', t, 'ocre_node.node')))
}

/** The prebuild node-gyp-build would load here, if it loads; else why not. */
function prebuild() {
  let file
  try {
    // prebuilds/ only: build/ is what this script may be about to produce
    process.env.PREBUILDS_ONLY = '1'
    file = require('node-gyp-build').path(root)
  } catch (err) {
    return { file: null, why: String(err.message).split('\n')[0] }
  } finally {
    delete process.env.PREBUILDS_ONLY
  }
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { encoding: 'utf8' })
  if (probe.status !== 0) return { file: null, why: `${file} does not load: ${String(probe.stderr).trim().split('\n')[0]}` }
  return { file, why: '' }
}

function hasLlvm15() {
  return fs.existsSync('/usr/lib/llvm-15/lib/cmake/llvm/LLVMConfig.cmake') ||
    spawnSync('llvm-config-15', ['--version'], { stdio: 'ignore' }).status === 0
}

function buildScript(args) {
  return spawnSync(process.execPath, [path.join(root, 'scripts', 'build-addon.mjs'), ...args], { stdio: 'inherit' }).status === 0
}

const fromSource = process.env.OCRE_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true'
const found = fromSource ? { file: null, why: 'building from source was asked for' } : prebuild()
if (found.file) {
  say(`using the prebuilt addon ${path.relative(root, found.file)}`)
} else if (!fromSource && builtAddon()) {
  say('using the addon already built in build/')
} else {
  say(`building the addon from source (${found.why})`)
  if (!buildScript([])) process.exit(1)
}

const aotc = ['Release', 'Debug'].some((t) => fs.existsSync(path.join(root, 'build', t, 'ocre-aotc')))
if (!aotc && process.env.OCRE_SKIP_AOTC !== '1' && hasLlvm15()) {
  if (spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0) {
    say('LLVM 15 is installed but cmake is not: the AOT compiler ocre-aotc is not built (apt-get install cmake)')
  } else {
    say('LLVM 15 found: building the AOT compiler ocre-aotc')
    if (!buildScript(['--aotc-only'])) say('warning: ocre-aotc was not built (see above); everything else works')
  }
}

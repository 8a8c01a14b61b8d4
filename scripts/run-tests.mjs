#!/usr/bin/env node
// `npm test`: type-check, build check, C tests (ctest), mocha tests; then one
// summary line "N passed, N failed" over both suites. The mocha suites include
// test/oci/ (the OCI runtime ocre-oci, alone and under Podman; `npm run
// test:oci` runs only those); they print why they skip when ocre-oci is not
// built (no libcjson-dev) or podman is not installed. Then the WASI preview1
// testsuite (scripts/wasi-testsuite.mjs, when the suite is present).
//
//   --only c|js|cross    run one suite (cross: the ARM prebuilds under qemu,
//                        scripts/test-cross.mjs)
//   --sanitize address   C tests under ASan+UBSan (build/asan)
//   --sanitize thread    the concurrency test under TSan (build/tsan)
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const argv = process.argv.slice(2)
const option = (name) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const only = option('--only')
const sanitize = option('--sanitize')
if (only && !['c', 'js', 'cross'].includes(only)) fail(`--only takes c, js or cross, not ${only}`)
if (sanitize && !['address', 'thread'].includes(sanitize)) fail(`--sanitize takes address or thread, not ${sanitize}`)

let passed = 0
let failed = 0
let skipped = 0

function fail(message) {
  process.stderr.write(`run-tests: ${message}\n`)
  process.exit(2)
}

function step(title, cmd, args, { capture = false, env = {} } = {}) {
  process.stdout.write(`\n== ${title}\n`)
  const r = spawnSync(cmd, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  if (capture) {
    process.stdout.write(r.stdout ?? '')
    process.stderr.write(r.stderr ?? '')
  }
  if (r.error) fail(`${cmd}: ${r.error.message}`)
  return r
}

function must(r, what) {
  if (r.status !== 0) {
    process.stdout.write(`\n${what} failed\n0 passed, 1 failed\n`)
    process.exit(1)
  }
}

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const runJs = (!only || only === 'js') && !sanitize
const runC = !only || only === 'c'
const runCross = (!only || only === 'cross') && !sanitize

if (runJs) {
  must(step('type-check', process.execPath, [tsc, '-p', 'tsconfig.test.json', '--noEmit']), 'type-check')
  must(step('build check: addon', process.execPath, ['scripts/build-addon.mjs']), 'addon build')
  must(step('build check: TypeScript', process.execPath, [tsc, '-p', 'tsconfig.json']), 'TypeScript build')
}

if (runC && !sanitize) {
  // clang-format over our C sources (never WAMR's): Linux style, tabs, 120 columns
  const files = spawnSync('git', ['ls-files', 'native/*.c', 'native/*.h', 'native/*.cc', 'bench/c/*.c', 'test/fixtures/src/*.c'], {
    cwd: root,
    encoding: 'utf8',
  }).stdout.split('\n').filter(Boolean)
  const probe = spawnSync('clang-format', ['--version'], { encoding: 'utf8' })
  if (probe.error) {
    process.stdout.write('\n== format check skipped: clang-format is not installed (apt-get install clang-format)\n')
  } else if (files.length) {
    must(step('format check (clang-format)', 'clang-format', ['--dry-run', '--Werror', ...files]), 'format check')
  }
}

if (runC) {
  const dir = sanitize === 'address' ? 'build/asan' : sanitize === 'thread' ? 'build/tsan' : 'build/core'
  const config = ['-S', '.', '-B', dir, '-DCMAKE_BUILD_TYPE=' + (sanitize ? 'Debug' : 'Release')]
  if (sanitize) config.push(`-DOCRE_SANITIZE=${sanitize}`)
  must(step(`C library: configure (${dir})`, 'cmake', config, { capture: true }), 'cmake configure')
  must(step('C library: build', 'cmake', ['--build', dir, '--parallel', '2']), 'cmake build')
  const ctestArgs = ['--test-dir', dir, '--output-on-failure']
  // TSan: the concurrency hammer, and the AOT tier (kill of compiled code, the module cache)
  if (sanitize === 'thread') ctestArgs.push('-R', '^(concurrency|aot|ocre_api)$')
  const r = step('C tests (ctest)', 'ctest', ctestArgs, {
    capture: true,
    env: sanitize ? { OCRE_TEST_SLOW: '1' } : {},
  })
  const m = /(\d+)% tests passed, (\d+) tests? failed out of (\d+)/.exec(r.stdout ?? '')
  if (!m) {
    failed += 1
  } else {
    failed += Number(m[2])
    passed += Number(m[3]) - Number(m[2])
  }
  if (r.status !== 0 && (!m || Number(m[2]) === 0)) failed += 1
}

if (runJs) {
  const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js')
  const hasTests = fs.existsSync(path.join(root, 'test')) &&
    fs.readdirSync(path.join(root, 'test')).some((f) => f.endsWith('.test.ts'))
  if (hasTests) {
    const r = step('JavaScript tests (mocha)', process.execPath, [mocha], { capture: true })
    const out = r.stdout ?? ''
    const num = (re) => Number((re.exec(out) ?? [, '0'])[1])
    const ok = num(/(\d+) passing/)
    const bad = num(/(\d+) failing/)
    passed += ok
    failed += bad
    skipped += num(/(\d+) pending/)
    if (r.status !== 0 && bad === 0) failed += 1
  }
}

/** Counts a script's summary line `PREFIX: N passed, N failed` (or `PREFIX: skipped: ...`). */
function countSummary(r, prefix) {
  const m = new RegExp(`^${prefix}: (\\d+) passed, (\\d+) failed$`, 'm').exec(r.stdout ?? '')
  if (new RegExp(`^${prefix}: skipped: `, 'm').test(r.stdout ?? '')) {
    skipped += 1
  } else if (!m) {
    failed += 1
  } else {
    passed += Number(m[1])
    failed += Number(m[2])
    if (r.status !== 0 && Number(m[2]) === 0) failed += 1
  }
}

if (runJs) {
  // the WASI preview1 conformance suite in both tiers, when the suite is
  // there (scripts/wasi-testsuite.mjs says where it looks); one count per
  // test and tier
  const r = step('WASI preview1 testsuite (npm run test:wasi)', process.execPath, ['scripts/wasi-testsuite.mjs'], {
    capture: true,
  })
  countSummary(r, 'wasi-testsuite')
}

if (runCross) {
  // after mocha: its packaging test has brought the prebuilds up to date
  const r = step('ARM prebuilds under emulation (qemu-user)', process.execPath, ['scripts/test-cross.mjs'], { capture: true })
  countSummary(r, 'cross')
}

process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`)
process.exit(failed ? 1 : 0)

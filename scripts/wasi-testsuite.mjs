#!/usr/bin/env node
// `npm run test:wasi`: the WASI preview1 conformance suite (wasi-testsuite)
// through ocre-node's public API, in the interpreter and in AOT, or through
// node:wasi for comparison.
//
// The suite is looked up in $OCRE_WASI_TESTSUITE, else <repo>/../shared/wasi-testsuite.
// Each folder with a manifest.json holds tests: NAME.wasm and an optional
// NAME.json (args, env, root, stdout, stderr, exit_code; see the suite's
// README). A test passes when its exit code and (when given) its stdout and
// stderr match. Every run gets a fresh, writable copy of the test's `root`
// directory, mounted as the guest's `/`.
//
//   --runner ocre|node-wasi   ocre-node (default) or node:wasi (one child process per test)
//   --tier interpreter|aot|both  ocre tiers to run (default both; aot is skipped
//                             with the reason when ocre-aotc was not built)
//   --filter TEXT             only tests whose id (suite/name) contains TEXT
//   --jobs N                  tests run at once (default 2)
//   --no-cache                a fresh working directory (default: build/wasi-testsuite/,
//                             which keeps the images and their AOT artifacts between runs)
//
// Prints one row per test, a pass count per tier, and last one summary line
// for scripts/run-tests.mjs: `wasi-testsuite: N passed, N failed` (one count
// per test and tier), or `wasi-testsuite: skipped: REASON`. Exits 1 on any
// failure.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const TEST_TIMEOUT_MS = 60_000

// ---------------------------------------------------------------------------
// options

function usage(message) {
  process.stderr.write(`wasi-testsuite: ${message}\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const o = { runner: 'ocre', tier: 'both', filter: '', jobs: 2, cache: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`))
    if (a === '--runner') o.runner = value()
    else if (a === '--tier') o.tier = value()
    else if (a === '--filter') o.filter = value()
    else if (a === '--jobs') o.jobs = Number(value())
    else if (a === '--no-cache') o.cache = false
    else if (a === '--node-wasi-child') o.child = value()
    else usage(`unknown argument ${a}`)
  }
  if (!['ocre', 'node-wasi'].includes(o.runner)) usage(`--runner takes ocre or node-wasi, not ${o.runner}`)
  if (!['interpreter', 'aot', 'both'].includes(o.tier)) usage(`--tier takes interpreter, aot or both, not ${o.tier}`)
  if (!Number.isInteger(o.jobs) || o.jobs < 1) usage('--jobs takes an integer >= 1')
  return o
}

// ---------------------------------------------------------------------------
// the suite

export function suiteDir() {
  return process.env.OCRE_WASI_TESTSUITE
    ? path.resolve(process.env.OCRE_WASI_TESTSUITE)
    : path.resolve(root, '..', 'shared', 'wasi-testsuite')
}

/** Every test of the suite: { id, wasm, dir, spec }, sorted by id. */
export function loadTests(dir) {
  const tests = []
  for (const group of fs.readdirSync(dir, { withFileTypes: true })) {
    const gdir = path.join(dir, group.name)
    if (!group.isDirectory() || !fs.existsSync(path.join(gdir, 'manifest.json'))) continue
    for (const f of fs.readdirSync(gdir)) {
      if (!f.endsWith('.wasm')) continue
      const name = f.slice(0, -'.wasm'.length)
      const json = path.join(gdir, `${name}.json`)
      const spec = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) : {}
      tests.push({ id: `${group.name}/${name}`, group: group.name, name, wasm: path.join(gdir, f), dir: gdir, spec })
    }
  }
  return tests.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** A fresh, writable copy of the test's root directory (as a checkout would have it), or null. */
function freshRoot(test) {
  if (!test.spec.root) return null
  const src = path.resolve(test.dir, test.spec.root)
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-wasi-'))
  fs.cpSync(src, dest, { recursive: true, verbatimSymlinks: true })
  const writable = (p) => {
    const st = fs.lstatSync(p)
    if (st.isSymbolicLink()) return
    fs.chmodSync(p, st.mode | (st.isDirectory() ? 0o700 : 0o600))
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) writable(path.join(p, e))
  }
  writable(dest)
  return dest
}

/** null when the run matches the spec, else why not. */
function verdict(spec, { exitCode, stdout, stderr, message }) {
  const expected = spec.exit_code ?? 0
  if (exitCode !== expected) {
    const why = message ? ` (${message})` : ''
    // the last lines of stderr that say something (a panic's message, a failed assertion)
    const said = stderr.split('\n').filter((l) => l.trim() && !/^(note: run with|trap: )/.test(l))
    const err = said.length ? `: ${said.slice(-2).join(' / ').slice(0, 160)}` : ''
    return `exit ${exitCode}${why}, expected ${expected}${err}`
  }
  if (spec.stdout !== undefined && stdout !== spec.stdout) return `stdout ${JSON.stringify(stdout.slice(0, 80))}`
  if (spec.stderr !== undefined && stderr !== spec.stderr) return `stderr ${JSON.stringify(stderr.slice(0, 80))}`
  return null
}

async function pool(items, jobs, fn) {
  const queue = [...items]
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await fn(item)
    }),
  )
}

// ---------------------------------------------------------------------------
// runners

/** The image name of a test in the store: `<group>.<name>.wasm`. */
const imageName = (test) => `${test.group}.${test.name}.wasm`

async function runOcre(ctx, test, tier) {
  const dir = freshRoot(test)
  try {
    const r = await ctx.run(imageName(test), {
      args: test.spec.args ?? [],
      env: test.spec.env ?? {},
      mounts: dir ? [{ source: dir, target: '/' }] : [],
      tier,
      signal: AbortSignal.timeout(TEST_TIMEOUT_MS),
    })
    return verdict(test.spec, {
      exitCode: r.exitCode,
      message: r.reason === 'exit' ? undefined : `${r.reason}: ${r.message ?? ''}`,
      stdout: r.stdout?.toString('utf8') ?? '',
      stderr: r.stderr?.toString('utf8') ?? '',
    })
  } catch (err) {
    return err.name === 'AbortError' ? `timed out after ${TEST_TIMEOUT_MS} ms` : `error: ${err.code ?? ''} ${err.message}`
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** node:wasi in a child process (it runs on the calling thread and may hang or abort it). */
function runNodeWasi(test) {
  const dir = freshRoot(test)
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--no-warnings', fileURLToPath(import.meta.url), '--node-wasi-child', JSON.stringify({ test, dir })],
      // stdin: a pipe closed at once, as ctx.run() gives without `input`
      { stdio: ['pipe', 'pipe', 'pipe'], timeout: TEST_TIMEOUT_MS },
    )
    child.stdin.end()
    const out = []
    const err = []
    child.stdout.on('data', (b) => out.push(b))
    child.stderr.on('data', (b) => err.push(b))
    child.on('close', (code, signal) => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true })
      resolve(
        verdict(test.spec, {
          exitCode: code ?? -1,
          message: signal ? `signal ${signal}` : undefined,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        }),
      )
    })
  })
}

async function nodeWasiChild(arg) {
  const { test, dir } = JSON.parse(arg)
  const { WASI } = await import('node:wasi')
  const wasi = new WASI({
    version: 'preview1',
    args: [imageName(test), ...(test.spec.args ?? [])],
    env: test.spec.env ?? {},
    preopens: dir ? { '/': dir } : {},
    returnOnExit: true,
  })
  try {
    const module = await WebAssembly.compile(fs.readFileSync(test.wasm))
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject())
    process.exitCode = wasi.start(instance)
  } catch (e) {
    process.stderr.write(`trap: ${e.message}\n`)
    process.exitCode = 134
  }
}

// ---------------------------------------------------------------------------
// main

function printTable(tests, columns, results) {
  const width = Math.max(...tests.map((t) => t.id.length), 4)
  process.stdout.write(`${'test'.padEnd(width)}  ${columns.map((c) => c.padEnd(11)).join('  ')}\n`)
  for (const t of tests) {
    const cells = columns.map((c) => (results.get(`${c}:${t.id}`) === null ? 'pass' : 'FAIL').padEnd(11))
    process.stdout.write(`${t.id.padEnd(width)}  ${cells.join('  ')}\n`)
    for (const c of columns) {
      const why = results.get(`${c}:${t.id}`)
      if (why) process.stdout.write(`    ${c}: ${why}\n`)
    }
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  if (o.child) return nodeWasiChild(o.child)
  const dir = suiteDir()
  if (!fs.existsSync(dir)) {
    process.stdout.write(
      `wasi-testsuite: skipped: no suite at ${dir} (set OCRE_WASI_TESTSUITE to the folder of the WASI preview1 tests)\n`,
    )
    return
  }
  const tests = loadTests(dir).filter((t) => t.id.includes(o.filter))
  if (tests.length === 0) usage(`no tests in ${dir}${o.filter ? ` matching '${o.filter}'` : ''}`)
  const results = new Map()
  const columns = []
  const notes = []
  let temp = null

  if (o.runner === 'node-wasi') {
    columns.push('node:wasi')
    await pool(tests, o.jobs, async (t) => results.set(`node:wasi:${t.id}`, await runNodeWasi(t)))
  } else {
    const { open, setLogLevel } = await import(path.join(root, 'dist', 'index.js'))
    const { compilerPath } = await import(path.join(root, 'dist', 'aot.js'))
    setLogLevel('error') // WAMR's warnings about the guests are not results
    // The images and their AOT artifacts are kept in build/wasi-testsuite/
    // between runs (an image is added and compiled again only when its bytes
    // changed or its artifact is not ready); a temp directory when that one
    // is in use by another run, or with --no-cache.
    let workdir = o.cache ? path.join(root, 'build', 'wasi-testsuite') : null
    let ctx
    if (workdir) ctx = await open({ workdir }).catch(() => null)
    if (!ctx) {
      workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-wasi-suite-'))
      temp = workdir
      ctx = await open({ workdir })
    }
    try {
      const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex')
      for (const t of tests) {
        const info = await ctx.images.get(imageName(t))
        if (info?.sha256 !== sha256(t.wasm)) await ctx.images.add(imageName(t), t.wasm)
      }
      const tiers = o.tier === 'both' ? ['interpreter', 'aot'] : [o.tier]
      for (const tier of tiers) {
        if (tier === 'aot') {
          if (!compilerPath()) {
            notes.push('aot: skipped: the AOT compiler ocre-aotc was not built (needs llvm-15-dev at build time)')
            continue
          }
          // one compile per image, when its artifact is not ready
          await pool(tests, Math.min(o.jobs, 2), async (t) => {
            if ((await ctx.images.get(imageName(t)))?.aot?.status !== 'ready') await ctx.images.compile(imageName(t))
          })
        }
        columns.push(tier)
        await pool(tests, o.jobs, async (t) => results.set(`${tier}:${t.id}`, await runOcre(ctx, t, tier)))
      }
    } finally {
      await ctx.close()
      if (temp) fs.rmSync(temp, { recursive: true, force: true })
    }
  }

  printTable(tests, columns, results)
  let passed = 0
  let failed = 0
  process.stdout.write('\n')
  for (const c of columns) {
    const n = tests.filter((t) => results.get(`${c}:${t.id}`) === null).length
    passed += n
    failed += tests.length - n
    process.stdout.write(`${c}: ${n}/${tests.length} passed\n`)
  }
  for (const n of notes) process.stdout.write(`${n}\n`)
  process.stdout.write(`wasi-testsuite: ${passed} passed, ${failed} failed\n`)
  if (failed) process.exitCode = 1
}

await main()

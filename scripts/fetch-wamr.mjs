#!/usr/bin/env node
// Fetch WAMR's C sources from the npm registry package @grain/libiwasm@1.1.2,
// verify the tarball's integrity, extract `wasm-micro-runtime/` and apply our
// patch series (native/runtime/wamr/patches/*.patch, in name order; see
// docs/wamr-patches.md) before the tree is moved into deps/.
//
// deps/wasm-micro-runtime/.ocre-integrity records the tarball's integrity and
// the series applied (each patch's name and sha256): a changed series (a patch
// added, removed or edited) re-extracts a pristine tree and applies it again,
// so re-running is idempotent and never patches twice. A patch that does not
// apply is an error naming it; deps/ keeps what it had.
//
// The package is never a dependency: its own dependencies (OCaml build tools)
// do not exist on the registry. `npm pack` downloads only the tarball.
//
// OCRE_WAMR_DIR=/path/to/wasm-micro-runtime skips all of this (that tree is
// used as it is: apply the series yourself, `--print-series` lists it).
// Prints the WAMR source directory on stdout (used by CMakeLists.txt).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { applyPatch } from './apply-patch.mjs'

const PACKAGE = '@grain/libiwasm@1.1.2'
const INTEGRITY =
  'sha512-HDqx8x1NC/uHsfbhPw6Y6nSVTn6FjUIlP2qZ+subDFbQ824TFF2T6vL3wfmoiMZmseMHVCa5YmDjqY2YgP+Oag=='

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const deps = path.join(root, 'deps')
const dest = path.join(deps, 'wasm-micro-runtime')
const stamp = path.join(dest, '.ocre-integrity')
const patchDir = path.join(root, 'native', 'runtime', 'wamr', 'patches')

const series = fs.existsSync(patchDir)
  ? fs
      .readdirSync(patchDir)
      .filter((f) => f.endsWith('.patch'))
      .sort()
      .map((name) => {
        const text = fs.readFileSync(path.join(patchDir, name), 'utf8')
        return { name, text, sha256: createHash('sha256').update(text).digest('hex') }
      })
  : []
const stampText = [INTEGRITY, ...series.map((p) => `patch ${p.name} sha256:${p.sha256}`)].join('\n') + '\n'

if (process.argv[2] === '--print-series') {
  for (const p of series) process.stdout.write(path.join(patchDir, p.name) + '\n')
  process.exit(0)
}

function fail(message) {
  process.stderr.write(`fetch-wamr: ${message}\n`)
  process.exitCode = 1
  throw new Failed()
}
class Failed extends Error {}

const notTree = (dir) =>
  fs.existsSync(path.join(dir, 'core', 'iwasm', 'include', 'wasm_export.h'))
    ? null
    : `${dir} is not a WAMR source tree (core/iwasm/include/wasm_export.h is missing)`

if (process.env.OCRE_WAMR_DIR) {
  const dir = path.resolve(process.env.OCRE_WAMR_DIR)
  const bad = notTree(dir)
  if (bad) {
    process.stderr.write(`fetch-wamr: ${bad}\n`)
    process.exit(1)
  }
  process.stdout.write(dir + '\n')
  process.exit(0)
}

if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === stampText) {
  process.stdout.write(dest + '\n')
  process.exit(0)
}

fs.mkdirSync(deps, { recursive: true })
const work = fs.mkdtempSync(path.join(deps, '.fetch-'))
try {
  let tarball
  try {
    const out = execFileSync('npm', ['pack', PACKAGE, '--json', '--pack-destination', work], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    tarball = path.join(work, JSON.parse(out)[0].filename)
  } catch (err) {
    fail(`could not download ${PACKAGE} with npm pack: ${String(err.stderr || err.message).trim()}`)
  }
  const [algo, expected] = INTEGRITY.split(/-(.*)/s)
  const actual = createHash(algo).update(fs.readFileSync(tarball)).digest('base64')
  if (actual !== expected) fail(`integrity mismatch for ${PACKAGE}: expected ${INTEGRITY}, got ${algo}-${actual}`)

  const unpack = path.join(work, 'unpack')
  fs.mkdirSync(unpack)
  // -m: the files get the time of extraction, so that a changed series (a patch
  // dropped too) makes the build recompile WAMR, never keeping stale objects
  execFileSync('tar', ['-xzmf', tarball, '-C', unpack, 'package/wasm-micro-runtime'], { stdio: 'inherit' })
  const tree = path.join(unpack, 'package', 'wasm-micro-runtime')
  if (notTree(tree)) fail(notTree(tree))
  for (const p of series) {
    try {
      applyPatch(tree, p.text, p.name)
    } catch (err) {
      fail(`${err.message} (WAMR from ${PACKAGE}; deps/ left as it was)`)
    }
  }
  fs.writeFileSync(path.join(tree, '.ocre-integrity'), stampText)
  fs.rmSync(dest, { recursive: true, force: true })
  fs.renameSync(tree, dest) // atomic within deps/: a half-extracted tree is never at dest
  process.stdout.write(dest + '\n')
} catch (err) {
  if (!(err instanceof Failed)) throw err // the message is already out
} finally {
  fs.rmSync(work, { recursive: true, force: true }) // runs on failure too: no .fetch-* left behind
}

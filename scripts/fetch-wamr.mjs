#!/usr/bin/env node
// Fetch WAMR's C sources from the npm registry package @grain/libiwasm@1.1.2,
// verify the tarball's integrity and extract `wasm-micro-runtime/` into deps/.
//
// The package is never a dependency: its own dependencies (OCaml build tools)
// do not exist on the registry. `npm pack` downloads only the tarball.
//
// OCRE_WAMR_DIR=/path/to/wasm-micro-runtime skips all of this.
// Prints the WAMR source directory on stdout (used by CMakeLists.txt).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE = '@grain/libiwasm@1.1.2'
const INTEGRITY =
  'sha512-HDqx8x1NC/uHsfbhPw6Y6nSVTn6FjUIlP2qZ+subDFbQ824TFF2T6vL3wfmoiMZmseMHVCa5YmDjqY2YgP+Oag=='

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const deps = path.join(root, 'deps')
const dest = path.join(deps, 'wasm-micro-runtime')
const stamp = path.join(dest, '.ocre-integrity')

function fail(message) {
  process.stderr.write(`fetch-wamr: ${message}\n`)
  process.exit(1)
}

function checkTree(dir) {
  if (!fs.existsSync(path.join(dir, 'core', 'iwasm', 'include', 'wasm_export.h')))
    fail(`${dir} is not a WAMR source tree (core/iwasm/include/wasm_export.h is missing)`)
}

if (process.env.OCRE_WAMR_DIR) {
  const dir = path.resolve(process.env.OCRE_WAMR_DIR)
  checkTree(dir)
  process.stdout.write(dir + '\n')
  process.exit(0)
}

if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === INTEGRITY) {
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
  execFileSync('tar', ['-xzf', tarball, '-C', unpack, 'package/wasm-micro-runtime'], { stdio: 'inherit' })
  const tree = path.join(unpack, 'package', 'wasm-micro-runtime')
  checkTree(tree)
  fs.writeFileSync(path.join(tree, '.ocre-integrity'), INTEGRITY + '\n')
  fs.rmSync(dest, { recursive: true, force: true })
  fs.renameSync(tree, dest) // atomic within deps/: a half-extracted tree is never at dest
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
process.stdout.write(dest + '\n')

#!/usr/bin/env node
// Cost of the V8 validation gate (lib/images/gate.ts) beside the engine's own
// load of the same module: for each module, WebAssembly.validate (the gate's
// verdict), the SHA-256 it pins, and ctx.create() of the image the first time
// (gate + WAMR load + instantiate-free create) and again (verdict cached,
// module cached). Medians of --runs (default 5). Never part of `npm test`.
//
//   node bench/gate.mjs [FILE.wasm ...]     (default: hello.wasm, sha256.wasm, and
//                                            build/bench-cache/yosys.core.wasm if bench/aot-large.mjs fetched it)
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const argv = process.argv.slice(2)
const runsArg = argv.indexOf('--runs')
const runs = runsArg >= 0 ? Number(argv.splice(runsArg, 2)[1]) : 5
const files = argv.length
  ? argv.map((f) => path.resolve(f))
  : [
      path.join(root, 'test', 'fixtures', 'hello.wasm'),
      path.join(root, 'test', 'fixtures', 'sha256.wasm'),
      path.join(root, 'build', 'bench-cache', 'yosys.core.wasm'),
    ].filter((f) => fs.existsSync(f))

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
function time(fn) {
  const t = performance.now()
  fn()
  return performance.now() - t
}

const lib = await import(path.join(root, 'dist', 'index.js'))
const { open } = lib.default ?? lib
const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(0))
process.stdout.write('| module | size | WebAssembly.validate | SHA-256 | first create (gate + WAMR load) | create, verdict and module cached |\n')
process.stdout.write('| --- | --- | --- | --- | --- | --- |\n')
for (const file of files) {
  const bytes = fs.readFileSync(file)
  const validate = median(Array.from({ length: runs }, () => time(() => WebAssembly.validate(bytes))))
  const sha = median(Array.from({ length: runs }, () => time(() => createHash('sha256').update(bytes).digest())))
  const firsts = []
  const cached = []
  for (let i = 0; i < runs; i++) {
    // a fresh context and a fresh file each time: nothing cached
    const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-gate-'))
    fs.mkdirSync(path.join(workdir, 'images'))
    const name = `m${i}.wasm`
    // a custom section of random bytes: new content, so no cache (ours or the engine's) knows it
    const salt = Buffer.concat([Buffer.from([0, 10, 1, 0x78]), Buffer.from(Array.from({ length: 8 }, () => Math.floor(Math.random() * 256)))])
    fs.writeFileSync(path.join(workdir, 'images', name), Buffer.concat([bytes, salt]))
    const ctx = await open({ workdir })
    let t = performance.now()
    let c = await ctx.create({ image: name, tier: 'interpreter' })
    firsts.push(performance.now() - t)
    await c.remove()
    t = performance.now()
    c = await ctx.create({ image: name, tier: 'interpreter' })
    cached.push(performance.now() - t)
    await c.remove()
    await ctx.close()
    fs.rmSync(workdir, { recursive: true, force: true })
  }
  process.stdout.write(
    `| ${path.basename(file)} | ${(bytes.length / 1024).toFixed(0)} KiB | ${ms(validate)} ms | ${ms(sha)} ms | ${ms(median(firsts))} ms | ${ms(median(cached))} ms |\n`,
  )
}

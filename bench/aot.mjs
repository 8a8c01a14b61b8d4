// The AOT tier rows of `npm run bench` (bench/run.mjs calls benchAot): compile
// time and artifact size, compute against native and V8, and the cold cycle of
// compiled images against the same images interpreted. Needs ocre-aotc (LLVM
// 15 at build time); without it the rows say so.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * @param {object} d what bench/run.mjs provides: ocre (the package), record,
 *   recordLatency, nowUs, quick, fixtures (dir), root (repo), wasiRunMain,
 *   wasmModule
 */
export async function benchAot(d) {
  console.error('8. AOT tier')
  const { ocre, record, recordLatency, nowUs, quick, fixtures, root } = d
  const wd = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-bench-aot-'))
  const ctx = await ocre.open({ workdir: wd })
  try {
    for (const f of ['trivial', 'hello', 'trap', 'sha256'])
      fs.copyFileSync(path.join(fixtures, `${f}.wasm`), path.join(wd, 'images', `${f}.wasm`))
    try {
      await ctx.images.compile('trivial.wasm')
    } catch (err) {
      if (err.code !== 'ERR_OCRE_NO_COMPILER') throw err
      record('aot', 'all AOT rows', 'n/a', '', { note: 'ocre-aotc not built: LLVM 15 was not found at build time' })
      console.error('  skipped: ocre-aotc is not built')
      return
    }

    // compile time and size (x86-64; each compile is a fresh ocre-aotc process)
    for (const name of ['hello.wasm', 'trap.wasm', 'sha256.wasm']) {
      const size = fs.statSync(path.join(wd, 'images', name)).size
      const times = []
      let aot
      for (let i = 0; i < (quick ? 1 : 3); i++) {
        const t0 = nowUs()
        aot = await ctx.images.compile(name)
        times.push((nowUs() - t0) / 1000)
      }
      const t = median(times)
      record('aot compile', `${name} (${(size / 1024).toFixed(1)} KB wasm)`, t, 'ms', {
        note: `artifact ${(aot.size / 1024).toFixed(1)} KB; median of ${times.length}`,
      })
      console.error(`  compile ${name}: ${t.toFixed(0)} ms, artifact ${aot.size} B`)
    }
    // compute, median of 3 (or 1 with --quick), all in this run: sha256 of
    // 32 MiB (integer) and nbody, 2,000,000 steps (floating point)
    const reps = quick ? 1 : 3
    const ms = async (fn) => {
      const xs = []
      for (let i = 0; i < reps; i++) {
        const t0 = nowUs()
        await fn()
        xs.push((nowUs() - t0) / 1000)
      }
      return median(xs)
    }
    for (const [prog, arg] of [
      ['sha256', '32'],
      ['nbody', '2000000'],
    ]) {
      const group = prog === 'sha256' ? 'aot compute' : `aot compute ${prog}`
      fs.copyFileSync(path.join(fixtures, `${prog}.wasm`), path.join(wd, 'images', `${prog}.wasm`))
      fs.copyFileSync(path.join(fixtures, `${prog}.wasm`), path.join(wd, 'images', `${prog}-native.wasm`))
      await ctx.images.compile(`${prog}.wasm`)
      const tNative = nowUs()
      await ctx.images.compile(`${prog}-native.wasm`, { cpu: 'native' })
      const native = (await ctx.images.get(`${prog}-native.wasm`)).aot
      console.error(`  compile ${prog} --cpu native (${native.cpu}): ${((nowUs() - tNative) / 1000).toFixed(0)} ms`)
      const nativeBin = path.join(root, 'bench', 'native', prog)
      if (!fs.existsSync(nativeBin)) {
        // git-ignored: built as scripts/build-fixtures.sh does (host compiler, -O2)
        fs.mkdirSync(path.dirname(nativeBin), { recursive: true })
        execFileSync(process.env.HOST_CC ?? 'gcc', ['-O2', '-o', nativeBin, path.join(fixtures, 'src', `${prog}.c`), '-lm'])
      }
      const nat = await ms(() => execFileSync(nativeBin, [arg]))
      const v8 = await ms(() => d.wasiRunMain(d.wasmModule(`${prog}.wasm`), [arg]))
      let digest
      const aotX = await ms(async () => {
        const r = await ctx.run(`${prog}.wasm`, { args: [arg], tier: 'aot' })
        digest = r.stdout.toString().trim().replace(/\n/g, ' ')
      })
      const aotN = await ms(() => ctx.run(`${prog}-native.wasm`, { args: [arg], tier: 'aot' }))
      const interp = prog === 'sha256' ? await ms(() => ctx.run(`${prog}.wasm`, { args: [arg], tier: 'interpreter' })) : null
      record(group, `${prog} ${arg}: native gcc -O2 (same run)`, nat, 'ms', { ratio: 1 })
      record(group, `${prog} ${arg}: node:wasi (V8) (same run)`, v8, 'ms', { ratio: v8 / nat })
      record(group, `${prog} ${arg}: ocre-node AOT, --cpu x86-64`, aotX, 'ms', { ratio: aotX / nat, ratioToV8: aotX / v8, note: digest })
      record(group, `${prog} ${arg}: ocre-node AOT, --cpu native (${native.cpu})`, aotN, 'ms', { ratio: aotN / nat, ratioToV8: aotN / v8 })
      if (interp !== null)
        record(group, `${prog} ${arg}: ocre-node interpreter (same run)`, interp, 'ms', { ratio: interp / nat, ratioToV8: interp / v8 })
      console.error(
        `  ${prog} ${arg}: native ${nat.toFixed(0)} ms, V8 ${(v8 / nat).toFixed(2)}×, AOT ${(aotX / nat).toFixed(2)}× ` +
          `(${(aotX / v8).toFixed(2)}× V8; native cpu ${(aotN / nat).toFixed(2)}×, ${(aotN / v8).toFixed(2)}× V8)` +
          (interp !== null ? `, interpreter ${(interp / nat).toFixed(1)}×` : ''),
      )
    }

    // cold cycle: the same images, compiled and interpreted, interleaved in blocks
    const n = quick ? 300 : 3000
    for (const image of ['trivial.wasm', 'hello.wasm']) {
      const samples = { aot: [], interpreter: [] }
      const cycle = async (tier) => {
        const t0 = nowUs()
        const c = await ctx.create({ image, stdio: 'ignore', tier })
        await c.start()
        await c.remove()
        return nowUs() - t0
      }
      for (let i = 0; i < 200; i++) await cycle(i % 2 ? 'aot' : 'interpreter') // warm-up
      for (let block = 0; block < n / 100; block++)
        for (const tier of block % 2 ? ['aot', 'interpreter'] : ['interpreter', 'aot'])
          for (let i = 0; i < 50; i++) samples[tier].push(await cycle(tier))
      recordLatency('aot cold cycle', `ocre-node ${image} AOT`, samples.aot)
      recordLatency('aot cold cycle', `ocre-node ${image} interpreted (same run)`, samples.interpreter)
      const ratio = median(samples.aot) / median(samples.interpreter)
      record('aot cold cycle', `${image}: AOT / interpreted`, ratio, '×', {})
    }
  } finally {
    await ctx.close()
    fs.rmSync(wd, { recursive: true, force: true })
  }
}

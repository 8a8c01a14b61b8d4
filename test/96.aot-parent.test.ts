// An AOT compile dies with whoever asked for it: the compiler (ocre-aotc
// --parent, PR_SET_PDEATHSIG) is killed by the kernel when the Node process
// that started it is killed (no 'exit' handler runs then), or when the
// worker thread that started it ends, instead of compiling on for seconds
// or minutes at up to gigabytes of memory. A generated module whose compile
// takes ~20 s on this machine; the compiler must be gone a few seconds after
// its requester, long before it could have finished.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { compilerPath } from '../lib/aot'
import { ROOT, makeWorkdir, removeWorkdir, runTsChild, sleep } from './helpers'

const LIB = JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))
const FUNCTIONS = 8000

const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body]

/** A module of `n` functions f(i)(x) = f(i-1)(3x+1) ^ f(i-2)(x+i), and a _start calling the last. */
function chainModule(n: number): Buffer {
  const types = [2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 0, 0]
  const funcs = [...uleb(n + 1), ...Array<number>(n).fill(0), 1]
  const exports = [1, 6, ...Buffer.from('_start'), 0, ...uleb(n)]
  const memory = [1, 0, 1]
  const code = [...uleb(n + 1)]
  for (let i = 0; i < n; i++) {
    // (i32.const takes a signed LEB: i & 0x3f is one byte, positive)
    const body =
      i < 2
        ? [0, 0x20, 0, 0x0b]
        : [0, 0x20, 0, 0x41, 3, 0x6c, 0x41, 1, 0x6a, 0x10, ...uleb(i - 1), 0x20, 0, 0x41, i & 0x3f, 0x6a, 0x10, ...uleb(i - 2), 0x73, 0x0b]
    code.push(...uleb(body.length), ...body)
  }
  const start = [0, 0x41, 7, 0x10, ...uleb(n - 1), 0x1a, 0x0b]
  code.push(...uleb(start.length), ...start)
  return Buffer.from([
    ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, types),
    ...section(3, funcs),
    ...section(5, memory),
    ...section(7, exports),
    ...section(10, code),
  ])
}

// Starts the compile (in a worker thread for mode 'worker'), prints
// "ready <compiler pid>" when it reports the optimize phase: the compiler
// writes nothing for most of its time from then on (before, a progress line
// written to a dead parent's pipe would end it by SIGPIPE, fix or not). 'worker' first ends
// the worker, then, alive itself, prints "gone" once the compiler is dead
// or "alive" if it still runs 5 s later.
const CHILD = `
const fs = require('node:fs')
const { Worker } = require('node:worker_threads')
const [workdir, mode] = process.argv.slice(1)
const COMPILE = \`
  const fs = require('node:fs')
  const compilers = (parent) => fs.readdirSync('/proc').filter((p) => /^\\\\d+$/.test(p)).filter((p) => {
    try {
      const stat = fs.readFileSync('/proc/' + p + '/stat', 'utf8')
      return stat.includes('(ocre-aotc)') && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(parent)
    } catch { return false }
  })
  async function compile(open, workdir, said) {
    const ctx = await open({ workdir })
    let told = false
    await ctx.images.compile('chain.wasm', { opt: 3, parts: 1, onProgress: (p) => {
      if (!told && p.phase === 'optimize') { told = true; said(compilers(process.pid).join(',')) }
    } }).catch(() => {})
  }
\`
;(async () => {
  if (mode === 'worker') {
    const w = new Worker(\`
      const { parentPort, workerData } = require('node:worker_threads')
      require('tsx/cjs/api').register()
      const { open } = require(${LIB})
      \${COMPILE}
      compile(open, workerData.workdir, (pids) => parentPort.postMessage(pids))
    \`, { eval: true, workerData: { workdir } })
    const pids = await new Promise((r) => w.once('message', r))
    await w.terminate()
    process.stdout.write('ready ' + pids + '\\n')
    const dead = () => {
      try {
        const stat = fs.readFileSync('/proc/' + pids + '/stat', 'utf8')
        return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
      } catch { return true }
    }
    const until = Date.now() + 5000
    while (!dead() && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    process.stdout.write(dead() ? 'gone\\n' : 'alive\\n')
    return
  }
  const { open } = require(${LIB})
  eval(COMPILE)
  await compile(open, workdir, (pids) => process.stdout.write('ready ' + pids + '\\n'))
})()
`

/** The process is gone (or a zombie: dead, not reaped by a parent that ended). */
function dead(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

async function deadWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms
  while (!dead(pid)) {
    if (Date.now() > until) return false
    await sleep(20)
  }
  return true
}

describe('an AOT compile dies with its requester', function () {
  this.timeout(60_000)
  let workdir: string
  const compilers: number[] = []

  before(function () {
    if (!compilerPath()) {
      console.log('      skipped: the AOT compiler ocre-aotc was not built (LLVM 15 not found at build time)')
      this.skip()
    }
    workdir = makeWorkdir('ocre-aot-parent-')
    fs.writeFileSync(path.join(workdir, 'images', 'chain.wasm'), chainModule(FUNCTIONS))
  })
  after(() => {
    for (const pid of compilers)
      try {
        process.kill(pid, 'SIGKILL') // only if a test failed: the compiler outlived its requester
      } catch {
        // gone
      }
    removeWorkdir(workdir)
  })

  function compilerOf(stdout: string): number {
    const m = /ready (\d+)\n/.exec(stdout)
    assert.ok(m, `the child printed its compiler's pid: ${JSON.stringify(stdout)}`)
    const pid = Number(m[1])
    compilers.push(pid)
    return pid
  }

  it('the Node process that started it is killed (SIGKILL): the compiler is killed too', async () => {
    const r = await runTsChild(CHILD, [workdir, 'process'], { signalAfterReady: 'SIGKILL' })
    assert.equal(r.signal, 'SIGKILL', r.stderr)
    const pid = compilerOf(r.stdout)
    assert.ok(await deadWithin(pid, 5000), `the compiler ${pid} is still running 5 s after its Node process was killed`)
  })

  it('the worker thread that started it ends (terminate()): the compiler is killed, the process goes on', async () => {
    const r = await runTsChild(CHILD, [workdir, 'worker'])
    assert.equal(r.code, 0, r.stderr)
    const pid = compilerOf(r.stdout)
    assert.match(r.stdout, /\ngone\n$/, `the compiler ${pid} outlived the worker that started it`)
  })
})

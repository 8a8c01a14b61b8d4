#!/usr/bin/env node
// Mutation fuzzer for the public image path (issue #7, item 1).
//
//   npm run fuzz -- [--count N] [--seed S] [--jobs J] [--batch B] [--timeout MS] [--save DIR] [--json]
//   npm run fuzz -- --libfuzzer SECONDS    the C API campaign instead (scripts/fuzz-c.sh --time SECONDS:
//                                          libFuzzer + ASan + UBSan over ocre_context_create_container,
//                                          load + instantiate + run, no V8; needs clang; docs/reliability.md)
//
// Every mutant of every fixture (test/fixtures/*.wasm) goes through the public
// JavaScript path: ctx.images.add (the V8 admission gate), ctx.create (the
// engine loads it), start, wait — with a short timeout and a kill (a mutant
// may loop forever) and a small memoryLimit. Mutants run in batches inside
// child processes, so a crash is observed (the child dies of a signal), not
// suffered. Mutant i is a pure function of (seed, i): a child regenerates its
// own mutants, and a crash is reproducible by index.
//
// A child announces "B i" before mutant i and "R i outcome detail" after it.
// When a child dies, the mutant it was on is the suspect: it is retried alone
// in a fresh child; if it does not crash alone, the batch prefix that led to
// it is bisected (shortest crashing run ending at the suspect). Confirmed
// crashers are written to --save DIR (default: build/fuzz-crashes/).
//
// Outcomes: rejected (images.add refused it: OcreError ERR_OCRE_INVALID_IMAGE),
// refused-create / refused-start (OcreError from create()/start()), exit,
// trap, killed (ran past the timeout). Failures: crash (a child died of a
// signal), hang (a child made no progress for 30 s), bad-error (a rejection
// that is not an OcreError with a code and a message). Exit status 1 on any
// failure.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runAdversarial } from './adversarial.mjs'
import { rng } from './rng.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const FIXTURES = path.join(root, 'test', 'fixtures')
const MIB = 1024 * 1024

// ---------------------------------------------------------------------------
// deterministic mutants


function hash(seed, i) {
  let h = (seed ^ 0x9e3779b9) >>> 0
  h = Math.imul(h ^ i, 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

function readLeb(buf, pos) {
  let result = 0
  let shift = 0
  let len = 0
  for (;;) {
    if (pos + len >= buf.length || len > 5) return null
    const b = buf[pos + len++]
    result += (b & 0x7f) * 2 ** shift
    shift += 7
    if (!(b & 0x80)) return { value: result, len }
  }
}

function encodeLeb(value, minLen = 1) {
  const out = []
  do {
    let b = value % 128
    value = Math.floor(value / 128)
    if (value > 0 || out.length + 1 < minLen) b |= 0x80
    out.push(b)
  } while (value > 0 || out.length < minLen)
  return out
}

/** Top-level sections: { id, sizePos, sizeLen, start (payload), size }. */
function sections(buf) {
  const out = []
  let pos = 8
  while (pos < buf.length) {
    const id = buf[pos]
    const leb = readLeb(buf, pos + 1)
    if (!leb) break
    out.push({ id, sizePos: pos + 1, sizeLen: leb.len, start: pos + 1 + leb.len, size: leb.value })
    pos = pos + 1 + leb.len + leb.value
  }
  return out
}

const STRATEGIES = ['bitflip', 'byte', 'insert', 'delete', 'truncate', 'section-length', 'leb', 'code-bitflip']

function mutateOnce(buf, r, strategy) {
  const int = (n) => Math.floor(r() * n)
  const len = buf.length
  switch (strategy) {
    case 'bitflip': {
      const out = Buffer.from(buf)
      for (let k = 1 + int(4); k > 0; k--) {
        const p = int(len)
        out[p] ^= 1 << int(8)
      }
      return out
    }
    case 'byte': {
      const out = Buffer.from(buf)
      const interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0b, 0x40, 0x41, 0x20, 0x21, 0x22, 0x10, 0x11]
      out[int(len)] = r() < 0.5 ? int(256) : interesting[int(interesting.length)]
      return out
    }
    case 'insert': {
      const p = int(len + 1)
      const ins = Buffer.alloc(1 + int(8))
      for (let k = 0; k < ins.length; k++) ins[k] = int(256)
      return Buffer.concat([buf.subarray(0, p), ins, buf.subarray(p)])
    }
    case 'delete': {
      const p = int(len)
      const n = 1 + int(16)
      return Buffer.concat([buf.subarray(0, p), buf.subarray(Math.min(len, p + n))])
    }
    case 'truncate':
      return Buffer.from(buf.subarray(0, int(len)))
    case 'section-length': {
      const secs = sections(buf)
      if (!secs.length) return mutateOnce(buf, r, 'bitflip')
      const s = secs[int(secs.length)]
      const choices = [0, 1, s.size - 1, s.size + 1, s.size * 2, Math.max(0, s.size - 1 - int(16)), 0x7fffffff, int(len * 2)]
      const v = Math.max(0, choices[int(choices.length)])
      const keepLen = r() < 0.7
      const leb = encodeLeb(v, keepLen ? s.sizeLen : 1)
      return Buffer.concat([buf.subarray(0, s.sizePos), Buffer.from(leb), buf.subarray(s.sizePos + s.sizeLen)])
    }
    case 'leb': {
      // corrupt something that decodes as a LEB128: make it overlong, maximal,
      // unterminated, or change its value
      let p = int(len)
      const code = sections(buf).find((s) => s.id === 10)
      if (code && r() < 0.7) p = code.start + int(code.size)
      const cur = readLeb(buf, p)
      const curLen = cur ? cur.len : 1
      const kind = int(4)
      let rep
      if (kind === 0) rep = [...buf.subarray(p, p + curLen)].map((b, k, a) => (k === a.length - 1 ? b | 0x80 : b)).concat([0x80, 0x00]) // overlong
      else if (kind === 1) rep = [0xff, 0xff, 0xff, 0xff, 0x0f] // u32 max
      else if (kind === 2) rep = [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f] // too long
      else rep = encodeLeb(cur ? cur.value + 1 + int(300) : int(1 << 20))
      return Buffer.concat([buf.subarray(0, p), Buffer.from(rep), buf.subarray(p + curLen)])
    }
    case 'code-bitflip': {
      const code = sections(buf).find((s) => s.id === 10)
      if (!code || code.size === 0) return mutateOnce(buf, r, 'bitflip')
      const out = Buffer.from(buf)
      const p = code.start + int(code.size)
      if (p < out.length) out[p] = r() < 0.5 ? out[p] ^ (1 << int(8)) : int(256)
      return out
    }
  }
  throw new Error(`unknown strategy ${strategy}`)
}

/** Mutant i of the run with `seed`: { fixture, strategy, bytes }. */
export function mutant(fixtures, seed, i) {
  const r = rng(hash(seed, i))
  const f = fixtures[i % fixtures.length]
  const strategy = STRATEGIES[Math.floor(r() * STRATEGIES.length)]
  let bytes = mutateOnce(f.bytes, r, strategy)
  // sometimes stack a second mutation
  if (r() < 0.2) bytes = mutateOnce(bytes, r, STRATEGIES[Math.floor(r() * STRATEGIES.length)])
  return { fixture: f.name, strategy, bytes }
}

export function loadFixtures() {
  return fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.wasm'))
    .sort()
    .map((name) => ({ name, bytes: fs.readFileSync(path.join(FIXTURES, name)) }))
}

// ---------------------------------------------------------------------------
// child: run mutants [from, to) (or a list) and report each

async function child({ seed, indices, timeout, memoryLimit }) {
  const lib = await import(path.join(root, 'dist', 'index.js'))
  const { open, OcreError, setLogLevel } = lib.default ?? lib
  setLogLevel('none')
  const fixtures = loadFixtures()
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-fuzz-'))
  const ctx = await open({ workdir })
  const out = (line) => fs.writeSync(1, line + '\n')
  const detail = (s) => String(s).replace(/\s+/g, ' ').slice(0, 160)
  const goodError = (err) =>
    err instanceof OcreError && typeof err.code === 'string' && err.code.startsWith('ERR_OCRE_') && err.message.length > 0
  for (const i of indices) {
    out(`B ${i}`)
    // self-test of the crash detection (test/fuzz.test.ts): die of a signal on this mutant
    if (process.env.OCRE_FUZZ_SELFTEST_CRASH === String(i)) process.kill(process.pid, 'SIGKILL')
    const m = mutant(fixtures, seed, i)
    const name = `m${i}.wasm`
    let outcome
    let info = ''
    let c
    try {
      try {
        await ctx.images.add(name, m.bytes)
      } catch (err) {
        outcome = goodError(err) ? 'rejected' : 'bad-error'
        info = `${err?.code ?? err?.name}: ${err?.message}`
        continue
      }
      try {
        c = await ctx.create({ image: name, detached: true, stdio: 'ignore', memoryLimit })
      } catch (err) {
        outcome = goodError(err) ? 'refused-create' : 'bad-error'
        info = `${err?.code ?? err?.name}: ${err?.message}`
        continue
      }
      try {
        await c.start()
      } catch (err) {
        outcome = goodError(err) ? 'refused-start' : 'bad-error'
        info = `${err?.code ?? err?.name}: ${err?.message}`
        continue
      }
      let timer
      const result = await Promise.race([
        c.wait(),
        new Promise((resolve) => (timer = setTimeout(() => resolve(null), timeout))),
      ])
      clearTimeout(timer)
      if (result === null) {
        const k = await c.kill()
        outcome = k.reason === 'killed' ? 'killed' : k.reason
        info = `${k.exitCode} ${k.message ?? ''}`
      } else {
        outcome = result.reason
        info = `${result.exitCode} ${result.message ?? ''}`
        if (result.reason === 'trap' && !result.message) outcome = 'bad-error'
      }
    } catch (err) {
      outcome = 'bad-error'
      info = `unexpected: ${err?.code ?? err?.name}: ${err?.message}`
    } finally {
      if (c) await c.remove({ force: true }).catch(() => {})
      await ctx.images.remove(name).catch(() => {})
      out(`R ${i} ${outcome} ${m.fixture} ${m.strategy} ${detail(info)}`)
    }
  }
  await ctx.close()
  fs.rmSync(workdir, { recursive: true, force: true })
}

// ---------------------------------------------------------------------------
// parent

function runChild(opts, indices, onResult) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    p.stdin.end(JSON.stringify({ seed: opts.seed, indices, timeout: opts.timeout, memoryLimit: opts.memoryLimit }))
    let buf = ''
    let current = null
    let stderr = ''
    let watchdog
    let hung = false
    const arm = () => {
      clearTimeout(watchdog)
      watchdog = setTimeout(() => {
        hung = true
        p.kill('SIGKILL')
      }, opts.hangMs)
    }
    arm()
    p.stdout.on('data', (d) => {
      buf += d
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        arm()
        if (line.startsWith('B ')) current = Number(line.slice(2))
        else if (line.startsWith('R ')) {
          const [, idx, outcome, fixture, strategy, ...rest] = line.split(' ')
          current = null
          onResult({ index: Number(idx), outcome, fixture, strategy, detail: rest.join(' ') })
        }
      }
    })
    p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
    p.on('close', (code, signal) => {
      clearTimeout(watchdog)
      resolve({ code, signal: hung ? 'hang' : signal, current, stderr })
    })
  })
}

async function parent(opts) {
  const fixtures = loadFixtures()
  const counts = {}
  const failures = []
  const byFixture = {}
  const started = performance.now()
  const record = (r) => {
    counts[r.outcome] = (counts[r.outcome] ?? 0) + 1
    byFixture[r.fixture] ??= {}
    byFixture[r.fixture][r.outcome] = (byFixture[r.fixture][r.outcome] ?? 0) + 1
    if (r.outcome === 'bad-error') failures.push(r)
  }
  const crashes = (res) => res.signal !== null || (res.code !== 0 && res.current !== null)

  async function runBatch(indices) {
    let rest = indices
    while (rest.length) {
      const done = new Set()
      const res = await runChild(opts, rest, (r) => {
        done.add(r.index)
        record(r)
      })
      if (!crashes(res) && res.code === 0) return
      if (!crashes(res)) {
        // the child failed outside a mutant (startup, close): report, stop this batch
        failures.push({ index: -1, outcome: 'child-error', detail: `exit ${res.code}: ${res.stderr.trim().slice(-500)}` })
        return
      }
      const suspect = res.current
      const kind = res.signal === 'hang' ? 'hang' : 'crash'
      const pos = rest.indexOf(suspect)
      const prefix = rest.slice(0, pos + 1)
      const named = await nameCrasher(prefix, suspect)
      counts[kind] = (counts[kind] ?? 0) + 1
      const m = mutant(fixtures, opts.seed, suspect)
      const failure = {
        index: suspect,
        outcome: kind,
        fixture: m.fixture,
        strategy: m.strategy,
        detail: `${res.signal}; reproduces with: ${named.join(',')}; stderr: ${res.stderr.trim().slice(-300)}`,
      }
      failures.push(failure)
      save(m, suspect, named, kind)
      rest = rest.slice(pos + 1)
    }
  }

  /** The shortest run of mutants ending at `suspect` that still crashes. */
  async function nameCrasher(prefix, suspect) {
    const alone = await runChild(opts, [suspect], () => {})
    if (crashes(alone)) return [suspect]
    let lo = 0 // prefix.slice(lo) crashes (assumed: the full prefix did)
    let hi = prefix.length - 1 // prefix.slice(hi) = [suspect] does not
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1
      const r = await runChild(opts, prefix.slice(mid), () => {})
      if (crashes(r)) lo = mid
      else hi = mid
    }
    return prefix.slice(lo)
  }

  function save(m, index, named, kind) {
    fs.mkdirSync(opts.save, { recursive: true })
    const file = path.join(opts.save, `fuzz-${kind}-seed${opts.seed}-${index}-${m.fixture}`)
    fs.writeFileSync(file, m.bytes)
    fs.writeFileSync(`${file}.txt`, `seed ${opts.seed} mutants ${named.join(',')} strategy ${m.strategy}\n`)
    process.stderr.write(`fuzz: ${kind} on mutant ${index} saved to ${file}\n`)
  }

  const all = []
  for (let i = 0; i < opts.count; i++) all.push(i)
  const batches = []
  for (let i = 0; i < all.length; i += opts.batch) batches.push(all.slice(i, i + opts.batch))
  let next = 0
  let doneCount = 0
  const worker = async () => {
    while (next < batches.length) {
      const b = batches[next++]
      await runBatch(b)
      doneCount += b.length
      if (!opts.json && opts.count >= 5000)
        process.stderr.write(`fuzz: ${doneCount}/${opts.count} (${Math.round((performance.now() - started) / 1000)} s)\n`)
    }
  }
  await Promise.all(Array.from({ length: opts.jobs }, worker))

  // then the adversarial guests (scripts/adversarial.mjs): every hostile host call
  const adversarial = opts.adversarial ? await runAdversarial() : null
  if (adversarial) {
    for (const r of adversarial.results)
      if (!r.ok) failures.push({ index: -1, outcome: 'adversarial', fixture: r.name, detail: r.detail })
    if (adversarial.failure) failures.push({ index: -1, outcome: 'adversarial', detail: adversarial.failure })
  }

  const summary = {
    seed: opts.seed,
    count: opts.count,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    counts,
    failures,
    byFixture,
    adversarial: adversarial && { cases: adversarial.results.length, ok: adversarial.ok },
  }
  if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n')
  else {
    process.stdout.write(`fuzz: ${opts.count} mutants, seed ${opts.seed}, ${summary.seconds} s, ${opts.jobs} jobs\n`)
    for (const k of Object.keys(counts).sort()) process.stdout.write(`  ${k.padEnd(15)} ${counts[k]}\n`)
    if (adversarial) process.stdout.write(`adversarial guests: ${adversarial.results.length} cases${adversarial.ok ? ', all as expected' : ''}\n`)
    for (const f of failures) process.stdout.write(`FAIL ${f.outcome} mutant ${f.index} (${f.fixture}, ${f.strategy}): ${f.detail}\n`)
    process.stdout.write(failures.length ? `${failures.length} failures\n` : 'no crashes, no hangs, every rejection an OcreError\n')
  }
  process.exitCode = failures.length ? 1 : 0
}

function parseArgs(argv) {
  const opts = {
    count: 2000,
    adversarial: true,
    seed: (Date.now() ^ process.pid) >>> 0,
    jobs: Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
    batch: 0,
    timeout: 100,
    memoryLimit: 4 * MIB,
    hangMs: 30_000,
    save: path.join(root, 'build', 'fuzz-crashes'),
    json: false,
    only: null,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    const num = () => {
      const n = Number(val())
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a} takes a non-negative integer`)
      return n
    }
    if (a === '--count') opts.count = num()
    else if (a === '--seed') opts.seed = num()
    else if (a === '--jobs') opts.jobs = Math.max(1, num())
    else if (a === '--batch') opts.batch = num()
    else if (a === '--timeout') opts.timeout = num()
    else if (a === '--memory-limit') opts.memoryLimit = num()
    else if (a === '--save') opts.save = path.resolve(val())
    else if (a === '--json') opts.json = true
    else if (a === '--no-adversarial') opts.adversarial = false
    else if (a === '--libfuzzer') opts.libfuzzer = num()
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: npm run fuzz -- [--count N] [--seed S] [--jobs J] [--batch B] [--timeout MS] [--memory-limit BYTES] [--save DIR] [--json] [--no-adversarial]\n' +
          '       npm run fuzz -- --libfuzzer SECONDS   (the C API campaign: scripts/fuzz-c.sh --time SECONDS)\n',
      )
      process.exit(0)
    } else throw new Error(`unknown option ${a}`)
  }
  if (!opts.batch) opts.batch = Math.max(1, Math.min(500, Math.ceil(opts.count / (opts.jobs * 2))))
  return opts
}

if (process.argv[2] === '--child') {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'))
  await child(input)
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`fuzz: ${err.message}\n`)
    process.exit(2)
  }
  if (opts.libfuzzer !== undefined) {
    const r = spawnSync('bash', [path.join(root, 'scripts', 'fuzz-c.sh'), '--time', String(opts.libfuzzer)], { stdio: 'inherit' })
    process.exit(r.status ?? 1)
  }
  await parent(opts)
}

// Issue #7 item 1: malformed modules through the public path. The mutation
// fuzzer (scripts/fuzz.mjs, on demand `npm run fuzz -- --count N`) runs a
// CI-sized, fixed-seed batch here: every mutant is admitted (or refused) by
// ctx.images.add, created, started and waited for (killed after 100 ms) in
// child processes, so a crash is a child's signal, not ours.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from './helpers'

interface Summary {
  count: number
  seconds: number
  counts: Record<string, number>
  failures: { index: number; outcome: string; fixture?: string; strategy?: string; detail: string }[]
  adversarial: { cases: number; ok: boolean } | null
}

function fuzz(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; summary: Summary }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'scripts', 'fuzz.mjs'), '--json', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d.toString()))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', reject)
    p.on('close', (code) => {
      try {
        resolve({ code, summary: JSON.parse(out.trim().split('\n').pop() ?? '') as Summary })
      } catch {
        reject(new Error(`fuzz.mjs printed no summary (exit ${code}): ${out}\n${err}`))
      }
    })
  })
}

describe('fuzz: malformed modules through the public path', function () {
  this.timeout(120_000)
  const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-fuzz-save-'))
  after(() => fs.rmSync(saveDir, { recursive: true, force: true }))

  it('2,000 mutants of every fixture, then the adversarial guests: no child crash or hang, every refusal an OcreError, every trap with a message', async () => {
    const { code, summary } = await fuzz(['--count', '2000', '--seed', '20261128', '--save', saveDir])
    const total = Object.values(summary.counts).reduce((a, b) => a + b, 0)
    console.log(`      fuzz: ${JSON.stringify(summary.counts)} in ${summary.seconds} s`)
    assert.deepEqual(summary.failures, [])
    assert.equal(code, 0)
    assert.equal(total, 2000)
    assert.equal(summary.counts.crash ?? 0, 0)
    assert.equal(summary.counts.hang ?? 0, 0)
    assert.equal(summary.counts['bad-error'] ?? 0, 0)
    // the run exercised every stage: the V8 gate, and modules that ran
    assert.ok(summary.counts.rejected > 0, 'some mutants are refused by the gate')
    assert.ok((summary.counts.exit ?? 0) + (summary.counts.killed ?? 0) + (summary.counts.trap ?? 0) > 0, 'some mutants ran')
    // scripts/adversarial.mjs: every hostile host call ended as expected
    assert.deepEqual(summary.adversarial, { cases: summary.adversarial?.cases, ok: true })
    assert.ok((summary.adversarial?.cases ?? 0) >= 20)
  })

  it('detects a child that dies of a signal and names the mutant (self-test)', async () => {
    const { code, summary } = await fuzz(['--count', '40', '--seed', '1', '--jobs', '1', '--batch', '40', '--save', saveDir, '--no-adversarial'], {
      OCRE_FUZZ_SELFTEST_CRASH: '17',
    })
    assert.equal(code, 1)
    assert.equal(summary.counts.crash, 1)
    assert.equal(summary.failures.length, 1)
    assert.equal(summary.failures[0].index, 17)
    assert.match(summary.failures[0].detail, /reproduces with: 17;/)
    const total = Object.values(summary.counts).reduce((a, b) => a + b, 0)
    assert.equal(total, 40, 'the rest of the batch still ran')
    assert.ok(fs.readdirSync(saveDir).some((f) => f.includes('-17-')), 'the crasher was saved')
  })
})

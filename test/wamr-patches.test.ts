// The WAMR patch series (native/runtime/wamr/patches/, docs/wamr-patches.md):
// the strict diff applier of scripts/apply-patch.mjs, and the built tree being
// the patched one (scripts/fetch-wamr.mjs's stamp lists the whole series).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from './helpers'

const PATCHES = path.join(ROOT, 'native', 'runtime', 'wamr', 'patches')

describe('WAMR patch series', () => {
  let applyPatch: (dir: string, text: string, name: string) => string[]
  let tree: string

  before(async () => {
    ;({ applyPatch } = await import(path.join(ROOT, 'scripts', 'apply-patch.mjs')))
  })
  beforeEach(() => {
    tree = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-patch-'))
    fs.mkdirSync(path.join(tree, 'src'))
    fs.writeFileSync(path.join(tree, 'src', 'a.c'), 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n')
    fs.writeFileSync(path.join(tree, 'src', 'b.c'), 'alpha\nbeta\ngamma\n')
  })
  afterEach(() => fs.rmSync(tree, { recursive: true, force: true }))

  const header = 'ocre-node patch 9999: a description that is not part of the diff\n\n--- not a header\n'
  const hunkA = '--- a/src/a.c\n+++ b/src/a.c\n@@ -2,3 +2,4 @@\n two\n-three\n+THREE\n+three and a half\n four\n'
  const hunkB = '--- a/src/b.c\n+++ b/src/b.c\n@@ -1,2 +1,2 @@\n alpha\n-beta\n+BETA\n'

  it('applies every hunk of every file, ignoring the description', () => {
    assert.deepEqual(applyPatch(tree, header + hunkA + hunkB, 't.patch'), ['src/a.c', 'src/b.c'])
    assert.equal(fs.readFileSync(path.join(tree, 'src', 'a.c'), 'utf8'), 'one\ntwo\nTHREE\nthree and a half\nfour\nfive\nsix\nseven\n')
    assert.equal(fs.readFileSync(path.join(tree, 'src', 'b.c'), 'utf8'), 'alpha\nBETA\ngamma\n')
  })

  it('finds a hunk whose lines moved (a constant offset)', () => {
    fs.writeFileSync(path.join(tree, 'src', 'a.c'), 'zero\nhalf\none\ntwo\nthree\nfour\nfive\n')
    applyPatch(tree, hunkA, 't.patch')
    assert.equal(fs.readFileSync(path.join(tree, 'src', 'a.c'), 'utf8'), 'zero\nhalf\none\ntwo\nTHREE\nthree and a half\nfour\nfive\n')
  })

  it('refuses a hunk that does not match, naming it, and writes no file of the patch', () => {
    fs.writeFileSync(path.join(tree, 'src', 'b.c'), 'alpha\nBeta changed upstream\ngamma\n')
    assert.throws(() => applyPatch(tree, hunkA + hunkB, '0042-x.patch'), /^Error: 0042-x\.patch: hunk 1 \(line 11 of the patch\) does not apply to src\/b\.c$/)
    // a.c's hunk matched, but nothing is written when a later file fails
    assert.equal(fs.readFileSync(path.join(tree, 'src', 'a.c'), 'utf8'), 'one\ntwo\nthree\nfour\nfive\nsix\nseven\n')
  })

  it('refuses to apply twice (the removed lines are gone)', () => {
    applyPatch(tree, hunkA, 't.patch')
    assert.throws(() => applyPatch(tree, hunkA, 't.patch'), /hunk 1 .* does not apply to src\/a\.c/)
  })

  it('refuses missing files, paths out of the tree and malformed hunks', () => {
    assert.throws(() => applyPatch(tree, hunkA.replaceAll('src/a.c', 'src/none.c'), 'p'), /src\/none\.c does not exist/)
    assert.throws(() => applyPatch(tree, hunkA.replaceAll('src/a.c', '../a.c'), 'p'), /bad path \.\.\/a\.c/)
    assert.throws(() => applyPatch(tree, hunkA.replace('@@ -2,3', '@@ -2,5'), 'p'), /malformed/)
    assert.throws(() => applyPatch(tree, 'just text\n', 'p'), /no file in the patch/)
  })

  it('creates new files', () => {
    applyPatch(tree, '--- /dev/null\n+++ b/src/new.c\n@@ -0,0 +1,2 @@\n+x\n+y\n', 'p')
    assert.equal(fs.readFileSync(path.join(tree, 'src', 'new.c'), 'utf8'), 'x\ny\n')
  })

  it('every patch has a header (defect, fix, test) and applies only to WAMR files', () => {
    const series = fs.readdirSync(PATCHES).filter((f) => f.endsWith('.patch'))
    assert.ok(series.length >= 3)
    for (const name of series) {
      assert.match(name, /^\d{4}-[a-z0-9-]+\.patch$/)
      const text = fs.readFileSync(path.join(PATCHES, name), 'utf8')
      const intro = text.slice(0, text.indexOf('\n--- a/'))
      for (const part of ['Defect:', 'Fix:', 'Test:']) assert.ok(intro.includes(part), `${name} has no ${part}`)
      for (const m of text.matchAll(/^\+\+\+ b\/(\S+)/gm)) assert.match(m[1], /^core\//, `${name} patches ${m[1]}`)
    }
  })

  it('the WAMR tree the build uses has the whole series applied', function () {
    const dir = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'fetch-wamr.mjs')], { encoding: 'utf8' }).trim()
    if (process.env.OCRE_WAMR_DIR) this.skip() // a tree of the user's, used as it is
    const stamp = fs.readFileSync(path.join(dir, '.ocre-integrity'), 'utf8').trim().split('\n')
    const series = fs.readdirSync(PATCHES).filter((f) => f.endsWith('.patch')).sort()
    assert.deepEqual(
      stamp.slice(1),
      series.map((f) => `patch ${f} sha256:${createHash('sha256').update(fs.readFileSync(path.join(PATCHES, f))).digest('hex')}`),
    )
    assert.equal(
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'fetch-wamr.mjs'), '--print-series'], { encoding: 'utf8' }),
      series.map((f) => path.join(PATCHES, f) + '\n').join(''),
    )
    // and the patched lines are in the sources
    assert.match(fs.readFileSync(path.join(dir, 'core', 'iwasm', 'interpreter', 'wasm_loader.c'), 'utf8'), /ocre-node: params popped/)
  })
})

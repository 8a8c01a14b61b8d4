// Images that reach the engine are validated with V8 first, whoever put them
// in images/: WAMR 1.1.2's loader has memory-safety bugs on malformed input
// (test/fixtures/regress/), so such a module must never get to it.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { FIXTURES, rejectsCode, useContext } from './helpers'

describe('image gate', () => {
  const t = useContext()
  const regress = path.join(FIXTURES, 'regress')

  for (const file of fs.readdirSync(regress).filter((f) => f.endsWith('.wasm'))) {
    it(`refuses ${file}, dropped into images/ by another tool, with V8's reason`, async () => {
      const name = file.replace(/^wamr-1\.1\.2-/, 'mutant-')
      fs.copyFileSync(path.join(regress, file), path.join(t.workdir, 'images', name))
      await rejectsCode(t.ctx.create({ image: name }), 'ERR_OCRE_INVALID_IMAGE', /is not valid WebAssembly: .+/)
      assert.equal(t.ctx.size, 0)
    })
  }

  /** A valid empty module of exactly `size` bytes (a custom section pads it). */
  function validModuleOfSize(size: number): Buffer {
    const header = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])
    const leb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...leb(n >>> 7)])
    for (let width = 1; width <= 5; width++) {
      const payload = size - header.length - 1 - width // section id, size, payload
      if (leb(payload).length !== width) continue
      return Buffer.concat([header, Buffer.from([0, ...leb(payload), 1, 0x78]), Buffer.alloc(payload - 2)])
    }
    throw new Error(`no module of ${size} bytes`)
  }

  it('loads only the bytes it validated: a file rewritten in place after validation, keeping its identity, is refused', async () => {
    const bad = fs.readFileSync(path.join(regress, 'wamr-1.1.2-local-tee-empty-stack.wasm'))
    const target = path.join(t.workdir, 'images', 'inplace.wasm')
    const ref = path.join(t.workdir, 'inplace.ref')
    fs.writeFileSync(target, validModuleOfSize(bad.length))
    await t.ctx.images.ensureLoadable('inplace.wasm') // V8 validated, verdict cached by identity
    // same inode, size and mtime (touch -r): the cached verdict still applies
    execFileSync('touch', ['-r', target, ref])
    fs.writeFileSync(target, bad)
    execFileSync('touch', ['-r', ref, target])
    // the engine's bytes are not the validated ones: validated again, refused by V8
    await rejectsCode(t.ctx.create({ image: 'inplace.wasm' }), 'ERR_OCRE_INVALID_IMAGE', /is not valid WebAssembly/)
    assert.equal(t.ctx.size, 0)
  })

  it('re-validates an image file that was replaced', async () => {
    const target = path.join(t.workdir, 'images', 'swap.wasm')
    fs.copyFileSync(path.join(FIXTURES, 'hello.wasm'), target)
    const ok = await t.ctx.create({ image: 'swap.wasm' })
    await ok.remove()
    const tmp = `${target}.new`
    fs.copyFileSync(path.join(regress, 'wamr-1.1.2-local-tee-empty-stack.wasm'), tmp)
    fs.renameSync(tmp, target)
    await rejectsCode(t.ctx.create({ image: 'swap.wasm' }), 'ERR_OCRE_INVALID_IMAGE')
  })

  it('refuses a known-bad image again from its cached verdict, with the stack of the caller', async () => {
    fs.copyFileSync(path.join(regress, 'wamr-1.1.2-local-tee-empty-stack.wasm'), path.join(t.workdir, 'images', 'bad.wasm'))
    function plainCaller() {
      return t.ctx.create({ image: 'bad.wasm' })
    }
    await rejectsCode(plainCaller(), 'ERR_OCRE_INVALID_IMAGE') // validated now
    const err = await rejectsCode(plainCaller(), 'ERR_OCRE_INVALID_IMAGE') // cached verdict
    assert.match(err.stack ?? '', /plainCaller/)
    assert.equal(t.ctx.size, 0)
  })

  it('a cached verdict whose file went away, came back as other valid bytes or as bad ones: each is seen', async () => {
    const images = path.join(t.workdir, 'images')
    const target = path.join(images, 'comes-and-goes.wasm')
    fs.copyFileSync(path.join(FIXTURES, 'exit-code.wasm'), target)
    const code = { args: ['7', 'proc'], stdio: 'ignore' as const }
    assert.equal((await t.ctx.run('comes-and-goes.wasm', code)).exitCode, 7) // validated, verdict cached
    fs.rmSync(target)
    await rejectsCode(t.ctx.run('comes-and-goes.wasm', code), 'ERR_OCRE_IMAGE_NOT_FOUND')
    fs.copyFileSync(path.join(FIXTURES, 'hello.wasm'), target) // other valid bytes: those run
    assert.equal((await t.ctx.run('comes-and-goes.wasm')).stdout?.toString(), 'Hello from WebAssembly!\n')
    fs.copyFileSync(path.join(regress, 'wamr-1.1.2-local-tee-empty-stack.wasm'), target) // in place
    await rejectsCode(t.ctx.run('comes-and-goes.wasm', code), 'ERR_OCRE_INVALID_IMAGE', /is not valid WebAssembly/)
    fs.copyFileSync(path.join(FIXTURES, 'exit-code.wasm'), target) // fixed: accepted again
    assert.equal((await t.ctx.run('comes-and-goes.wasm', code)).exitCode, 7)
    assert.equal(t.ctx.size, 0)
  })

  it('leaves a missing image and a bad name to the engine', async () => {
    await rejectsCode(t.ctx.create({ image: 'nope.wasm' }), 'ERR_OCRE_IMAGE_NOT_FOUND')
    await rejectsCode(t.ctx.create({ image: 'Bad.wasm' }), 'ERR_OCRE_INVALID_NAME')
  })
})

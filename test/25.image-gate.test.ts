// Images that reach the engine are validated with V8 first, whoever put them
// in images/: WAMR 1.1.2's loader has memory-safety bugs on malformed input
// (test/fixtures/regress/), so such a module must never get to it.
import assert from 'node:assert/strict'
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

  it('leaves a missing image and a bad name to the engine', async () => {
    await rejectsCode(t.ctx.create({ image: 'nope.wasm' }), 'ERR_OCRE_IMAGE_NOT_FOUND')
    await rejectsCode(t.ctx.create({ image: 'Bad.wasm' }), 'ERR_OCRE_INVALID_NAME')
  })
})

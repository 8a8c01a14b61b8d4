// WASI at its edges (the engine's fixes to WAMR 1.1.2, each shown by the
// wasi-edge fixture, which prints "CALL ERRNO" lines with WASI errno numbers),
// and mounts at the guest's root "/" and under relative names such as ".".
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import type { Mount, RunOptions } from '../lib/index'
import { rejectsCode, useContext } from './helpers'

// WASI errno numbers
const EBADF = 8
const EEXIST = 20
const EINVAL = 28
const EMFILE = 33
const ENOENT = 44
const ENOTSOCK = 57

describe('WASI', () => {
  const t = useContext()
  let host: string

  beforeEach(() => {
    host = fs.mkdtempSync(path.join(t.workdir, 'host-'))
    fs.writeFileSync(path.join(host, 'a.txt'), 'A')
    fs.mkdirSync(path.join(host, 'sub'))
  })

  async function edge(args: string[], mounts: Mount[] = [{ source: host, target: '/d' }], opts: RunOptions = {}) {
    const r = await t.ctx.run('wasi-edge.wasm', { args, mounts, ...opts })
    assert.equal(r.stderr?.toString(), '')
    assert.deepEqual([r.reason, r.exitCode], ['exit', 0], r.stdout?.toString())
    return r.stdout!.toString()
  }
  const lines = (pairs: [string, number][]) => pairs.map(([k, v]) => `${k} ${v}\n`).join('')

  describe('preopens (wasi_preopen.c)', () => {
    it('a preopen can be closed: it then is no preopen and no fd (WAMR: ENOTSUP)', async () => {
      assert.equal(await edge(['close-preopen', '/d']), lines([['close', 0], ['prestat', EBADF], ['fdstat', EBADF]]))
    })

    it('fd_renumber onto a preopen replaces it with the renumbered fd (WAMR: ENOTSUP)', async () => {
      assert.equal(
        await edge(['renumber-onto', '/d']),
        lines([['open', 0], ['renumber', 0], ['prestat', EBADF], ['fdstat-from', EBADF], ['filestat', 0]]),
      )
    })

    it('fd_renumber of a preopen moves it, with its guest name (WAMR: ENOTSUP)', async () => {
      assert.equal(
        await edge(['renumber-from', '/d']),
        lines([['open', 0], ['renumber', 0], ['name', 0]]) + 'moved /d\n' + lines([['prestat-from', EBADF]]),
      )
    })

    it('fd_renumber(n, n) leaves n open (WAMR: closed it, then used it: the host process crashed)', async () => {
      assert.equal(await edge(['renumber-self']), lines([['renumber', 0]]) + 'still open\n')
    })

    it('renumbering does not let a guest hold more fds than maxOpenFiles (WAMR lost count at each renumber)', async () => {
      // stdio 3 + the preopen 1 + 10 renumbered + opened until EMFILE = 16
      assert.equal(await edge(['fd-count', '/d', '10'], undefined, { maxOpenFiles: 16 }), `open 16 ${EMFILE}\n`)
    })

    it('preopens show their guest names, the root first', async () => {
      const other = fs.mkdtempSync(path.join(t.workdir, 'other-'))
      const out = await edge(['preopens'], [
        { source: other, target: '/x' },
        { source: host, target: '/' },
        { source: other, target: '.' },
      ])
      assert.equal(out, '3 /\n4 /x\n5 .\n')
    })
  })

  describe('argument checks (wasi_checks.c)', () => {
    it('fd_filestat_set_times: ATIM with ATIM_NOW and MTIM with MTIM_NOW are EINVAL (WAMR accepted them)', async () => {
      assert.equal(
        await edge(['set-times', '/d', 'f']),
        lines([['create', 0], ['atim+now', EINVAL], ['mtim+now', EINVAL], ['atim', 0]]),
      )
      assert.equal(fs.statSync(path.join(host, 'f')).atimeMs, 1000, 'ATIM alone still sets the time')
    })

    it('sock_shutdown of a non-socket is ENOTSOCK (WAMR: success), of no fd EBADF', async () => {
      assert.equal(await edge(['shutdown']), lines([['stdout', ENOTSOCK], ['badfd', EBADF]]))
    })

    it('path_symlink: a link path with a trailing slash is ENOENT, or EEXIST when it exists (was created)', async () => {
      assert.equal(
        await edge(['symlink-slash', '/d']),
        lines([['missing/', ENOENT], ['mkdir', 0], ['dir/', EEXIST], ['dir', EEXIST]]),
      )
      assert.deepEqual(fs.readdirSync(host).sort(), ['a.txt', 'sub', 'target'])
      assert.ok(fs.lstatSync(path.join(host, 'target')).isDirectory())
    })
  })

  describe("mounts at '/' and '.'", () => {
    it("a mount at '/' is the guest's root; mounts nested under it still win for their paths", async () => {
      const data = fs.mkdtempSync(path.join(t.workdir, 'data-'))
      fs.writeFileSync(path.join(data, 'x'), 'from data')
      fs.mkdirSync(path.join(host, 'data'))
      fs.writeFileSync(path.join(host, 'data', 'x'), 'hidden')
      const mounts = [
        { source: data, target: '/data' },
        { source: host, target: '/' },
      ]
      const ls = await t.ctx.run('fs.wasm', { args: ['ls', '/'], mounts })
      assert.equal(ls.stdout?.toString(), 'a.txt\ndata\nsub\n')
      const read = await t.ctx.run('fs.wasm', { args: ['read', '/data/x'], mounts })
      assert.equal(read.stdout?.toString(), 'from data')
      const rel = await t.ctx.run('fs.wasm', { args: ['read', 'a.txt'], mounts })
      assert.equal(rel.stdout?.toString(), 'A', 'relative paths resolve from /')
      const w = await t.ctx.run('fs.wasm', { args: ['write', '/new.txt', 'n'], mounts })
      assert.equal(w.stdout?.toString(), 'ok\n')
      assert.equal(fs.readFileSync(path.join(host, 'new.txt'), 'utf8'), 'n')
    })

    it("a read-only mount at '/' (and '//' normalized) refuses writes", async () => {
      const r = await t.ctx.run('fs.wasm', { args: ['write', '/ro.txt', 'x'], mounts: [{ source: host, target: '//', readonly: true }] })
      assert.equal(r.exitCode, 1)
      assert.match(r.stdout?.toString() ?? '', /^error: /)
      assert.ok(!fs.existsSync(path.join(host, 'ro.txt')))
    })

    it("'/' with the filesystem capability, or one target twice, is ERR_OCRE_INVALID_MOUNT; nothing is created", async () => {
      await rejectsCode(
        t.ctx.create({ image: 'fs.wasm', id: 'two-roots', capabilities: ['filesystem'], mounts: [{ source: host, target: '/' }] }),
        'ERR_OCRE_INVALID_MOUNT',
        /filesystem capability's directory is already the guest's \//,
      )
      assert.ok(!fs.existsSync(path.join(t.workdir, 'containers', 'two-roots')))
      await rejectsCode(
        t.ctx.create({ image: 'fs.wasm', mounts: [{ source: host, target: '/d' }, { source: host, target: '/d/' }] }),
        'ERR_OCRE_INVALID_MOUNT',
        /destination \/d is mounted twice/,
      )
      await rejectsCode(
        t.ctx.create({ image: 'fs.wasm', mounts: [{ source: host, target: '/' }, { source: host, target: '//' }] }),
        'ERR_OCRE_INVALID_MOUNT',
        /destination \/ is mounted twice/,
      )
      for (const target of ['/data/../x', './x', 'a/..', '..'])
        await rejectsCode(
          t.ctx.create({ image: 'fs.wasm', mounts: [{ source: host, target }] }),
          'ERR_OCRE_INVALID_MOUNT',
          /must not contain \. or \.\. components/,
        )
      assert.equal(t.ctx.size, 0)
    })

    it("the filesystem capability's directory with a nested mount", async () => {
      const r = await t.ctx.run('fs.wasm', {
        args: ['read', '/d/a.txt'],
        capabilities: ['filesystem'],
        mounts: [{ source: host, target: '/d' }],
      })
      assert.equal(r.stdout?.toString(), 'A')
    })

    it("a mount at '.' is a preopen named '.': a guest that looks it up by that name lists the directory", async () => {
      // what an older wasi-libc does: relative paths only match a preopen named "."
      assert.equal(await edge(['ls-preopen', '.'], [{ source: host, target: '.' }]), 'a.txt\nsub\n')
      assert.equal(await edge(['preopens'], [{ source: host, target: './' }]), '3 .\n')
      // without it, such a guest finds nothing
      const none = await t.ctx.run('wasi-edge.wasm', { args: ['ls-preopen', '.'], mounts: [{ source: host, target: '/' }] })
      assert.deepEqual([none.exitCode, none.stdout?.toString()], [1, 'no preopen .\n'])
      // today's wasi-libc resolves relative paths through it too
      const ls = await t.ctx.run('fs.wasm', { args: ['ls', '.'], mounts: [{ source: host, target: '.' }] })
      assert.equal(ls.stdout?.toString(), 'a.txt\nsub\n')
    })

    it('other relative names are preopens under that name', async () => {
      assert.equal(await edge(['ls-preopen', 'data'], [{ source: host, target: 'data' }]), 'a.txt\nsub\n')
    })
  })
})

// Issue #7 item 3: the sandbox, through the JavaScript path (the C level is in
// native/test/test_fs.c). fs.wasm prints "error: <strerror>" and exits 1 on
// any failed file operation; args-env.wasm prints its argv and environment.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { useContext } from '../helpers'

const SECRET = 'host-secret-4f1c\n'

describe('reliability: sandbox through the JS path', function () {
  this.timeout(30_000)
  const t = useContext()
  let host: string // <host>/secret.txt, <host>/outside/, <host>/data/ (the mount)
  let data: string

  before(() => {
    host = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-sandbox-')))
    fs.writeFileSync(path.join(host, 'secret.txt'), SECRET)
    fs.mkdirSync(path.join(host, 'outside'))
    fs.writeFileSync(path.join(host, 'outside', 'other.txt'), SECRET)
    data = path.join(host, 'data')
    fs.mkdirSync(data)
    fs.writeFileSync(path.join(data, 'inside.txt'), 'inside\n')
    fs.symlinkSync(path.join(host, 'secret.txt'), path.join(data, 'link-file'))
    fs.symlinkSync(path.join(host, 'outside'), path.join(data, 'link-dir'))
    fs.symlinkSync('../secret.txt', path.join(data, 'link-rel'))
  })
  after(() => fs.rmSync(host, { recursive: true, force: true }))

  async function fsRun(args: string[], opts: Record<string, unknown> = {}) {
    const r = await t.ctx.run('fs.wasm', { args, ...opts })
    return { code: r.exitCode, reason: r.reason, out: r.stdout!.toString(), err: r.stderr!.toString() }
  }

  function denied(r: { code: number; out: string; reason: string }, what: string): void {
    assert.equal(r.reason, 'exit', what)
    assert.equal(r.code, 1, `${what}: ${r.out}`)
    assert.match(r.out, /^error: /, what)
    assert.ok(!r.out.includes('host-secret'), `${what} leaked the secret`)
  }

  it('with no capabilities and no mounts, no host file or directory can be opened', async () => {
    const targets = [
      path.join(host, 'secret.txt'),
      '/etc/passwd',
      '/',
      '.',
      '..',
      '../../../../etc/passwd',
      `/proc/self/environ`,
      t.workdir,
      path.join(t.workdir, 'images', 'fs.wasm'),
    ]
    for (const p of targets) {
      denied(await fsRun(['read', p]), `read ${p}`)
      denied(await fsRun(['ls', p]), `ls ${p}`)
      denied(await fsRun(['stat', p]), `stat ${p}`)
    }
    denied(await fsRun(['write', '/tmp/ocre-sandbox-should-not-exist', 'x']), 'write /tmp')
    assert.equal(fs.existsSync('/tmp/ocre-sandbox-should-not-exist'), false)
  })

  it('a mounted directory cannot be left by "..", an absolute path, or a symlink that points outside', async () => {
    const mounts = [{ source: data, target: '/data' }]
    const ok = await fsRun(['read', '/data/inside.txt'], { mounts })
    assert.deepEqual([ok.code, ok.out], [0, 'inside\n'])
    for (const p of [
      '/data/../secret.txt',
      '/data/../../secret.txt',
      '/data/../../../../../../etc/passwd',
      '/data/./../secret.txt',
      '/data/link-file',
      '/data/link-rel',
      '/data/link-dir/other.txt',
      'data/../secret.txt',
      '../secret.txt',
      path.join(host, 'secret.txt'),
      '/etc/passwd',
    ]) {
      denied(await fsRun(['read', p], { mounts }), `read ${p}`)
    }
    denied(await fsRun(['ls', '/data/..'], { mounts }), 'ls /data/..')
    denied(await fsRun(['ls', '/data/link-dir'], { mounts }), 'ls /data/link-dir')
    // writing through an escaping path or symlink changes nothing outside
    for (const p of ['/data/link-file', '/data/../secret.txt', '/data/link-dir/new.txt', '/data/link-rel']) {
      const r = await fsRun(['write', p, 'pwned'], { mounts })
      assert.notEqual(r.code, 0, `write ${p} succeeded: ${r.out}`)
    }
    assert.equal(fs.readFileSync(path.join(host, 'secret.txt'), 'utf8'), SECRET)
    assert.deepEqual(fs.readdirSync(path.join(host, 'outside')), ['other.txt'])
  })

  it('a read-only mount rejects every kind of write and leaves the directory unchanged', async () => {
    const mounts = [{ source: data, target: '/data', readonly: true }]
    const before = fs.readdirSync(data).sort()
    assert.deepEqual((await fsRun(['read', '/data/inside.txt'], { mounts })).out, 'inside\n')
    for (const args of [
      ['write', '/data/inside.txt', 'changed'],
      ['append', '/data/inside.txt', 'more'],
      ['write', '/data/new.txt', 'new'],
      ['mkdir', '/data/newdir'],
      ['rm', '/data/inside.txt'],
    ]) {
      denied(await fsRun(args, { mounts }), args.join(' '))
    }
    assert.equal(fs.readFileSync(path.join(data, 'inside.txt'), 'utf8'), 'inside\n')
    assert.deepEqual(fs.readdirSync(data).sort(), before)
  })

  it('filesystem containers cannot see each other’s private directories', async () => {
    const opts = (id: string) => ({ id, capabilities: ['filesystem' as const], stdio: 'pipe' as const })
    const a = await t.ctx.create({ image: 'fs.wasm', args: ['write', '/a-secret.txt', 'alpha'], ...opts('box-a') })
    assert.equal((await a.start()).exitCode, 0)
    const b = await t.ctx.create({ image: 'fs.wasm', args: ['write', '/b-secret.txt', 'beta'], ...opts('box-b') })
    assert.equal((await b.start()).exitCode, 0)
    for (const [args, what] of [
      [['read', '/a-secret.txt'], 'same path'],
      [['read', '/../box-a/a-secret.txt'], 'sibling by ..'],
      [['read', '../box-a/a-secret.txt'], 'relative sibling'],
      [['read', path.join(t.workdir, 'containers', 'box-a', 'a-secret.txt')], 'host path'],
    ] as [string[], string][]) {
      const r = await fsRun(args, { capabilities: ['filesystem'] })
      denied(r, what)
      assert.ok(!r.out.includes('alpha'), what)
    }
    const ls = await fsRun(['ls', '/'], { capabilities: ['filesystem'] })
    assert.equal(ls.code, 0)
    assert.equal(ls.out, '', 'a fresh container sees an empty private /')
    const lsUp = await fsRun(['ls', '/..'], { capabilities: ['filesystem'] })
    assert.ok(!/box-a|box-b/.test(lsUp.out), `ls /.. shows siblings: ${lsUp.out}`)
    await a.remove()
    await b.remove()
  })

  it('env and args of one container are invisible to another running at the same time', async () => {
    const secret = { env: { TOKEN: 'tok-91b2', PASSWORD: 'pw-77aa' }, args: ['--key', 'arg-5c3d'] }
    const [mine, other] = await Promise.all([
      t.ctx.run('args-env.wasm', secret),
      t.ctx.run('args-env.wasm', { env: { ONLY: 'mine' }, args: ['x'] }),
    ])
    const seen = mine.stdout!.toString()
    assert.match(seen, /env:TOKEN=tok-91b2/)
    assert.match(seen, /argv\[2\]=arg-5c3d/)
    const out = other.stdout!.toString()
    assert.equal(out, 'argc=2\nargv[0]=args-env.wasm\nargv[1]=x\nenv:ONLY=mine\n')
    // and the host's own environment never leaks in
    const bare = (await t.ctx.run('args-env.wasm')).stdout!.toString()
    assert.equal(bare, 'argc=1\nargv[0]=args-env.wasm\n')
  })
})

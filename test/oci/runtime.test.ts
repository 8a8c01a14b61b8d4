// ocre-oci driven directly, as an engine drives it (create, start, state,
// kill, delete, ...), on hand-made bundles in a temp --root. The container
// process inherits create's stdout/stderr pipes, so the end of its output
// (the pipes closing) is the event that says it has exited. Exit statuses
// are checked under Podman (podman.test.ts): only a subreaper such as conmon
// can collect them.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ociRuntimePath } from '../../lib/oci-runtime'
import { builtProgram } from '../../lib/programs'
import { FIXTURES, ROOT, readAll, settles, waitForOutput } from '../helpers'

const BIN = ociRuntimePath()

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

describe('ocre-oci (the OCI runtime, driven directly)', function () {
  let tmp: string
  let root: string
  let seq = 0

  before(function () {
    if (!BIN) {
      console.log('      skipped: ocre-oci is not built (it needs libcjson-dev when the package is built)')
      this.skip()
    }
  })
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-oci-'))
    root = path.join(tmp, 'state')
  })
  /** Whether @p pid has ended (a zombie counts: its parent may be an init that does not reap). */
  function ended(pid: number): boolean {
    try {
      return /^\d+ \(.*\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
    } catch {
      return true
    }
  }
  const listRoot = (): string[] => (fs.existsSync(root) ? fs.readdirSync(root) : [])

  afterEach(() => {
    // whatever a failed test left running
    for (const id of listRoot()) oci('delete', '--force', id)
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  function oci(...args: string[]): Run {
    return ociEnv({}, ...args)
  }
  function ociEnv(env: NodeJS.ProcessEnv, ...args: string[]): Run {
    const r = spawnSync(BIN!, ['--root', root, ...args], { encoding: 'utf8', env: { ...process.env, ...env } })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr }
  }

  /** A bundle whose rootfs holds every fixture; `config` is merged over a minimal config.json. */
  function bundle(config: Record<string, unknown> = {}, process: Record<string, unknown> = {}): string {
    const dir = path.join(tmp, `bundle${seq++}`)
    fs.mkdirSync(path.join(dir, 'rootfs'), { recursive: true })
    for (const f of fs.readdirSync(FIXTURES))
      if (f.endsWith('.wasm')) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, 'rootfs', f))
    const doc = {
      ociVersion: '1.0.2',
      root: { path: 'rootfs' },
      process: { args: ['/hello.wasm'], cwd: '/', env: ['PATH=/'], ...process },
      ...config,
    }
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(doc))
    return dir
  }

  /** `create` with piped stdio that the container process inherits. */
  async function create(
    id: string,
    dir: string,
    extra: string[] = [],
    stdin: number | 'ignore' = 'ignore',
  ): Promise<{ proc: ChildProcess; out: Promise<Buffer>; err: Promise<Buffer>; code: number | null }> {
    const proc = spawn(BIN!, ['--root', root, 'create', '--bundle', dir, ...extra, id], {
      stdio: [stdin, 'pipe', 'pipe'],
    })
    const out = readAll(proc.stdout!)
    const err = readAll(proc.stderr!)
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)))
    return { proc, out, err, code }
  }

  function state(id: string): { status: string; pid: number; bundle: string; annotations: Record<string, string> } {
    const r = oci('state', id)
    assert.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout)
  }

  it('`ocre oci-path` prints its absolute path (OCRE_OCI overrides it)', () => {
    const cli = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'lib', 'cli', 'main.ts'), 'oci-path'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, ...env },
      })
    const r = cli({ OCRE_OCI: '' })
    assert.equal(r.status, 0, r.stderr)
    // a source build's, else the prebuild's beside the addon
    const expected = builtProgram('ocre-oci') ?? path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, 'ocre-oci')
    assert.equal(r.stdout, `${expected}\n`)
    assert.ok(path.isAbsolute(r.stdout.trim()))
    assert.equal(cli({ OCRE_OCI: '/opt/ocre-oci' }).stdout, '/opt/ocre-oci\n')
  })

  it('prints its version and features', () => {
    const v = oci('--version')
    assert.equal(v.status, 0)
    assert.match(v.stdout, /^ocre-oci version \d+\.\d+\.\d+\nspec: 1\.0\.2\nocre: /)
    const f = oci('features')
    assert.equal(f.status, 0)
    const doc = JSON.parse(f.stdout)
    assert.equal(doc.ociVersionMax, '1.0.2')
    assert.deepEqual(doc.mountOptions, ['bind', 'rbind', 'ro', 'rw'])
  })

  it('create leaves the process waiting; start runs it with args and env; state follows; delete removes it', async () => {
    const dir = bundle({ annotations: { team: 'a' } }, { args: ['/args-env.wasm', 'x', 'y z'], env: ['A=1', 'PATH=/'] })
    const pidFile = path.join(tmp, 'pid')
    const c = await create('c1', dir, ['--pid-file', pidFile])
    assert.equal(c.code, 0, c.code ? (await c.err).toString() : '')
    const s = state('c1')
    assert.equal(s.status, 'created')
    assert.equal(Number(fs.readFileSync(pidFile, 'utf8')), s.pid)
    assert.equal(s.bundle, fs.realpathSync(dir))
    assert.deepEqual(s.annotations, { team: 'a' })
    process.kill(s.pid, 0) // alive

    const r = oci('start', 'c1')
    assert.equal(r.status, 0, r.stderr)
    const out = (await settles(c.out, 'container output')).toString()
    assert.equal(out, 'argc=3\nargv[0]=args-env.wasm\nargv[1]=x\nargv[2]=y z\nenv:A=1\nenv:PATH=/\n')
    await c.err
    await new Promise<void>((resolve) => {
      // the pipes closed when the container process exited; it may still be a zombie for an instant
      const check = (): void => (state('c1').status === 'stopped' ? resolve() : void setImmediate(check))
      check()
    })
    assert.equal(state('c1').pid, 0)
    assert.equal(oci('start', 'c1').status, 1)
    assert.equal(oci('delete', 'c1').status, 0)
    const gone = oci('state', 'c1')
    assert.equal(gone.status, 1)
    assert.match(gone.stderr, /^ocre-oci: container "c1" does not exist\n$/)
    assert.deepEqual(listRoot(), [])
    assert.ok(fs.existsSync(path.join(dir, 'rootfs', 'args-env.wasm')), 'the rootfs is left alone')
  })

  it('kill TERM asks a running container to stop: its stdin reaches end-of-file', async () => {
    // stdin: a FIFO this test holds open for writing (Node would close a 'pipe' when create exits)
    const fifo = path.join(tmp, 'stdin')
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    const fd = fs.openSync(fifo, 'r+')
    const c = await create('term', bundle({}, { args: ['/stdin-close.wasm'] }), [], fd)
    assert.equal(c.code, 0)
    assert.equal(oci('start', 'term').status, 0)
    assert.equal(state('term').status, 'running')
    assert.equal(oci('kill', 'term', 'TERM').status, 0)
    assert.equal((await settles(c.out, 'output after TERM')).toString(), 'eof after 0 bytes\n')
    fs.closeSync(fd)
  })

  it('kill KILL ends a running container at once; other signals are refused clearly', async () => {
    const c = await create('k', bundle({}, { args: ['/sleeper.wasm', '100'] }))
    assert.equal(oci('start', 'k').status, 0)
    await waitForOutput(c.proc.stdout!, /sleeping/)
    const usr = oci('kill', 'k', 'USR1')
    assert.equal(usr.status, 1)
    assert.match(usr.stderr, /cannot send signal USR1 .* takes TERM, INT, HUP or QUIT \(stop\) and KILL/)
    assert.equal(oci('kill', 'k', 'WINCH').status, 0) // a terminal resize: nothing to do
    const ps = oci('ps', '--format', 'json', 'k')
    assert.deepEqual(JSON.parse(ps.stdout), [state('k').pid])
    assert.equal(oci('kill', 'k', '9').status, 0)
    await settles(c.out, 'end after KILL')
    await new Promise<void>((resolve) => {
      const check = (): void => (state('k').status === 'stopped' ? resolve() : void setImmediate(check))
      check()
    })
    const again = oci('kill', 'k', 'KILL')
    assert.equal(again.status, 1)
    assert.match(again.stderr, /container not running/)
  })

  it('a stop signal before start ends the waiting process; delete of a created container kills it', async () => {
    const a = await create('a', bundle())
    assert.equal(oci('kill', 'a').status, 0)
    await settles(a.out, 'end of a created container after TERM')
    const b = await create('b', bundle())
    const pid = state('b').pid
    assert.equal(oci('delete', 'b').status, 0)
    assert.ok(ended(pid))
    await b.out
  })

  it('delete refuses a running container without --force, and kills it with --force', async () => {
    const c = await create('r', bundle({}, { args: ['/sleeper.wasm', '100'] }))
    assert.equal(oci('start', 'r').status, 0)
    const pid = state('r').pid
    const d = oci('delete', 'r')
    assert.equal(d.status, 1)
    assert.match(d.stderr, /cannot delete container "r" that is not stopped: running \(use --force\)/)
    assert.equal(oci('delete', '--force', 'r').status, 0)
    assert.ok(ended(pid))
    await c.out
    assert.equal(oci('delete', '--force', 'r').status, 0) // gone: --force is quiet, as runc's
    assert.equal(oci('delete', 'r').status, 1)
  })

  it('the container process keeps no fd beyond stdio from the engine (its pipes see EOF when create exits)', async () => {
    const proc = spawn(BIN!, ['--root', root, 'create', '--bundle', bundle({}, { args: ['/sleeper.wasm'] }), 'fds'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    })
    // only create held fd 3: it ends with create, while the container process waits for start
    await settles(readAll(proc.stdio[3] as NodeJS.ReadableStream as import('node:stream').Readable), 'EOF on fd 3')
    assert.equal(state('fds').status, 'created')
  })

  it('list shows the containers; ids are unique', async () => {
    const c = await create('one', bundle())
    assert.equal(c.code, 0)
    const dup = await create('one', bundle())
    assert.equal(dup.code, 1)
    assert.match((await dup.err).toString(), /container "one" already exists/)
    const list = JSON.parse(oci('list', '--format', 'json').stdout)
    assert.deepEqual(
      list.map((e: { id: string; status: string }) => [e.id, e.status]),
      [['one', 'created']],
    )
  })

  it('bad bundles fail create with one clear line and leave nothing behind', async () => {
    const cases: [string, (dir: string) => void, RegExp][] = [
      ['malformed', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"ociVersion":'), /malformed JSON at byte/],
      ['noconfig', (d) => fs.rmSync(path.join(d, 'config.json')), /cannot open .*config\.json: No such file/],
      [
        'native',
        (d) => {
          fs.writeFileSync(path.join(d, 'rootfs', 'tool'), '#!/bin/sh\n')
          edit(d, (c) => (c.process.args = ['/tool']))
        },
        /\/tool is not a WebAssembly module: ocre-oci runs wasm images only/,
      ],
      ['terminal', (d) => edit(d, (c) => (c.process.terminal = true)), /process\.terminal is true but no --console-socket/],
      ['escape', (d) => edit(d, (c) => (c.root.path = '../..')), /root\.path \.\.\/\.\. resolves to .*, outside/],
    ]
    for (const [name, spoil, expect] of cases) {
      const dir = bundle()
      spoil(dir)
      const c = await create(`bad-${name}`, dir)
      assert.equal(c.code, 1, name)
      const err = (await c.err).toString()
      assert.match(err, /^ocre-oci: create bad-\S+: .*\n$/, name)
      assert.match(err, expect, name)
      assert.deepEqual(listRoot(), [], `${name}: no state left`)
    }
    // a module WAMR refuses fails create too, with the engine's reason
    const dir = bundle()
    fs.writeFileSync(path.join(dir, 'rootfs', 'broken.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]))
    edit(dir, (c) => (c.process.args = ['/broken.wasm']))
    const c = await create('broken', dir)
    assert.equal(c.code, 1)
    assert.match((await c.err).toString(), /^ocre-oci: create broken: image broken\.wasm: .+\n$/)
    assert.deepEqual(listRoot(), [])
  })

  it('--log with --log-format json records errors as JSON lines', () => {
    const log = path.join(tmp, 'log.json')
    const r = spawnSync(BIN!, ['--root', root, '--log', log, '--log-format', 'json', 'state', 'nope'], {
      encoding: 'utf8',
    })
    assert.equal(r.status, 1)
    const line = JSON.parse(fs.readFileSync(log, 'utf8').trim())
    assert.equal(line.level, 'error')
    assert.equal(line.msg, 'container "nope" does not exist')
    assert.match(line.time, /^\d{4}-\d\d-\d\dT/)
  })

  it('usage errors name the problem and exit 1', () => {
    for (const [args, expect] of [
      [['exec', 'x', 'sh'], /"exec" is not supported/],
      [['create'], /create: a container id is required/],
      [['start', 'a/b'], /invalid container id "a\/b"/],
      [['kill', 'x', 'NOPE'], /unknown signal "NOPE"/],
    ] as [string[], RegExp][]) {
      const r = oci(...args)
      assert.equal(r.status, 1, args.join(' '))
      assert.match(r.stderr, expect)
    }
  })

  it("maps the guest's / to root.path, read-only when root.readonly is set", async () => {
    const rw = bundle({}, { args: ['/fs.wasm', 'write', '/out.txt', 'written'] })
    const c = await create('rw', rw)
    assert.equal(oci('start', 'rw').status, 0)
    assert.equal((await settles(c.out, 'write output')).toString(), 'ok\n')
    assert.equal(fs.readFileSync(path.join(rw, 'rootfs', 'out.txt'), 'utf8'), 'written')
    assert.equal(oci('delete', 'rw').status, 0)
    assert.ok(fs.existsSync(path.join(rw, 'rootfs', 'fs.wasm')), 'delete leaves the rootfs alone')

    const ro = bundle({ root: { path: 'rootfs', readonly: true } }, { args: ['/fs.wasm', 'write', '/out.txt', 'x'] })
    const d = await create('ro', ro)
    assert.equal(oci('start', 'ro').status, 0)
    assert.equal((await settles(d.out, 'write output')).toString(), 'error: Read-only file system\n')
    assert.ok(!fs.existsSync(path.join(ro, 'rootfs', 'out.txt')))
  })

  it('runs unprivileged too, in a user namespace of its own (as nobody, through setpriv)', async function () {
    if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).error) {
      console.log('      skipped: needs root and setpriv to switch to nobody')
      return this.skip()
    }
    const dir = bundle({}, { args: ['/fs.wasm', 'write', '/by-nobody.txt', 'hi'] })
    fs.chmodSync(tmp, 0o755)
    fs.mkdirSync(path.join(tmp, 'nobody'))
    assert.equal(spawnSync('chown', ['-R', 'nobody', dir, path.join(tmp, 'nobody')]).status, 0)
    const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', BIN!, '--root', path.join(tmp, 'nobody')]
    const proc = spawn('setpriv', [...asNobody, 'create', '--bundle', dir, 'nb'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out = readAll(proc.stdout!)
    const err = readAll(proc.stderr!)
    const code = await new Promise((resolve) => proc.on('exit', resolve))
    assert.equal(code, 0, code ? (await err).toString() : '')
    assert.equal(spawnSync('setpriv', [...asNobody, 'start', 'nb']).status, 0)
    assert.equal((await settles(out, 'output as nobody')).toString(), 'ok\n')
    assert.equal(fs.statSync(path.join(dir, 'rootfs', 'by-nobody.txt')).uid, 65534)
    assert.equal(spawnSync('setpriv', [...asNobody, 'delete', 'nb']).status, 0)
  })

  it('honours linux.resources.memory.limit as the container memory limit', async () => {
    const c = await create(
      'mem',
      bundle({ linux: { resources: { memory: { limit: 1048576 } } } }, { args: ['/trap.wasm', 'grow'] }),
    )
    assert.equal(oci('start', 'mem').status, 0)
    const out = (await settles(c.out, 'grow output')).toString()
    const m = /grew (\d+) pages/.exec(out)
    assert.ok(m, out)
    assert.ok(Number(m![1]) <= 16, out) // 1 MiB = 16 pages of 64 KiB
  })

  it('hands native images to the runtime in OCRE_OCI_DELEGATE, for every command on them', () => {
    const dir = bundle({}, { args: ['/native'] })
    fs.writeFileSync(path.join(dir, 'rootfs', 'native'), '\x7fELF')
    const log = path.join(tmp, 'delegate.log')
    const delegate = path.join(tmp, 'delegate.sh')
    fs.writeFileSync(
      delegate,
      `#!/bin/sh\necho "$*" >> ${log}\ncase "$*" in *state*) echo '{"status":"running"}';; esac\n` +
        `case "$*" in *fail*) exit 3;; esac\n`,
      { mode: 0o755 },
    )
    const refused = oci('create', '--bundle', dir, 'n1')
    assert.equal(refused.status, 1)
    assert.match(refused.stderr, /\/native is not a WebAssembly module: .*set OCRE_OCI_DELEGATE to crun or runc/)
    const bad = ociEnv({ OCRE_OCI_DELEGATE: 'crun' }, 'create', '--bundle', dir, 'n1')
    assert.match(bad.stderr, /OCRE_OCI_DELEGATE=crun is not an absolute path of an executable/)
    assert.deepEqual(listRoot(), [])

    const env = { OCRE_OCI_DELEGATE: delegate }
    const logFile = path.join(tmp, 'oci.log')
    const r = spawnSync(BIN!, ['--log', logFile, '--root', root, '--systemd-cgroup', 'create', '--bundle', dir, 'n1'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    })
    assert.equal(r.status, 0, r.stderr)
    // later commands go to the delegate without the variable: the container records it
    assert.equal(oci('state', 'n1').stdout, '{"status":"running"}\n')
    assert.equal(oci('kill', 'n1', 'KILL').status, 0)
    assert.equal(oci('delete', 'n1').status, 0)
    assert.deepEqual(listRoot(), ['.delegate'].filter((d) => fs.existsSync(path.join(root, d))))
    const d = `--root ${root}/.delegate`
    assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), [
      `${d} --log ${logFile} --systemd-cgroup create --bundle ${dir} n1`,
      `${d} state n1`,
      `${d} kill n1 KILL`,
      `${d} delete n1`,
    ])
    // a failing delegate create leaves nothing of ours behind, and its status is the answer
    const failed = ociEnv(env, 'create', '--bundle', dir, 'fail')
    assert.equal(failed.status, 3)
    assert.ok(!fs.existsSync(path.join(root, 'fail')))
  })

  function edit(dir: string, change: (c: any) => void): void {
    const file = path.join(dir, 'config.json')
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'))
    change(doc)
    fs.writeFileSync(file, JSON.stringify(doc))
  }
})

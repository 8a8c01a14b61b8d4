// Podman running wasm images through ocre-oci (`podman run --runtime
// ocre-oci`), as with crun for native images: output, exit codes, -d/ps/logs,
// stop -t, kill, wait, rm, --rm, -e, -v ...:ro, -t. Everything Podman keeps
// (storage, run root, tmp dir, events) lives in a temp dir removed at the end;
// skipped with a printed reason when podman is not installed.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ociRuntimePath } from '../../lib/oci-runtime'
import { FIXTURES, processesWith, settles, sleep, waitForOutput } from '../helpers'

const BIN = ociRuntimePath()
const IMAGE = 'localhost/ocre-oci-test:wasm'

interface Result {
  status: number | null
  stdout: string
  stderr: string
}

describe('Podman with ocre-oci (podman run --runtime ocre-oci)', function () {
  this.timeout(60000)
  let tmp = ''
  let env: NodeJS.ProcessEnv = {}
  let globals: string[] = []

  function podman(...args: string[]): Result {
    const r = spawnSync('podman', [...globals, ...args], { encoding: 'utf8', env, timeout: 50000 })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  const run = (...args: string[]): Result => podman('run', '--runtime', BIN!, '--network', 'none', ...args)

  before(function () {
    if (!BIN) {
      console.log('      skipped: ocre-oci is not built (it needs libcjson-dev when the package is built)')
      this.skip()
    }
    if (process.getuid?.() !== 0) {
      console.log('      skipped: needs root (rootless Podman is not covered by these tests)')
      this.skip()
    }
    if (spawnSync('podman', ['--version']).error) {
      console.log('      skipped: podman is not installed (apt-get install podman)')
      this.skip()
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-podman-'))
    const storage = path.join(tmp, 'storage.conf')
    fs.writeFileSync(
      storage,
      `[storage]\ndriver = "vfs"\nrunroot = "${tmp}/run"\ngraphroot = "${tmp}/root"\n`,
    )
    fs.mkdirSync(path.join(tmp, 'tmp'))
    env = { ...process.env, CONTAINERS_STORAGE_CONF: storage, TMPDIR: path.join(tmp, 'tmp') }
    globals = [
      '--root', path.join(tmp, 'root'),
      '--runroot', path.join(tmp, 'run'),
      '--tmpdir', path.join(tmp, 'libpod'),
      '--storage-driver', 'vfs',
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file',
    ]
    // the image: a root file system holding the fixtures, and a native file
    const rootfs = path.join(tmp, 'rootfs')
    fs.mkdirSync(rootfs)
    for (const f of fs.readdirSync(FIXTURES)) if (f.endsWith('.wasm')) fs.copyFileSync(path.join(FIXTURES, f), path.join(rootfs, f))
    fs.writeFileSync(path.join(rootfs, 'native'), '#!/bin/sh\necho native\n', { mode: 0o755 })
    const tar = path.join(tmp, 'rootfs.tar')
    assert.equal(spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']).status, 0)
    const imp = podman('import', tar, IMAGE)
    assert.equal(imp.status, 0, imp.stderr)
  })

  after(async function () {
    if (!tmp) return
    podman('rm', '--all', '--force', '--time', '0')
    podman('rmi', '--all', '--force')
    // conmon and its exit commands outlive `podman rm` briefly: let them finish before removing their files
    for (let i = 0; i < 200 && processesWith(tmp).length; i++) await sleep(50)
    // podman mounts a tmpfs per container (its /dev/shm) under the run root: none may be left
    const left = fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m && m.startsWith(tmp))
    for (const m of left.reverse()) spawnSync('umount', [m])
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 })
  })

  it('run prints the module output and returns its exit code', () => {
    const hello = run('--rm', IMAGE, '/hello.wasm')
    assert.equal(hello.status, 0, hello.stderr)
    assert.equal(hello.stdout, 'Hello from WebAssembly!\n')
    const seven = run('--rm', IMAGE, '/exit-code.wasm', '7')
    assert.equal(seven.status, 7, seven.stderr)
  })

  it('run passes args and -e environment variables', () => {
    const r = run('--rm', '-e', 'GREETING=hi there', IMAGE, '/args-env.wasm', 'a', 'b c')
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^argc=3\nargv\[0\]=args-env\.wasm\nargv\[1\]=a\nargv\[2\]=b c\n/)
    assert.match(r.stdout, /^env:GREETING=hi there$/m)
    assert.match(r.stdout, /^env:container=podman$/m)
  })

  it('-v host:guest mounts a directory, and :ro makes it read-only', () => {
    const vol = path.join(tmp, 'vol')
    fs.mkdirSync(vol, { recursive: true })
    fs.writeFileSync(path.join(vol, 'in.txt'), 'from the host')
    const read = run('--rm', '-v', `${vol}:/data:ro`, IMAGE, '/fs.wasm', 'read', '/data/in.txt')
    assert.equal(read.status, 0, read.stderr)
    assert.equal(read.stdout, 'from the host')
    const denied = run('--rm', '-v', `${vol}:/data:ro`, IMAGE, '/fs.wasm', 'write', '/data/out.txt', 'x')
    assert.equal(denied.status, 1)
    assert.match(denied.stdout, /^error: /)
    assert.ok(!fs.existsSync(path.join(vol, 'out.txt')))
    const rw = run('--rm', '-v', `${vol}:/data`, IMAGE, '/fs.wasm', 'write', '/data/out.txt', 'written')
    assert.equal(rw.status, 0, rw.stderr)
    assert.equal(fs.readFileSync(path.join(vol, 'out.txt'), 'utf8'), 'written')
  })

  it('--read-only makes the image read-only for the module', () => {
    const denied = run('--rm', '--read-only', IMAGE, '/fs.wasm', 'write', '/out.txt', 'x')
    assert.equal(denied.status, 1)
    assert.equal(denied.stdout, 'error: Read-only file system\n')
    const read = run('--rm', '--read-only', IMAGE, '/fs.wasm', 'stat', '/hello.wasm')
    assert.equal(read.status, 0, read.stderr)
    assert.match(read.stdout, /^file \d+\n$/)
  })

  it('run -d, ps, logs, stop -t (killed after the timeout: 137), wait, rm', async () => {
    const d = run('-d', IMAGE, '/sleeper.wasm', '100')
    assert.equal(d.status, 0, d.stderr)
    const id = d.stdout.trim()
    const logs = spawn('podman', [...globals, 'logs', '-f', id], { env })
    await settles(waitForOutput(logs.stdout, /sleeping\n/), 'podman logs -f')
    logs.kill()
    const ps = podman('ps', '--format', '{{.ID}} {{.Status}}', '--filter', `id=${id}`)
    assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} Up `))
    const stop = podman('stop', '-t', '1', id)
    assert.equal(stop.status, 0, stop.stderr)
    const wait = podman('wait', id)
    assert.equal(wait.stdout.trim(), '137')
    assert.equal(podman('ps', '-a', '--format', '{{.Status}}', '--filter', `id=${id}`).stdout.startsWith('Exited (137)'), true)
    assert.equal(podman('logs', id).stdout, 'sleeping\n')
    assert.equal(podman('rm', id).status, 0)
    assert.equal(podman('ps', '-a', '-q', '--filter', `id=${id}`).stdout, '')
  })

  it('stop ends a container that reads stdin at once: it sees end-of-file and exits 0', () => {
    const d = run('-d', '-i', IMAGE, '/stdin-close.wasm')
    const id = d.stdout.trim()
    assert.equal(d.status, 0, d.stderr)
    assert.equal(podman('stop', '-t', '30', id).status, 0)
    assert.equal(podman('wait', id).stdout.trim(), '0')
    assert.equal(podman('logs', id).stdout, 'eof after 0 bytes\n')
    podman('rm', id)
  })

  it('kill ends a running container with 137; wait reports it', () => {
    const d = run('-d', IMAGE, '/sleeper.wasm', '100')
    const id = d.stdout.trim()
    assert.equal(podman('kill', id).status, 0)
    assert.equal(podman('wait', id).stdout.trim(), '137')
    assert.equal(podman('inspect', '--format', '{{.State.ExitCode}}', id).stdout.trim(), '137')
    assert.equal(podman('rm', id).status, 0)
  })

  it('--rm removes the container after it exits; a trap is 134 with its reason on stderr', () => {
    const r = run('--rm', '--name', 'trapper', IMAGE, '/trap.wasm', 'unreachable')
    assert.equal(r.status, 134)
    assert.match(r.stdout, /trap: unreachable/)
    assert.match(r.stderr, /ocre-oci: .*unreachable/)
    assert.equal(podman('ps', '-a', '-q', '--filter', 'name=trapper').stdout, '')
  })

  it('-t gives the module a terminal', () => {
    const r = run('--rm', '-t', IMAGE, '/hello.wasm')
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'Hello from WebAssembly!\r\n')
  })

  it('a native program or a missing module fails clearly, with the codes Podman gives for crun', () => {
    const native = run('--rm', IMAGE, '/native')
    assert.equal(native.status, 126)
    assert.match(native.stderr, /\/native is not a WebAssembly module: ocre-oci runs wasm images only/)
    const missing = run('--rm', IMAGE, '/missing.wasm')
    assert.equal(missing.status, 127)
    assert.match(missing.stderr, /\/missing\.wasm: No such file or directory/)
  })
})

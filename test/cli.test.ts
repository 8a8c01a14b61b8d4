// The `ocre` command line, run as a child process from its TypeScript source
// (node --import tsx lib/cli/main.ts), with a temp --workdir per test. One
// test also runs the real launcher bin/ocre.js on a tsc build. HTTP servers
// listen on 127.0.0.1 only.
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { compilerPath } from '../lib/aot'
import { settles } from './helpers'

const ROOT = path.join(__dirname, '..')
const MAIN = path.join(ROOT, 'lib', 'cli', 'main.ts')
// tsx's loader by URL, so that the CLI can run in any current directory
const TSX = pathToFileURL(require.resolve('tsx')).href
const FIXTURES = path.join(__dirname, 'fixtures')
const fixture = (name: string) => path.join(FIXTURES, name)

interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-cli-'))
}

function start(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

function collect(child: ChildProcess): Promise<Result> {
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

function ocre(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> {
  return collect(start(args, opts))
}

/** Asserts an error of ocre itself: exit 125, exactly one line "ocre: ..." on stderr, no stack. */
function assertOneLineError(r: Result, pattern?: RegExp): void {
  assert.equal(r.code, 125, `exit status (stderr: ${r.stderr})`)
  const lines = r.stderr.split('\n').filter(Boolean)
  assert.equal(lines.length, 1, `one line on stderr, got: ${JSON.stringify(r.stderr)}`)
  assert.match(lines[0], /^ocre: \S/)
  assert.doesNotMatch(r.stderr, /^\s+at /m)
  if (pattern) assert.match(lines[0], pattern)
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

/** Resolves when `text` shows up in the child's stdout (or stderr). */
function waitForOutput(child: ChildProcess, text: string, timeoutMs = 15000, from: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(seen)}`)), timeoutMs)
    child[from]!.on('data', (d) => {
      seen += d
      if (seen.includes(text)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
}

let runtimeProblem: string | null | undefined
/** Null if the runtime (lib/index.ts and the native addon) loads, else why not. */
function runtimeMissing(): string | null {
  if (runtimeProblem === undefined) {
    try {
      execFileSync(process.execPath, ['--import', 'tsx', '-e', `require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))})`], {
        stdio: 'pipe',
        cwd: ROOT,
      })
      runtimeProblem = null
    } catch (err) {
      const msg = String((err as { stderr?: Buffer }).stderr ?? err)
      runtimeProblem = (/^\w*Error(?: \[\w+\])?: .*$/m.exec(msg)?.[0] ?? msg.split('\n')[0]).slice(0, 200)
    }
  }
  return runtimeProblem
}

describe('ocre command line', function () {
  this.timeout(60000)
  let workdir: string
  let w: string[]

  beforeEach(function () {
    workdir = tmpdir()
    w = ['--workdir', workdir]
  })

  describe('help and errors', function () {
    it('`ocre help` lists every command and global option', async function () {
      const r = await ocre(['help'])
      assert.equal(r.code, 0)
      for (const s of ['run', 'image', 'version', 'help', '--workdir', '-v, --verbose']) assert.ok(r.stdout.includes(s), s)
    })

    it('`ocre run --help` describes every option', async function () {
      const r = await ocre(['run', '--help'])
      assert.equal(r.code, 0)
      for (const s of ['--rm', '-n, --name', '-r, --runtime', '-v, --volume', '-k, --capability', '-e, --env', '-m, --memory', '--max-open-files', '--stack-size', '--nice', '--tier', '--stop-timeout'])
        assert.ok(r.stdout.includes(s), s)
    })

    it('`ocre image pull --help` and `ocre help image` describe the image commands', async function () {
      const pull = await ocre(['image', 'pull', '--help'])
      assert.equal(pull.code, 0)
      for (const s of ['--force', '--sha256', '--max-size', '--timeout']) assert.ok(pull.stdout.includes(s), s)
      const image = await ocre(['help', 'image'])
      assert.equal(image.code, 0)
      for (const s of ['ls', 'pull', 'import', 'build', 'rm']) assert.ok(image.stdout.includes(s), s)
      const build = await ocre(['image', 'build', '--help'])
      assert.equal(build.code, 0)
      for (const s of ['--cpu', 'llvm-15-dev']) assert.ok(build.stdout.includes(s), s)
    })

    it('gives a one-line error for an unknown option, command or bad option value', async function () {
      assertOneLineError(await ocre(['--bogus', 'version']), /unknown option '--bogus'/)
      assertOneLineError(await ocre(['frobnicate']), /unknown command 'frobnicate'/)
      assertOneLineError(await ocre([...w, 'run', '--nam', 'x', 'hello.wasm']), /unknown option '--nam'.*--name/)
      assertOneLineError(await ocre([...w, 'run', '-m', 'lots', 'hello.wasm']), /-m, --memory.*Expected a size/)
      assertOneLineError(await ocre([...w, 'run', '-v', 'nocolon', 'hello.wasm']), /Expected SRC:DST/)
      assertOneLineError(await ocre([...w, 'run', '--stop-timeout', '-3', 'hello.wasm']), /seconds/)
      assertOneLineError(await ocre([...w, 'run']), /missing required argument 'image'/)
      assertOneLineError(await ocre([...w, 'image', 'ls', 'a', 'b']), /too many arguments/)
      assertOneLineError(await ocre([...w, 'image', 'rm']), /missing required argument/)
      assertOneLineError(await ocre([...w, 'run', '--tier', 'jit', 'hello.wasm']), /--tier.*auto, aot, interpreter/)
      assertOneLineError(await ocre([...w, 'image', 'import', '--cpu', 'native', fixture('hello.wasm')]), /--cpu needs --aot/)
    })

    it('prints the version', async function () {
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
      const r = await ocre(['--version'])
      assert.equal(r.code, 0)
      assert.equal(r.stdout, `ocre-node ${pkg.version}\n`)
      const v = await ocre(['version'])
      assert.equal(v.code, 0)
      assert.ok(v.stdout.startsWith(`ocre-node ${pkg.version}\nnode: ${process.version}\n`), v.stdout)
    })
  })

  describe('image', function () {
    it('ls shows the hashing progress of a large image dropped in by another tool, once', async function () {
      const images = path.join(workdir, 'images')
      fs.mkdirSync(images, { recursive: true })
      fs.writeFileSync(path.join(images, 'big.wasm'), '')
      fs.truncateSync(path.join(images, 'big.wasm'), 64 * 1024 * 1024) // sparse
      fs.copyFileSync(fixture('hello.wasm'), path.join(images, 'small.wasm'))
      const ls = await ocre([...w, 'image', 'ls', '-q'])
      assert.equal(ls.code, 0, ls.stderr)
      assert.equal(ls.stdout, 'big.wasm\nsmall.wasm\n')
      const lines = ls.stderr.trimEnd().split('\n')
      assert.equal(lines[0], 'Hashing big.wasm')
      const pcts = lines.slice(1).map((l) => Number(/^hashing big\.wasm: (\d+)% \(/.exec(l)?.[1]))
      assert.equal(pcts.length, 10, ls.stderr) // a line per 10 %
      assert.ok(pcts.every((p, i) => p >= (i + 1) * 10 && p < (i + 2) * 10), ls.stderr)
      assert.equal(pcts[9], 100)
      // the digest is kept: no hashing the second time, and none for small files
      const again = await ocre([...w, 'image', 'ls', '-q'])
      assert.equal(again.stderr, '')
    })

    it('imports, lists and removes images', async function () {
      const imp = await ocre([...w, 'image', 'import', fixture('hello.wasm')])
      assert.equal(imp.code, 0, imp.stderr)
      assert.equal(imp.stdout, `Imported hello.wasm sha256:${sha256(fixture('hello.wasm'))}\n`)
      const imp2 = await ocre([...w, 'image', 'import', fixture('trivial.wasm'), 'tiny'])
      assert.equal(imp2.code, 0, imp2.stderr)

      const ls = await ocre([...w, 'image', 'ls'])
      assert.equal(ls.code, 0, ls.stderr)
      const lines = ls.stdout.trimEnd().split('\n')
      assert.equal(lines.length, 3)
      assert.match(lines[0], /^NAME {3,}SIZE {3,}SHA256 {9}MODIFIED {14}AOT$/)
      const col = (h: string) => lines[0].indexOf(h)
      assert.match(lines[1], /^hello\.wasm +\d+(\.\d)? KiB +[0-9a-f]{12} +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +-$/)
      assert.equal(lines[1].slice(col('SHA256'), col('SHA256') + 12), sha256(fixture('hello.wasm')).slice(0, 12))
      assert.match(lines[2], /^tiny +\d+ B +[0-9a-f]{12} +\d{4}-/)
      for (const l of lines.slice(1)) assert.match(l.slice(col('MODIFIED')), /^\d{4}-/, 'columns are aligned')

      const one = await ocre([...w, 'image', 'ls', '--no-trunc', 'tiny'])
      assert.equal(one.code, 0)
      assert.ok(one.stdout.includes(sha256(fixture('trivial.wasm'))))
      const quiet = await ocre([...w, 'image', 'ls', '-q'])
      assert.equal(quiet.stdout, 'hello.wasm\ntiny\n')

      const rm = await ocre([...w, 'image', 'rm', 'tiny'])
      assert.equal(rm.code, 0, rm.stderr)
      assert.equal(rm.stdout, 'Removed tiny\n')
      assert.equal((await ocre([...w, 'image', 'ls', '-q'])).stdout, 'hello.wasm\n')
      assert.ok(!fs.existsSync(path.join(workdir, 'images', 'tiny')))
    })

    it('reports image errors in one line', async function () {
      assertOneLineError(await ocre([...w, 'image', 'ls', 'nope']), /image 'nope' not found/)
      assertOneLineError(await ocre([...w, 'image', 'rm', 'nope']), /image 'nope' not found/)
      assertOneLineError(await ocre([...w, 'image', 'import', '/etc/passwd', 'pw']), /not a valid WebAssembly module: expected magic/)
      assertOneLineError(await ocre([...w, 'image', 'import', fixture('hello.wasm'), 'Bad']), /may only contain/)
      assert.equal((await ocre([...w, 'image', 'import', fixture('hello.wasm')])).code, 0)
      assertOneLineError(await ocre([...w, 'image', 'import', fixture('trivial.wasm'), 'hello.wasm']), /already exists \(use --force/)
      const forced = await ocre([...w, 'image', 'import', '--force', fixture('trivial.wasm'), 'hello.wasm'])
      assert.equal(forced.code, 0, forced.stderr)
      assertOneLineError(
        await ocre([...w, 'image', 'import', '--sha256', '0'.repeat(64), fixture('hello.wasm'), 'h2']),
        /sha256 of 'h2' is [0-9a-f]{64}, expected 0{64}/,
      )
    })

    it('uses $OCRE_WORKDIR when there is no --workdir', async function () {
      const r = await ocre(['image', 'import', fixture('hello.wasm')], { env: { OCRE_WORKDIR: workdir } })
      assert.equal(r.code, 0, r.stderr)
      assert.ok(fs.existsSync(path.join(workdir, 'images', 'hello.wasm')))
    })

    describe('pull', function () {
      let server: http.Server
      let base: string
      let stall: http.ServerResponse | undefined
      const sleeper = fs.readFileSync(fixture('sleeper.wasm'))

      before(async function () {
        server = http.createServer((req, res) => {
          if (req.url === '/a/sleeper.wasm') res.writeHead(200, { 'content-length': sleeper.length }).end(sleeper)
          else if (req.url === '/moved') res.writeHead(301, { location: '/a/sleeper.wasm' }).end()
          else if (req.url === '/stall.wasm') {
            res.writeHead(200, { 'content-length': sleeper.length })
            res.write(sleeper.subarray(0, 1000))
            stall = res
          } else res.writeHead(404, 'Not Found').end()
        })
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      })
      after(function () {
        server.closeAllConnections()
        server.close()
      })

      it('pulls with plain progress lines when stderr is not a terminal', async function () {
        const r = await ocre([...w, 'image', 'pull', `${base}/moved`, 'sl.wasm'])
        assert.equal(r.code, 0, r.stderr)
        assert.equal(r.stdout, `Pulled sl.wasm sha256:${sha256(fixture('sleeper.wasm'))}\n`)
        assert.match(r.stderr, /^Pulling http:\/\/127\.0\.0\.1:\d+\/moved\n/)
        assert.match(r.stderr, /sl\.wasm: 100% \(24\.\d KiB of 24\.\d KiB\)\n$/)
        assert.doesNotMatch(r.stderr, /\r/)
        const ls = await ocre([...w, 'image', 'ls', '-q'])
        assert.equal(ls.stdout, 'sl.wasm\n')
      })

      it('names the image after the URL and fails in one line on HTTP errors', async function () {
        const r = await ocre([...w, 'image', 'pull', `${base}/a/sleeper.wasm`])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /^Pulled sleeper\.wasm /)
        const e = await ocre([...w, 'image', 'pull', `${base}/missing.wasm`])
        assert.equal(e.code, 125)
        assert.match(e.stderr, /^Pulling .*\nocre: GET .*missing\.wasm failed: HTTP 404 Not Found\n$/)
        assertOneLineError(await ocre([...w, 'image', 'pull', 'not a url']), /not a URL/)
        const big = await ocre([...w, 'image', 'pull', `${base}/a/sleeper.wasm`, '--max-size', '1k', 'x.wasm'])
        assert.equal(big.code, 125)
        assert.match(big.stderr, /^Pulling .*\nocre: image 'x\.wasm' is 25329 bytes, larger than the limit of 1024 bytes\n$/)
      })

      it('draws a progress bar on a terminal', async function () {
        let hasScript = true
        try {
          execFileSync('script', ['--version'], { stdio: 'ignore' })
        } catch {
          hasScript = false
        }
        if (!hasScript) {
          console.log('        (skipped: no `script` command to provide a terminal)')
          return this.skip()
        }
        const out = path.join(tmpdir(), 'tty.out')
        const cmd = [process.execPath, '--import', TSX, MAIN, ...w, 'image', 'pull', `${base}/a/sleeper.wasm`]
          .map((a) => `'${a}'`)
          .join(' ')
        // script(1) runs the command on a pseudo-terminal and records what it wrote
        const r = await collect(spawn('script', ['-qec', `stty cols 100; ${cmd}`, out], { stdio: ['ignore', 'pipe', 'pipe'] }))
        assert.equal(r.code, 0, r.stderr)
        const screen = fs.readFileSync(out, 'utf8')
        assert.match(screen, /\rsleeper\.wasm \[#+\] 100% {2}24\.\d KiB \/ 24\.\d KiB {2}\S+ \S+\/s\x1b\[K/)
        assert.doesNotMatch(screen, /Pulling /, 'no plain lines on a terminal')
        assert.match(screen, /Pulled sleeper\.wasm sha256:[0-9a-f]{64}/)
      })

      it('leaves nothing behind when interrupted with Ctrl-C', async function () {
        const child = start([...w, 'image', 'pull', `${base}/stall.wasm`])
        const done = collect(child)
        const images = path.join(workdir, 'images')
        const deadline = Date.now() + 15000
        while (!(fs.existsSync(images) && fs.readdirSync(images).some((n) => n.startsWith('.tmp-'))) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20))
        assert.ok(fs.readdirSync(images).some((n) => n.startsWith('.tmp-')), 'the pull started')
        child.kill('SIGINT')
        const r = await done
        stall?.destroy()
        assert.equal(r.code, 130)
        assert.match(r.stderr, /ocre: pull interrupted; nothing was stored\n$/)
        assert.deepEqual(fs.readdirSync(images).filter((n) => n !== '.meta'), [])
      })
    })
  })

  describe('AOT', function () {
    it('image build without the compiler fails in one line naming what to install', async function () {
      await ocre([...w, 'image', 'import', fixture('hello.wasm')])
      const env = { OCRE_AOTC: path.join(os.tmpdir(), 'no-such-ocre-aotc') }
      assertOneLineError(await ocre([...w, 'image', 'build', 'hello.wasm'], { env }), /llvm-15-dev/)
      assertOneLineError(await ocre([...w, 'image', 'import', '--aot', fixture('trivial.wasm')], { env }), /llvm-15-dev/)
      assert.equal((await ocre([...w, 'image', 'ls', '-q'])).stdout, 'hello.wasm\n', 'nothing stored')
    })

    it('import --aot, build, ls and run --tier', async function () {
      if (!compilerPath() || runtimeMissing()) {
        console.log('      (skipped: the AOT compiler ocre-aotc was not built: LLVM 15 not found at build time)')
        return this.skip()
      }
      const imp = await ocre([...w, 'image', 'import', '--aot', fixture('hello.wasm')])
      assert.equal(imp.code, 0, imp.stderr)
      assert.match(imp.stdout, /^Imported hello\.wasm sha256:[0-9a-f]{64} \(AOT: [\d.]+ KiB of x86-64 code\)\n$/)
      assert.equal((await ocre([...w, 'image', 'import', fixture('trivial.wasm')])).code, 0)
      const build = await ocre([...w, 'image', 'build', 'trivial.wasm', 'nope.wasm'])
      assert.equal(build.code, 125)
      assert.match(build.stdout, /^Compiled trivial\.wasm: [\d.]+ (B|KiB) of x86-64 code \(opt 3\) in [\d.]+ s\n$/)
      assert.match(build.stderr, /image 'nope\.wasm' not found/)
      // progress on stderr (not a terminal: a line per phase)
      assert.match(build.stderr, /^trivial\.wasm: translating functions (\d+)\/\1 \(\d+ s\)$/m)
      assert.match(build.stderr, /^trivial\.wasm: optimizing \d+ functions \(LLVM\) \(\d+ s\)$/m)
      assert.match(build.stderr, /^trivial\.wasm: generating machine code for \d+ functions \(\d+ s\)$/m)
      const limited = await ocre([...w, 'image', 'build', '--time-limit', '0.001', '--opt', '1', 'trivial.wasm'])
      assert.equal(limited.code, 125)
      assert.match(limited.stderr, /time limit \(1 ms\)/)
      assert.match((await ocre([...w, 'image', 'build', '--opt', '5', 'trivial.wasm'])).stderr, /Expected 0, 1, 2, 3 or auto/)
      const ls = await ocre([...w, 'image', 'ls'])
      const rows = ls.stdout.trimEnd().split('\n')
      assert.match(rows[1], /^hello\.wasm .* x86-64$/)
      assert.match(rows[2], /^trivial\.wasm .* x86-64$/)
      const run = await ocre([...w, '-v', 'run', '--tier', 'aot', 'hello.wasm'])
      assert.equal(run.code, 0, run.stderr)
      assert.equal(run.stdout, 'Hello from WebAssembly!\n')
      assert.match(run.stderr, /created container \w+ from hello\.wasm \(tier: aot\)/)
      const interp = await ocre([...w, '-v', 'run', '--tier', 'interpreter', 'hello.wasm'])
      assert.equal(interp.stdout, 'Hello from WebAssembly!\n')
      assert.match(interp.stderr, /\(tier: interpreter\)/)
      // a tampered artifact: run fails in one line; the interpreter tier still runs it
      const aotDir = path.join(workdir, 'images', '.aot')
      const artifact = path.join(aotDir, fs.readdirSync(aotDir).find((f) => f.startsWith('hello.wasm.') && f.endsWith('.aot'))!)
      const bytes = fs.readFileSync(artifact)
      bytes[bytes.length >> 1] ^= 1
      fs.writeFileSync(artifact, bytes)
      assert.match((await ocre([...w, 'image', 'ls', 'hello.wasm'])).stdout, /REJECTED$/m)
      assertOneLineError(await ocre([...w, 'run', 'hello.wasm']), /tampered/)
      assert.equal((await ocre([...w, 'run', '--tier', 'interpreter', 'hello.wasm'])).code, 0)
    })
  })

  describe('run', function () {
    before(function () {
      const missing = runtimeMissing()
      if (missing) {
        console.log(`      (skipped: the runtime does not load: ${missing})`)
        this.skip()
      }
    })

    it('runs hello.wasm from a file, printing its output, exit 0', async function () {
      const r = await ocre([...w, 'run', fixture('hello.wasm')])
      assert.equal(r.stderr, '')
      assert.equal(r.stdout, 'Hello from WebAssembly!\n')
      assert.equal(r.code, 0)
      // the file was imported under its name
      assert.equal((await ocre([...w, 'image', 'ls', '-q'])).stdout, 'hello.wasm\n')
    })

    it('runs a stored image by name, also without .wasm, and accepts --rm', async function () {
      assert.equal((await ocre([...w, 'image', 'import', fixture('hello.wasm')])).code, 0)
      const a = await ocre([...w, 'run', '--rm', 'hello.wasm'])
      assert.equal(a.stdout, 'Hello from WebAssembly!\n')
      assert.equal(a.code, 0)
      const b = await ocre([...w, 'run', 'hello'])
      assert.equal(b.stdout, 'Hello from WebAssembly!\n')
      assert.equal(b.code, 0)
    })

    it("exits with the container's exit code", async function () {
      const a = await ocre([...w, 'run', fixture('exit-code.wasm'), '3'])
      assert.equal(a.code, 3)
      const b = await ocre([...w, 'run', fixture('exit-code.wasm'), '42', 'proc'])
      assert.equal(b.code, 42)
      assert.equal(b.stderr, '')
    })

    it('passes arguments after IMAGE verbatim, also ones starting with -', async function () {
      const r = await ocre([...w, 'run', fixture('args-env.wasm'), '--port', '80', '-v', 'with space', '--', '-e'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(
        r.stdout,
        'argc=7\nargv[0]=args-env.wasm\nargv[1]=--port\nargv[2]=80\nargv[3]=-v\nargv[4]=with space\nargv[5]=--\nargv[6]=-e\n',
      )
    })

    it('sets the environment with -e (a bare VAR copies the host value)', async function () {
      const r = await ocre([...w, 'run', '-e', 'A=1', '--env', 'B=x=y', '-e', 'FROM_HOST', '-e', 'UNSET_VAR', fixture('args-env.wasm')], {
        env: { FROM_HOST: 'hv', UNSET_VAR: undefined },
      })
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, 'argc=1\nargv[0]=args-env.wasm\nenv:A=1\nenv:B=x=y\nenv:FROM_HOST=hv\n')
    })

    it('exits 134 with the trap message on stderr when the container traps', async function () {
      const r = await ocre([...w, 'run', fixture('trap.wasm'), 'unreachable'])
      assert.equal(r.code, 134)
      assert.equal(r.stdout, 'trap: unreachable\n')
      assert.match(r.stderr, /^ocre: container [a-z0-9._-]+ trapped: .*unreachable.*\n$/)
    })

    it('mounts a volume with -v SRC:DST (after run; before it, -v is --verbose)', async function () {
      const host = tmpdir()
      const r = await ocre(['-v', ...w, 'run', '-v', `${host}:/data`, fixture('fs.wasm'), 'write', '/data/x', 'hi'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, 'ok\n')
      assert.match(r.stderr, / info +\[cli\] created container /, 'the global -v turned on the log')
      assert.equal(fs.readFileSync(path.join(host, 'x'), 'utf8'), 'hi')
      // relative SRC is resolved against the current directory
      const rel = await ocre(['--workdir', workdir, 'run', '--volume', '.:/d', fixture('fs.wasm'), 'read', '/d/x'], { cwd: host })
      assert.equal(rel.stdout, 'hi')
    })

    it('mounts read-only with -v SRC:DST:ro', async function () {
      const host = tmpdir()
      fs.writeFileSync(path.join(host, 'x'), 'old')
      const r = await ocre([...w, 'run', '-v', `${host}:/data:ro`, fixture('fs.wasm'), 'write', '/data/x', 'new'])
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stdout, /^error: /)
      assert.equal(fs.readFileSync(path.join(host, 'x'), 'utf8'), 'old')
    })

    it('grants the filesystem capability with -k', async function () {
      const without = await ocre([...w, 'run', fixture('fs.wasm'), 'write', '/x', 'hi'])
      assert.equal(without.code, 1)
      assert.match(without.stdout, /^error: /)
      const withCap = await ocre([...w, 'run', '-k', 'filesystem', fixture('fs.wasm'), 'write', '/x', 'hi'])
      assert.equal(withCap.code, 0, withCap.stderr)
      assert.equal(withCap.stdout, 'ok\n')
      // the container (and its private directory) is removed at exit
      assert.deepEqual(fs.readdirSync(path.join(workdir, 'containers')), [])
    })

    it('grants ocre:api with -k: timers run, and the random test sensor is there', async function () {
      const blink = await ocre([...w, 'run', '-k', 'ocre:api', fixture('ocre-app.wasm'), 'blink', '2', '1'])
      assert.equal(blink.code, 0, blink.stderr)
      assert.equal(blink.stdout, 'tick 1\ntick 2\ndone\n')
      const read = await ocre([...w, 'run', '-k', 'ocre:api', fixture('ocre-app.wasm'), 'sensor-read', 'ocre-random', '0'])
      assert.equal(read.code, 0, read.stderr)
      assert.match(read.stdout, /^ocre-random 0 \d+\.\d\d\n$/)
      // without it: negative errno values, no trap
      const without = await ocre([...w, 'run', fixture('ocre-app.wasm'), 'nocap'])
      assert.equal(without.code, 0, without.stderr)
      assert.match(without.stdout, /^ocre_timer_create\(1\) -13$/m)
    })

    it('rejects an unknown capability in one line', async function () {
      assertOneLineError(await ocre([...w, 'run', '-k', 'teleport', fixture('hello.wasm')]), /teleport/)
    })

    it('names the container with -n and rejects invalid names', async function () {
      const r = await ocre([...w, '-v', 'run', '-n', 'my-box', fixture('hello.wasm')])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stderr, /created container my-box from hello\.wasm/)
      assertOneLineError(await ocre([...w, 'run', '--name', 'Bad/Name', fixture('hello.wasm')]), /container id|name/)
    })

    it('selects the runtime with -r and rejects an unknown one', async function () {
      const r = await ocre([...w, 'run', '-r', 'wamr/wasip1', fixture('hello.wasm')])
      assert.equal(r.code, 0, r.stderr)
      assertOneLineError(await ocre([...w, 'run', '--runtime', 'nope', fixture('hello.wasm')]), /runtime/)
    })

    it('limits open files with --max-open-files, sets the stack with --stack-size and the niceness with --nice', async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-cli-files-'))
      try {
        const r = await ocre([...w, 'run', '--max-open-files', '8', '-v', `${dir}:/d`, fixture('hostile.wasm'), 'openmany', '/d'])
        assert.equal(r.code, 0, r.stderr)
        assert.equal(r.stdout, 'opened 4: No file descriptors available\n') // stdio 3 + /d 1
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
      const deep = await ocre([...w, 'run', '--stack-size', '8m', '--tier', 'interpreter', fixture('hostile.wasm'), 'recurse', '100000'])
      assert.equal(deep.code, 0, deep.stderr)
      assert.equal(deep.stdout, 'depth 100000\n')
      assertOneLineError(await ocre([...w, 'run', '--max-open-files', '0', fixture('hello.wasm')]), /--max-open-files.*whole number/)
      assertOneLineError(await ocre([...w, 'run', '--stack-size', '1k', fixture('hello.wasm')]), /stackSize/)
      const niced = await ocre([...w, 'run', '--nice', '19', fixture('hello.wasm')])
      assert.equal(niced.code, 0, niced.stderr)
      assert.match(niced.stdout, /hello/i)
      for (const bad of ['20', '-1', 'x'])
        assertOneLineError(await ocre([...w, 'run', '--nice', bad, fixture('hello.wasm')]), /--nice.*0 to 19/)
    })

    it('limits memory with -m', async function () {
      const r = await ocre([...w, 'run', '-m', '1m', fixture('trap.wasm'), 'grow'])
      assert.equal(r.code, 0, r.stderr)
      const pages = Number(/grew (\d+) pages/.exec(r.stdout)?.[1])
      assert.ok(pages >= 0 && pages <= 14, `grew ${pages} pages within 1 MiB (16 pages, 2 initial)`)
    })

    it('prints runtime log records with the global -v and stacks on errors', async function () {
      const r = await ocre(['-v', ...w, 'run', fixture('hello.wasm')])
      assert.equal(r.code, 0)
      assert.equal(r.stdout, 'Hello from WebAssembly!\n')
      const modules = new Set([...r.stderr.matchAll(/^\S+ +(?:debug|info|warn|error) +\[([^\]]+)\]/gm)].map((m) => m[1]))
      assert.ok(modules.has('cli'), r.stderr)
      assert.ok([...modules].some((m) => m !== 'cli'), `records of the runtime's modules: ${r.stderr}`)
      const e = await ocre(['--verbose', ...w, 'run', 'missing.wasm'])
      assert.equal(e.code, 125)
      assert.match(e.stderr, / debug +\[\w+\] ERR_OCRE_IMAGE_NOT_FOUND/, 'debug level is on')
      assert.match(e.stderr, /^ocre: .*missing\.wasm/m)
      assert.match(e.stderr, /^\s+at /m, 'a stack with -v')
    })

    it('precise one-line errors: a directory to run, a size too large, a workdir that is a file, an image named -rf', async function () {
      const dir = tmpdir()
      assertOneLineError(await ocre([...w, 'run', dir + '/']), new RegExp(`^ocre: cannot run ${dir}/: it is a directory, not a \\.wasm file$`))
      assertOneLineError(await ocre([...w, 'run', './nope/missing.wasm']), /^ocre: cannot run \.\/nope\/missing\.wasm: no such file$/)
      assertOneLineError(
        await ocre([...w, 'run', '-m', '99999999999g', fixture('hello.wasm')]),
        /^ocre: option '-m, --memory <bytes>' argument '99999999999g' is invalid\. Expected a size of at most 8 PiB \(9007199254740991 bytes\)\.$/,
      )
      assertOneLineError(await ocre([...w, 'run', '-m', '0', fixture('hello.wasm')]), /Expected a size greater than 0\.$/)
      assertOneLineError(await ocre(['--workdir', '/etc/passwd', 'run', fixture('hello.wasm')]), /^ocre: working directory \/etc\/passwd is not a directory$/)
      assertOneLineError(await ocre(['--workdir', '/etc/passwd', 'image', 'ls']), /^ocre: working directory \/etc\/passwd is not a directory$/)
      assertOneLineError(await ocre(['--workdir', '/etc/passwd/sub', 'image', 'ls']), /^ocre: working directory \/etc\/passwd\/sub: \/etc\/passwd is not a directory$/)
      // names never start with '-' (they would read as options): refused, with a suggestion
      const file = path.join(dir, 'x.wasm')
      fs.copyFileSync(fixture('hello.wasm'), file)
      assertOneLineError(await ocre([...w, 'image', 'import', file, '--', '-rf']), /^ocre: image name '-rf' must not start with '-'$/)
      const dashed = path.join(dir, '-rf.wasm')
      fs.copyFileSync(fixture('hello.wasm'), dashed)
      assertOneLineError(await ocre([...w, 'run', dashed]), /must not start with '-'.*'ocre image import .* rf\.wasm'/)
      assertOneLineError(await ocre([...w, 'run', '--name', '-x', fixture('hello.wasm')]), /container id '-x' must not start with '-'/)
    })

    it('fails in one line for a missing image or file', async function () {
      assertOneLineError(await ocre([...w, 'run', 'missing.wasm']), /missing\.wasm/)
    })

    it('replaces the stored image when a file of the same name changed', async function () {
      const dir = tmpdir()
      const file = path.join(dir, 'app.wasm')
      fs.copyFileSync(fixture('hello.wasm'), file)
      assert.equal((await ocre([...w, 'run', file])).stdout, 'Hello from WebAssembly!\n')
      fs.copyFileSync(fixture('exit-code.wasm'), file)
      const r = await ocre([...w, 'run', file, '5'])
      assert.equal(r.code, 5)
      assert.equal((await ocre([...w, 'image', 'ls', '--no-trunc'])).stdout.includes(sha256(fixture('exit-code.wasm'))), true)
    })

    it('rejects a file whose name is not a valid image name, suggesting one', async function () {
      const dir = tmpdir()
      fs.copyFileSync(fixture('hello.wasm'), path.join(dir, 'My App.wasm'))
      assertOneLineError(await ocre([...w, 'run', path.join(dir, 'My App.wasm')]), /ocre image import .* my-app\.wasm/)
    })

    describe('signals', function () {
      async function startSleeper(extra: string[] = []) {
        const child = start([...w, '-v', 'run', ...extra, fixture('sleeper.wasm'), '60'])
        const done = collect(child)
        await waitForOutput(child, 'sleeping\n')
        return { child, done }
      }

      it('Ctrl-C stops the container and kills it after the grace period (exit 137)', async function () {
        const { child, done } = await startSleeper(['--stop-timeout', '0.5'])
        child.kill('SIGINT')
        const r = await done
        assert.equal(r.code, 137, r.stderr)
        assert.match(r.stderr, /stopping container \w+ \(killed in 0\.5 s/)
        assert.equal(r.stdout, 'sleeping\n')
      })

      it('a second Ctrl-C kills the container at once', async function () {
        // a grace period far beyond the hang guard: only the second Ctrl-C can end it in time
        const { child, done } = await startSleeper(['--stop-timeout', '600'])
        const stopping = waitForOutput(child, 'stopping container', 15000, 'stderr')
        child.kill('SIGINT')
        await stopping
        child.kill('SIGINT')
        const r = await settles(done, 'the second Ctrl-C kills')
        assert.equal(r.code, 137, r.stderr)
        assert.match(r.stderr, /killing container/)
      })

      it('SIGTERM acts like the first Ctrl-C', async function () {
        const { child, done } = await startSleeper(['--stop-timeout', '0.3'])
        child.kill('SIGTERM')
        const r = await done
        assert.equal(r.code, 137, r.stderr)
      })

      it('Ctrl-C gives a container reading stdin end-of-file, so it can finish', async function () {
        const child = spawn(process.execPath, ['--import', TSX, MAIN, ...w, '-v', 'run', fixture('stdin-close.wasm')], {
          cwd: ROOT,
          stdio: ['pipe', 'pipe', 'pipe'], // stdin stays open
        })
        const done = collect(child)
        // created: a signal from now on stops the container once it runs
        await waitForOutput(child, 'created container', 15000, 'stderr')
        child.kill('SIGINT')
        const r = await done
        assert.equal(r.stdout, 'eof after 0 bytes\n')
        assert.equal(r.code, 0, r.stderr)
      })

      it('a container that finishes within the grace period exits with its own status', async function () {
        const child = start([...w, 'run', '--stop-timeout', '20', fixture('sleeper.wasm'), '1'])
        const done = collect(child)
        await waitForOutput(child, 'sleeping\n')
        child.kill('SIGINT')
        const r = await done
        assert.equal(r.code, 0, r.stderr)
        assert.equal(r.stdout, 'sleeping\nwoke\n')
      })
    })
  })

  describe('bin/ocre.js', function () {
    it('runs the compiled command line', async function () {
      // build lib/ with tsc into a scratch package under build/ (git-ignored), whose
      // node_modules resolve to the repository's
      this.timeout(120000)
      const pkg = path.join(ROOT, 'build', 'cli-test')
      fs.rmSync(pkg, { recursive: true, force: true })
      fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true })
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'))
      fs.copyFileSync(path.join(ROOT, 'bin', 'ocre.js'), path.join(pkg, 'bin', 'ocre.js'))
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', path.join(pkg, 'dist')], {
        stdio: 'pipe',
      })
      const r = await collect(
        spawn(path.join(pkg, 'bin', 'ocre.js'), ['--workdir', workdir, 'image', 'import', fixture('hello.wasm')], {
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      )
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^Imported hello\.wasm /)
      const bad = await collect(spawn(path.join(pkg, 'bin', 'ocre.js'), ['--bogus'], { stdio: ['ignore', 'pipe', 'pipe'] }))
      assertOneLineError(bad, /unknown option/)
      fs.rmSync(pkg, { recursive: true, force: true })
    })
  })
})

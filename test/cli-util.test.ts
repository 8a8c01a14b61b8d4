// Pure helpers of the command line (lib/cli/util.ts, lib/cli/progress.ts).
import assert from 'node:assert/strict'
import path from 'node:path'
import { createProgress } from '../lib/cli/progress'
import {
  formatBytes,
  formatLogRecord,
  formatTable,
  parseBytes,
  parseEnv,
  parseSeconds,
  parseVolume,
  resolveWorkdir,
  workdirProblem,
} from '../lib/cli/util'
import { exitStatus } from '../lib/cli/run'
import { parseFastPs } from '../lib/cli/fast'

describe('cli helpers', function () {
  describe('parseFastPs (the fast path of `ocre ps`)', function () {
    it('takes the plain forms of ps and container ls|ps|list, globals before or after the command', function () {
      assert.deepEqual(parseFastPs(['ps']), { globals: {}, own: {}, opts: {} })
      assert.deepEqual(parseFastPs(['ps', '-a', '-q', '--no-trunc', '--format', 'json']), {
        globals: {},
        own: {},
        opts: { all: true, quiet: true, trunc: false, format: 'json' },
      })
      assert.deepEqual(parseFastPs(['--workdir', '/w', '-H', 'unix:///s', 'container', 'ls', '--all', '--format=table']), {
        globals: { workdir: '/w', host: 'unix:///s' },
        own: {},
        opts: { all: true, format: 'table' },
      })
      assert.deepEqual(parseFastPs(['--token-file=/t', 'container', 'list', '--workdir', '/x', '--host=tcp://:1']), {
        globals: { tokenFile: '/t' },
        own: { workdir: '/x', host: 'tcp://:1' },
        opts: {},
      })
    })
    it('leaves everything else to commander (help, -v, combined flags, arguments, bad or missing values)', function () {
      for (const argv of [
        [],
        ['ps', '--help'],
        ['ps', '-h'],
        ['-v', 'ps'],
        ['ps', '--verbose'],
        ['ps', '-aq'],
        ['ps', 'extra'],
        ['ps', '--format', 'yaml'],
        ['ps', '--format'],
        ['--workdir'],
        ['--workdir', '-a', 'ps'],
        ['ps', '-H', 'unix:///s'],
        ['container', 'rm', 'x'],
        ['container'],
        ['inspect', 'x'],
        ['run', 'ps'],
      ])
        assert.equal(parseFastPs(argv), null, JSON.stringify(argv))
    })
  })

  describe('resolveWorkdir', function () {
    it('prefers --workdir, then $OCRE_WORKDIR (relative ones resolved)', function () {
      assert.equal(resolveWorkdir('/a', { OCRE_WORKDIR: '/b' }, 0, '/home/u'), '/a')
      assert.equal(resolveWorkdir('rel', {}, 0, '/home/u'), path.resolve('rel'))
      assert.equal(resolveWorkdir(undefined, { OCRE_WORKDIR: '/b' }, 0, '/home/u'), '/b')
    })

    it('uses /var/lib/ocre for root', function () {
      assert.equal(resolveWorkdir(undefined, {}, 0, '/root'), '/var/lib/ocre')
    })

    it('uses $XDG_DATA_HOME/ocre, else ~/.local/share/ocre, for other users', function () {
      assert.equal(resolveWorkdir(undefined, { XDG_DATA_HOME: '/xdg' }, 1000, '/home/u'), '/xdg/ocre')
      assert.equal(resolveWorkdir(undefined, {}, 1000, '/home/u'), '/home/u/.local/share/ocre')
      // a relative XDG_DATA_HOME is invalid per the XDG spec and ignored
      assert.equal(resolveWorkdir(undefined, { XDG_DATA_HOME: 'rel' }, 1000, '/home/u'), '/home/u/.local/share/ocre')
    })
  })

  describe('option values', function () {
    it('parses sizes with binary units', function () {
      assert.equal(parseBytes('1048576'), 1048576)
      assert.equal(parseBytes('64k'), 65536)
      assert.equal(parseBytes('16M'), 16 * 1024 * 1024)
      assert.equal(parseBytes('16MiB'), 16 * 1024 * 1024)
      assert.equal(parseBytes('1g'), 1024 ** 3)
      assert.equal(parseBytes('1.5k'), 1536)
      for (const bad of ['', 'x', '-1', '0', '1q', '1 kb b']) assert.throws(() => parseBytes(bad), /Expected a size/, bad)
    })

    it('parses seconds', function () {
      assert.equal(parseSeconds('0.5'), 0.5)
      assert.equal(parseSeconds('0'), 0)
      for (const bad of ['', '-1', 'abc', 'Infinity']) assert.throws(() => parseSeconds(bad), bad)
    })

    it('parses volumes SRC:DST[:ro|:rw], resolving SRC', function () {
      assert.deepEqual(parseVolume('/h:/g'), { source: '/h', target: '/g' })
      assert.deepEqual(parseVolume('/h:/g:ro'), { source: '/h', target: '/g', readonly: true })
      assert.deepEqual(parseVolume('/h:/g:rw'), { source: '/h', target: '/g' })
      assert.deepEqual(parseVolume('data:/data', '/cwd'), { source: '/cwd/data', target: '/data' })
      // the guest's root, and relative guest names (wasmtime's --dir . is -v .:.)
      assert.deepEqual(parseVolume('/h:/'), { source: '/h', target: '/' })
      assert.deepEqual(parseVolume('.:.', '/cwd'), { source: '/cwd', target: '.' })
      assert.deepEqual(parseVolume('/h:g'), { source: '/h', target: 'g' })
      for (const bad of ['/h', '/h:', ':/g', '/h:/g:xx', 'a:b:c:d'])
        assert.throws(() => parseVolume(bad), /Expected SRC:DST/, bad)
    })

    it('builds the environment from -e values in order', function () {
      assert.deepEqual(parseEnv(['A=1', 'B=', 'C=x=y', 'HOSTVAR', 'UNSET'], { HOSTVAR: 'h' }), {
        A: '1',
        B: '',
        C: 'x=y',
        HOSTVAR: 'h',
      })
      assert.throws(() => parseEnv(['=x']), /invalid environment entry/)
    })
  })

  describe('formatting', function () {
    it('formats sizes', function () {
      assert.equal(formatBytes(0), '0 B')
      assert.equal(formatBytes(1023), '1023 B')
      assert.equal(formatBytes(1536), '1.5 KiB')
      assert.equal(formatBytes(300 * 1024 * 1024), '300 MiB')
    })

    it('aligns table columns without trailing blanks', function () {
      assert.equal(
        formatTable([
          ['NAME', 'SIZE'],
          ['a-long-name', '1 B'],
        ]),
        'NAME          SIZE\na-long-name   1 B',
      )
    })

    it('formats a log record on one line', function () {
      const line = formatLogRecord({ level: 'debug', module: 'core', message: 'hi\n', time: new Date(0) })
      assert.equal(line, '1970-01-01T00:00:00.000Z debug [core] hi')
    })
  })

  describe('progress', function () {
    function sink(isTTY: boolean) {
      const chunks: string[] = []
      return { chunks, stream: { isTTY, columns: 80, write: (s: string) => chunks.push(s) } }
    }

    it('redraws a bar in place on a TTY and ends the line when done', function () {
      let now = 0
      const { chunks, stream } = sink(true)
      const p = createProgress('x.wasm', stream, () => now)
      for (let i = 1; i <= 10; i++) {
        now += 150
        p.update({ received: i * 100, total: 1000 })
      }
      p.done()
      const out = chunks.join('')
      assert.ok(chunks.length >= 10)
      assert.ok(chunks.slice(0, -1).every((c) => c.startsWith('\r')), 'each redraw returns to the line start')
      assert.match(out, /x\.wasm \[#+-*\] +50%/)
      assert.match(out, /\[#+\] 100% {2}1000 B \/ 1000 B/)
      assert.ok(out.endsWith('\n'))
      assert.ok(chunks.every((c) => c.replace(/\r|\x1b\[K/g, '').length <= 80))
    })

    it('throttles redraws to one per 100 ms', function () {
      const { chunks, stream } = sink(true)
      const p = createProgress('x', stream, () => 1000)
      for (let i = 1; i < 50; i++) p.update({ received: i, total: 100 })
      assert.equal(chunks.length, 1)
    })

    it('prints plain lines at every 10 % otherwise', function () {
      const { chunks, stream } = sink(false)
      const p = createProgress('x.wasm', stream, () => 0)
      for (let i = 1; i <= 100; i++) p.update({ received: i * 10, total: 1000 })
      p.done()
      assert.equal(chunks.length, 10)
      assert.equal(chunks[0], 'x.wasm: 10% (100 B of 1000 B)\n')
      assert.equal(chunks[9], 'x.wasm: 100% (1000 B of 1000 B)\n')
      assert.ok(chunks.every((c) => !c.includes('\r')))
    })
  })

  describe('one-line messages', function () {
    const stats: Record<string, 'dir' | 'file'> = { '/': 'dir', '/etc': 'dir', '/etc/passwd': 'file' }
    const stat = (p: string) => {
      const kind = stats[p]
      if (!kind) {
        // like the OS: below a file the error is ENOTDIR
        const code = p.startsWith('/etc/passwd/') ? 'ENOTDIR' : 'ENOENT'
        throw Object.assign(new Error(`${code}: stat '${p}'`), { code })
      }
      return { isDirectory: () => kind === 'dir' }
    }

    it('workdirProblem: a file, or a file on the way, is named; a directory to be created is fine', function () {
      assert.equal(workdirProblem('/etc/passwd', stat), 'working directory /etc/passwd is not a directory')
      assert.equal(workdirProblem('/etc/passwd/x/y', stat), 'working directory /etc/passwd/x/y: /etc/passwd is not a directory')
      assert.equal(workdirProblem('/etc/new/dir', stat), null)
      assert.equal(workdirProblem('/etc', stat), null)
    })

    it('parseBytes: zero and too large have their own message', function () {
      assert.throws(() => parseBytes('0'), /Expected a size greater than 0\.$/)
      assert.throws(() => parseBytes('99999999999g'), /Expected a size of at most 8 PiB \(9007199254740991 bytes\)\.$/)
      assert.equal(parseBytes('8388607g'), 2 ** 53 - 2 ** 30) // 1 GiB short of 8 PiB: fine
      assert.throws(() => parseBytes('8388608g'), /at most 8 PiB/) // 2^53 itself is not a safe integer
    })

    it('exitStatus: a trap message with newlines is printed as one line', function () {
      let written = ''
      const io = { out: () => {}, err: { write: (s: string) => ((written += s), true) } as never, verbose: () => {} }
      const status = exitStatus({ id: 'c1' }, { exitCode: 134, reason: 'trap', message: 'error while pre-opening directory /x: 2\n' }, io)
      assert.equal(status, 134)
      assert.equal(written, 'ocre: container c1 trapped: error while pre-opening directory /x: 2\n')
    })
  })
})

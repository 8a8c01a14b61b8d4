// The image store (lib/images/) on its own: it needs no native addon.
// Pulls use HTTP servers on 127.0.0.1 only.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { ImageStore, type Progress, isValidImageName, suggestImageName } from '../lib/images'

const FIXTURES = path.join(__dirname, 'fixtures')
const HELLO = path.join(FIXTURES, 'hello.wasm')
const helloBytes = fs.readFileSync(HELLO)
const helloSha = createHash('sha256').update(helloBytes).digest('hex')
const trivialBytes = fs.readFileSync(path.join(FIXTURES, 'trivial.wasm'))

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-images-'))
}

/** Everything in the images dir, dot files included (but not the .meta dir itself). */
function dirEntries(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir).filter((n) => n !== '.meta').sort()
}

async function rejectsCode(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<Error> {
  let caught: unknown
  try {
    await p
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof Error, `expected a rejection with ${code}`)
  assert.equal((caught as Error & { code?: string }).code, code, (caught as Error).message)
  if (pattern) assert.match(caught.message, pattern)
  return caught
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void

async function serve(handler: Handler): Promise<{ url: string; close: () => Promise<void>; server: http.Server }> {
  const server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A wasm-shaped body larger than one chunk: hello.wasm padded with a custom section. */
function bigWasm(size: number): Buffer {
  // custom section id 0, LEB128 length, name "pad", then zeros
  const name = Buffer.from([3, 0x70, 0x61, 0x64])
  const payloadLen = size - helloBytes.length - 1 - 5
  const leb = Buffer.alloc(5)
  let v = payloadLen
  for (let i = 0; i < 5; i++) {
    leb[i] = (v & 0x7f) | (i < 4 ? 0x80 : 0)
    v >>>= 7
  }
  const payload = Buffer.alloc(payloadLen - name.length)
  return Buffer.concat([helloBytes, Buffer.from([0]), leb, name, payload])
}

describe('ImageStore', function () {
  let dir: string
  let store: ImageStore

  beforeEach(function () {
    dir = path.join(tmpdir(), 'images')
    store = new ImageStore(dir, () => false)
  })

  describe('names', function () {
    it('accepts [a-z0-9._-] not starting with a dot or a dash and rejects the rest', function () {
      for (const ok of ['hello.wasm', 'a', '0-x_y.z', 'x-', 'x'.repeat(255)]) assert.ok(isValidImageName(ok), ok)
      for (const bad of ['', '.', '..', '.hidden', '-rf', '--x.wasm', 'A.wasm', 'a/b', '/x', 'a b', 'é', 'x'.repeat(256)])
        assert.ok(!isValidImageName(bad), bad)
    })

    it('suggests a valid name for an invalid one', function () {
      assert.equal(suggestImageName('My App.WASM'), 'my-app.wasm')
      assert.equal(suggestImageName('.hidden'), 'hidden')
      assert.equal(suggestImageName('-rf.wasm'), 'rf.wasm')
      assert.equal(suggestImageName('.-x'), 'x')
      assert.equal(suggestImageName('...'), null)
    })

    it('rejects an invalid explicit name with ERR_OCRE_INVALID_NAME and writes nothing', async function () {
      for (const bad of ['', '.x', '../x', 'a/b', 'Hello.wasm', '-rf'])
        await rejectsCode(store.add(bad, helloBytes), 'ERR_OCRE_INVALID_NAME')
      await rejectsCode(store.add('-rf', helloBytes), 'ERR_OCRE_INVALID_NAME', /^image name '-rf' must not start with '-'$/)
      assert.deepEqual(dirEntries(dir), [])
    })

    it('rejects a derived invalid name and suggests a valid one', async function () {
      const src = path.join(tmpdir(), 'Hello World.wasm')
      fs.copyFileSync(HELLO, src)
      const err = await rejectsCode(store.add(null, src), 'ERR_OCRE_INVALID_NAME')
      assert.match(err.message, /may only contain/)
      assert.match(err.message, /'hello-world\.wasm'/)
      assert.deepEqual(dirEntries(dir), [])
    })
  })

  describe('argument checks', function () {
    it('throws TypeError for wrong types and unknown options', async function () {
      await assert.rejects(store.add(42 as never, helloBytes), TypeError)
      await assert.rejects(store.add('x.wasm', 42 as never), TypeError)
      await assert.rejects(store.add(null, helloBytes), /required when source is a buffer/)
      await assert.rejects(store.add('x.wasm', helloBytes, { replcae: true } as never), /Unknown option 'replcae'/)
      await assert.rejects(store.add('x.wasm', helloBytes, { replace: 'yes' } as never), TypeError)
      await assert.rejects(store.add('x.wasm', helloBytes, { sha256: 1 } as never), TypeError)
      await assert.rejects(store.pull(42 as never), TypeError)
      await assert.rejects(store.pull('not a url'), TypeError)
      await assert.rejects(store.pull('ftp://127.0.0.1/x.wasm'), TypeError)
      await assert.rejects(store.get(1 as never), TypeError)
      assert.throws(() => new ImageStore(5 as never, () => false), TypeError)
    })

    it('throws TypeError for a malformed digest and RangeError for numbers out of range', async function () {
      await assert.rejects(store.add('x.wasm', helloBytes, { sha256: 'abc' }), TypeError)
      await assert.rejects(store.add('x.wasm', helloBytes, { maxBytes: 0 }), RangeError)
      await assert.rejects(store.add('x.wasm', helloBytes, { maxBytes: 1.5 }), RangeError)
      await assert.rejects(store.pull('http://127.0.0.1:1/x.wasm', { timeout: -1 }), RangeError)
    })
  })

  describe('add', function () {
    it('adds from a file path, deriving the name from the basename', async function () {
      const info = await store.add(undefined, HELLO)
      assert.equal(info.name, 'hello.wasm')
      assert.equal(info.size, helloBytes.length)
      assert.equal(info.sha256, helloSha)
      assert.ok(info.modified instanceof Date)
      assert.equal(info.path, path.join(dir, 'hello.wasm'))
      assert.deepEqual(fs.readFileSync(info.path), helloBytes)
      assert.ok(await store.has('hello.wasm'))
      assert.deepEqual((await store.get('hello.wasm')), info)
      assert.equal((await store.get('nope.wasm')), undefined)
      assert.deepEqual(dirEntries(dir), ['hello.wasm'], 'no temp file is left')
    })

    it('adds from a Buffer and a Uint8Array under the given name', async function () {
      const a = await store.add('a.wasm', helloBytes)
      const b = await store.add('b', new Uint8Array(trivialBytes))
      assert.equal(a.sha256, helloSha)
      assert.equal(b.size, trivialBytes.length)
      assert.deepEqual(
        (await store.list()).map((i) => i.name),
        ['a.wasm', 'b'],
      )
    })

    it('adds from a file: URL (object or string)', async function () {
      const url = pathToFileURL(HELLO)
      assert.equal((await store.add(null, url)).name, 'hello.wasm')
      assert.equal((await store.add('two.wasm', url.href)).sha256, helloSha)
    })

    it('rejects bytes that are not WebAssembly with ERR_OCRE_INVALID_IMAGE and the reason', async function () {
      const err = await rejectsCode(store.add('bad.wasm', Buffer.from('hello, world')), 'ERR_OCRE_INVALID_IMAGE')
      assert.match(err.message, /magic/i)
      assert.deepEqual(dirEntries(dir), [])
    })

    it('rejects a truncated module from a file and leaves no temp file', async function () {
      const src = path.join(tmpdir(), 'cut.wasm')
      fs.writeFileSync(src, helloBytes.subarray(0, helloBytes.length - 10))
      const err = await rejectsCode(store.add(null, src), 'ERR_OCRE_INVALID_IMAGE')
      assert.match(err.message, /'cut\.wasm' is not a valid WebAssembly module: \S/)
      assert.deepEqual(dirEntries(dir), [])
    })

    it('reports a missing source file', async function () {
      const missing = path.join(tmpdir(), 'missing.wasm')
      const err = await rejectsCode(store.add(null, missing), 'ERR_OCRE_IO')
      assert.equal(err.message, `cannot read ${missing}: ENOENT: no such file or directory, stat '${missing}'`)
      assert.equal((err.cause as { code?: string }).code, 'ENOENT')
      assert.deepEqual(dirEntries(dir), [])
    })

    it('does not overwrite an existing image unless replace is set', async function () {
      await store.add('x.wasm', helloBytes)
      await rejectsCode(store.add('x.wasm', trivialBytes), 'ERR_OCRE_EXISTS', /already exists/)
      assert.deepEqual(fs.readFileSync(path.join(dir, 'x.wasm')), helloBytes)
      const info = await store.add('x.wasm', trivialBytes, { replace: true })
      assert.deepEqual(fs.readFileSync(path.join(dir, 'x.wasm')), trivialBytes)
      assert.equal((await store.get('x.wasm'))!.sha256, info.sha256)
      assert.notEqual(info.sha256, helloSha)
      assert.deepEqual(dirEntries(dir), ['x.wasm'])
    })

    it('lets exactly one of two concurrent adds of a new name win', async function () {
      const results = await Promise.allSettled([store.add('race.wasm', helloBytes), store.add('race.wasm', trivialBytes)])
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
      assert.equal(failed.reason.code, 'ERR_OCRE_EXISTS')
      assert.deepEqual(dirEntries(dir), ['race.wasm'])
    })

    it('verifies a given sha256 (prefix and case are ignored)', async function () {
      await store.add('ok.wasm', helloBytes, { sha256: 'sha256:' + helloSha.toUpperCase() })
      const err = await rejectsCode(
        store.add('bad.wasm', HELLO, { sha256: '0'.repeat(64) }),
        'ERR_OCRE_DIGEST_MISMATCH',
      )
      assert.ok(err.message.includes(helloSha))
      assert.deepEqual(dirEntries(dir), ['ok.wasm'])
    })

    it('honours an AbortSignal that is already aborted', async function () {
      await assert.rejects(store.add(null, HELLO, { signal: AbortSignal.abort() }), { name: 'AbortError' })
      assert.deepEqual(dirEntries(dir), [])
    })
  })

  describe('list and sidecars', function () {
    it('hashes an image dropped in by another tool once and stores the digest', async function () {
      fs.mkdirSync(dir, { recursive: true })
      fs.copyFileSync(HELLO, path.join(dir, 'dropped.wasm'))
      const [info] = (await store.list())
      assert.equal(info.sha256, helloSha)
      const meta = JSON.parse(fs.readFileSync(path.join(dir, '.meta', 'dropped.wasm'), 'utf8'))
      assert.equal(meta.sha256, helloSha)
      // list() trusts the sidecar while the file is unchanged: a planted digest shows through
      fs.writeFileSync(path.join(dir, '.meta', 'dropped.wasm'), JSON.stringify({ ...meta, sha256: 'f'.repeat(64) }))
      assert.equal((await store.list())[0].sha256, 'f'.repeat(64))
      // ... and recomputes once the file changes
      fs.writeFileSync(path.join(dir, 'dropped.wasm'), trivialBytes)
      assert.equal((await store.list())[0].sha256, createHash('sha256').update(trivialBytes).digest('hex'))
    })

    it('hashes a large unknown file off the event loop, reporting progress; the loop keeps turning', async function () {
      fs.mkdirSync(dir, { recursive: true })
      const big = path.join(dir, 'big.wasm')
      const size = 48 * 1024 * 1024
      fs.writeFileSync(big, Buffer.alloc(0))
      fs.truncateSync(big, size) // sparse: 48 MiB of zeros to read and hash
      let turns = 0
      let turning = true
      const turn = () => {
        turns++
        if (turning) setImmediate(turn)
      }
      setImmediate(turn)
      const progress: { name: string; received: number; total?: number }[] = []
      const listed = store.list({ onProgress: (p) => progress.push({ ...p }) })
      const [info] = await listed
      turning = false
      assert.equal(info.sha256, createHash('sha256').update(Buffer.alloc(size)).digest('hex'))
      assert.equal(progress.length, 48, 'one report per MiB')
      assert.deepEqual(progress[progress.length - 1], { name: 'big.wasm', received: size, total: size })
      assert.ok(progress.every((p, i) => p.received === (i + 1) * 1024 * 1024))
      // the event loop ran between the chunks (a synchronous hash allows 0 turns)
      assert.ok(turns >= progress.length / 2, `${turns} event-loop turns while 48 chunks were hashed`)
      // hashed once: the sidecar answers the next call without progress
      progress.length = 0
      assert.equal((await store.get('big.wasm', { onProgress: (p) => progress.push(p) }))?.sha256, info.sha256)
      assert.equal(progress.length, 0)
      await assert.rejects(store.list({ onProgres: () => {} } as never), TypeError)
    })

    it('two processes adding and removing one name at once: every failure is an OcreError with a code', async function () {
      this.timeout(60_000)
      fs.mkdirSync(dir, { recursive: true })
      const lib = JSON.stringify(path.join(__dirname, '..', 'lib', 'images', 'index.ts'))
      const errors = JSON.stringify(path.join(__dirname, '..', 'lib', 'errors.ts'))
      const code = `
        const { ImageStore } = require(${lib})
        const { OcreError } = require(${errors})
        const store = new ImageStore(process.argv[1])
        const bytes = require('node:fs').readFileSync(process.argv[2])
        const seen = {}
        ;(async () => {
          for (let i = 0; i < 150; i++) {
            for (const op of [
              () => store.add('race.wasm', bytes, { replace: true }),
              () => store.add('race.wasm', bytes),
              () => store.get('race.wasm'),
              () => store.list(),
              () => store.remove('race.wasm'),
            ]) {
              try {
                await op()
              } catch (err) {
                const key = err instanceof OcreError ? err.code : 'not an OcreError: ' + (err.code || '') + ' ' + err.message
                seen[key] = (seen[key] || 0) + 1
              }
            }
          }
          process.stdout.write(JSON.stringify(seen))
        })()
      `
      const one = () =>
        new Promise<Record<string, number>>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '-e', code, dir, HELLO], { stdio: ['ignore', 'pipe', 'inherit'] })
          let out = ''
          child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
          child.once('error', reject)
          child.once('close', (status) => (status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited with ${status}`))))
        })
      const results = await Promise.all([one(), one()])
      for (const seen of results)
        for (const key of Object.keys(seen))
          assert.match(key, /^ERR_OCRE_(EXISTS|IMAGE_NOT_FOUND)$/, `unexpected failure: ${key} (${JSON.stringify(results)})`)
    })

    it('lists only regular files with valid names, sorted', async function () {
      fs.mkdirSync(path.join(dir, 'subdir'), { recursive: true })
      fs.writeFileSync(path.join(dir, 'README.TXT'), 'x')
      fs.writeFileSync(path.join(dir, '.hidden'), 'x')
      await store.add('b.wasm', helloBytes)
      await store.add('a.wasm', helloBytes)
      assert.deepEqual(
        (await store.list()).map((i) => i.name),
        ['a.wasm', 'b.wasm'],
      )
    })

    it('returns an empty list for a missing directory', async function () {
      assert.deepEqual(await new ImageStore(path.join(tmpdir(), 'none'), () => false).list(), [])
    })
  })

  describe('remove', function () {
    it('removes the image and its sidecar', async function () {
      await store.add('x.wasm', helloBytes)
      assert.ok(fs.existsSync(path.join(dir, '.meta', 'x.wasm')))
      await store.remove('x.wasm')
      assert.ok(!(await store.has('x.wasm')))
      assert.ok(!fs.existsSync(path.join(dir, '.meta', 'x.wasm')))
    })

    it('fails with ERR_OCRE_IMAGE_NOT_FOUND for a missing image', async function () {
      await rejectsCode(store.remove('nope.wasm'), 'ERR_OCRE_IMAGE_NOT_FOUND')
      await rejectsCode(store.remove('../x'), 'ERR_OCRE_INVALID_NAME')
    })

    it('refuses an image in use with ERR_OCRE_IN_USE', async function () {
      const used = new Set(['x.wasm'])
      const s = new ImageStore(dir, (name) => used.has(name))
      await s.add('x.wasm', helloBytes)
      await rejectsCode(s.remove('x.wasm'), 'ERR_OCRE_IN_USE')
      assert.ok(await s.has('x.wasm'))
      used.clear()
      await s.remove('x.wasm')
      assert.ok(!(await s.has('x.wasm')))
    })
  })

  describe('with a context (ctx.images)', function () {
    it('refuses to remove an image that an existing container uses, in any state', async function () {
      let api: typeof import('../lib/index')
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        api = require('../lib/index')
      } catch (err) {
        console.log(`      (skipped: the runtime does not load: ${(err as Error).message.split('\n')[0]})`)
        return this.skip()
      }
      const ctx = await api.open({ workdir: tmpdir() })
      try {
        await ctx.images.add('used.wasm', helloBytes)
        await ctx.images.add('free.wasm', helloBytes)
        const c = await ctx.create({ image: 'used.wasm', stdio: 'ignore' })
        await rejectsCode(ctx.images.remove('used.wasm'), 'ERR_OCRE_IN_USE') // created
        await ctx.images.remove('free.wasm')
        await c.start()
        await rejectsCode(ctx.images.remove('used.wasm'), 'ERR_OCRE_IN_USE') // stopped
        await c.remove()
        await ctx.images.remove('used.wasm')
        assert.deepEqual((await ctx.images.list()), [])
      } finally {
        await ctx.close()
      }
    })
  })

  describe('pull', function () {
    let server: Awaited<ReturnType<typeof serve>> | undefined
    afterEach(async function () {
      await server?.close()
      server = undefined
    })

    const big = bigWasm(3 * 1024 * 1024 + 17)
    const half = Math.floor(big.length / 2)

    /** Serves big.wasm (with Content-Length), redirects, errors, stalls. */
    function routes(): Handler {
      return (req, res) => {
        const u = new URL(req.url!, 'http://x')
        const m = /^\/hop\/(\d+)$/.exec(u.pathname)
        if (m) {
          const n = Number(m[1])
          res.writeHead(302, { location: n > 0 ? `/hop/${n - 1}` : '/files/hello.wasm' }).end()
        } else if (u.pathname === '/files/hello.wasm') {
          res.writeHead(200, { 'content-type': 'application/wasm', 'content-length': helloBytes.length }).end(helloBytes)
        } else if (u.pathname === '/big.wasm') {
          res.writeHead(200, { 'content-length': big.length })
          res.end(big)
        } else if (u.pathname === '/chunked/big.wasm') {
          res.writeHead(200) // no length: chunked
          let off = 0
          const step = () => {
            while (off < big.length) {
              const ok = res.write(big.subarray(off, off + 65536))
              off += 65536
              if (!ok) return void res.once('drain', step)
            }
            res.end()
          }
          step()
        } else if (u.pathname === '/half/big.wasm') {
          // sends half, then stalls with the connection open
          res.writeHead(200, { 'content-length': big.length })
          res.write(big.subarray(0, half))
        } else if (u.pathname === '/cut/big.wasm') {
          // sends half, then closes the connection
          res.writeHead(200, { 'content-length': big.length })
          res.write(big.subarray(0, half), () => res.socket?.destroy())
        } else if (u.pathname === '/text.wasm') {
          res.writeHead(200).end('<html>not wasm</html>')
        } else {
          res.writeHead(404, 'Not Found').end('no')
        }
      }
    }

    it('downloads an image, naming it after the URL path', async function () {
      server = await serve(routes())
      const info = await store.pull(`${server.url}/files/hello.wasm`)
      assert.equal(info.name, 'hello.wasm')
      assert.equal(info.sha256, helloSha)
      assert.deepEqual(dirEntries(dir), ['hello.wasm'])
    })

    it('reports progress with the total when the length is known', async function () {
      server = await serve(routes())
      const seen: Progress[] = []
      await store.pull(`${server.url}/big.wasm`, { name: 'big.wasm', onProgress: (p) => seen.push(p) })
      assert.ok(seen.length > 1, 'several progress reports')
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i].received > seen[i - 1].received)
      assert.ok(seen.every((p) => p.total === big.length))
      assert.equal(seen.at(-1)!.received, big.length)
    })

    it('reports progress without a total for a chunked response', async function () {
      server = await serve(routes())
      const seen: Progress[] = []
      const info = await store.pull(`${server.url}/chunked/big.wasm`, { onProgress: (p) => seen.push(p) })
      assert.equal(info.size, big.length)
      assert.ok(seen.length > 1)
      assert.ok(seen.every((p) => !('total' in p)))
      assert.equal(seen.at(-1)!.received, big.length)
    })

    it('follows up to 5 redirects', async function () {
      server = await serve(routes())
      const info = await store.pull(`${server.url}/hop/4`, { name: 'hop.wasm' }) // 5 redirects
      assert.equal(info.sha256, helloSha)
    })

    it('fails with ERR_OCRE_PULL after more than 5 redirects', async function () {
      server = await serve(routes())
      await rejectsCode(store.pull(`${server.url}/hop/5`, { name: 'hop.wasm' }), 'ERR_OCRE_PULL', /too many redirects/)
      assert.deepEqual(dirEntries(dir), [])
    })

    it('fails with ERR_OCRE_PULL and the status for a non-2xx response', async function () {
      server = await serve(routes())
      await rejectsCode(store.pull(`${server.url}/missing.wasm`), 'ERR_OCRE_PULL', /HTTP 404 Not Found/)
      assert.deepEqual(dirEntries(dir), [])
    })

    it('fails with ERR_OCRE_PULL when the connection is refused', async function () {
      server = await serve(routes())
      const url = `${server.url}/files/hello.wasm`
      await server.close()
      server = undefined
      await rejectsCode(store.pull(url), 'ERR_OCRE_PULL', /ECONNREFUSED/)
    })

    it('rejects a download that is not WebAssembly, leaving nothing', async function () {
      server = await serve(routes())
      await rejectsCode(store.pull(`${server.url}/text.wasm`), 'ERR_OCRE_INVALID_IMAGE')
      assert.deepEqual(dirEntries(dir), [])
    })

    it('verifies the sha256 option', async function () {
      server = await serve(routes())
      await rejectsCode(
        store.pull(`${server.url}/files/hello.wasm`, { sha256: 'a'.repeat(64) }),
        'ERR_OCRE_DIGEST_MISMATCH',
      )
      assert.deepEqual(dirEntries(dir), [])
      await store.pull(`${server.url}/files/hello.wasm`, { sha256: helloSha })
    })

    it('refuses a Content-Length over maxBytes before downloading', async function () {
      server = await serve(routes())
      await rejectsCode(store.pull(`${server.url}/big.wasm`, { maxBytes: 1024 * 1024 }), 'ERR_OCRE_TOO_LARGE')
      assert.deepEqual(dirEntries(dir), [])
    })

    it('aborts a chunked download that grows over maxBytes', async function () {
      server = await serve(routes())
      let received = 0
      await rejectsCode(
        store.pull(`${server.url}/chunked/big.wasm`, { maxBytes: 1024 * 1024, onProgress: (p) => (received = p.received) }),
        'ERR_OCRE_TOO_LARGE',
      )
      assert.ok(received <= 1024 * 1024)
      assert.deepEqual(dirEntries(dir), [])
    })

    it('fails with ERR_OCRE_PULL when the server closes mid-body, leaving nothing', async function () {
      server = await serve(routes())
      await rejectsCode(store.pull(`${server.url}/cut/big.wasm`), 'ERR_OCRE_PULL')
      assert.deepEqual(dirEntries(dir), [])
    })

    it('aborts mid-download on the signal with an AbortError, leaving no file', async function () {
      server = await serve(routes())
      const ac = new AbortController()
      let sawTemp = false
      const p = store.pull(`${server.url}/half/big.wasm`, {
        signal: ac.signal,
        onProgress: (prog) => {
          if (prog.received >= half) {
            sawTemp = dirEntries(dir).some((n) => n.startsWith('.tmp-'))
            ac.abort()
          }
        },
      })
      await assert.rejects(p, { name: 'AbortError' })
      assert.ok(sawTemp, 'the download was going to a temp file')
      assert.deepEqual(dirEntries(dir), [])
    })

    it('aborts while waiting for the response', async function () {
      server = await serve(() => {}) // never answers
      const ac = new AbortController()
      setTimeout(() => ac.abort(), 50)
      await assert.rejects(store.pull(`${server.url}/x.wasm`, { signal: ac.signal }), { name: 'AbortError' })
      assert.deepEqual(dirEntries(dir), [])
    })

    it('gives up on a stalled download after the idle timeout', async function () {
      server = await serve(routes())
      await rejectsCode(store.pull(`${server.url}/half/big.wasm`, { timeout: 200 }), 'ERR_OCRE_PULL', /no data/)
      assert.deepEqual(dirEntries(dir), [])
    })

    it('needs a name when the URL path has no file name', async function () {
      await rejectsCode(store.pull('http://127.0.0.1:1/'), 'ERR_OCRE_INVALID_NAME', /pass a name/)
    })

    it('pulls through add() for an http URL', async function () {
      server = await serve(routes())
      const info = await store.add('via-add.wasm', new URL(`${server.url}/files/hello.wasm`))
      assert.equal(info.sha256, helloSha)
    })

    it('leaves no file behind when the pulling process is killed (swept by the next operation)', async function () {
      server = await serve(routes())
      const script = `
        const { ImageStore } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'images', 'index.ts'))})
        new ImageStore(${JSON.stringify(dir)}, () => false).pull(${JSON.stringify(server.url + '/half/big.wasm')})
      `
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: 'ignore' })
      try {
        // wait for the temp file to reach half the size
        const deadline = Date.now() + 15000
        let temp: string | undefined
        while (Date.now() < deadline) {
          temp = dirEntries(dir).find((n) => n.startsWith('.tmp-'))
          if (temp && fs.statSync(path.join(dir, temp)).size >= half) break
          await new Promise((r) => setTimeout(r, 20))
        }
        assert.ok(temp && fs.statSync(path.join(dir, temp)).size >= half, 'the child wrote half the image to a temp file')
        child.kill('SIGKILL')
        await new Promise((r) => child.once('exit', r))
        assert.deepEqual(dirEntries(dir), [temp], 'a killed process cannot clean up after itself')
        assert.deepEqual((await store.list()), [], 'the partial download is never an image')
        assert.deepEqual(dirEntries(dir), [], 'and the next store operation sweeps it')
      } finally {
        child.kill('SIGKILL')
      }
    })
  })
})

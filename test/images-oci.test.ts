// OCI registry pull and push against Debian's real registry (docker-registry,
// distribution 2.8) started on 127.0.0.1 with a temp config: one run without
// authentication, one with htpasswd Basic auth, and the Bearer token flow
// through a small local token server in front of the first. Bad input from
// small local HTTP servers (redirect loop, stall) and from the registry's
// storage tampered with on disk (wrong manifest digest, blob mismatch). Every
// failure must be a clear OcreError and leave nothing in the store.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { ImageStore } from '../lib/images'
import { parseChallenge } from '../lib/registry/auth'
import { parseOciReference } from '../lib/registry/reference'
import { rejectsCode } from './helpers'

const ROOT = path.resolve(__dirname, '..')
const FIXTURES = path.join(__dirname, 'fixtures')
const HELLO = fs.readFileSync(path.join(FIXTURES, 'hello.wasm'))
const TRIVIAL = fs.readFileSync(path.join(FIXTURES, 'trivial.wasm'))
const haveRegistry = spawnSync('docker-registry', ['--version'], { stdio: 'ignore' }).status === 0
const haveHtpasswd = spawnSync('htpasswd', ['-h'], { stdio: 'ignore' }).error === undefined
const SKIP = 'docker-registry is not installed (Debian: apt-get install docker-registry)'

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

interface Registry {
  host: string
  dir: string
  stop(): Promise<void>
}

/** docker-registry on 127.0.0.1:<free port>; resolves once it logs that it listens. */
async function startRegistry(auth?: { user: string; password: string }): Promise<Registry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-registry-'))
  const port = await freePort()
  let authConfig = ''
  if (auth) {
    const r = spawnSync('htpasswd', ['-Bbn', auth.user, auth.password], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    fs.writeFileSync(path.join(dir, 'htpasswd'), r.stdout)
    authConfig = `auth:\n  htpasswd:\n    realm: ocre-test\n    path: ${path.join(dir, 'htpasswd')}\n`
  }
  fs.writeFileSync(
    path.join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\n` +
      `  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: ocre-test\n${authConfig}`,
  )
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (d: string) => {
      log += d
      if (log.includes(`listening on 127.0.0.1:${port}`)) resolve()
    })
    child.once('exit', (code) => reject(new Error(`docker-registry exited (${code}):\n${log}`)))
  })
  child.stderr!.resume()
  return {
    host: `127.0.0.1:${port}`,
    dir,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => {
          fs.rmSync(dir, { recursive: true, force: true })
          resolve()
        })
        child.kill('SIGTERM')
      }),
  }
}

/** Raw distribution-API uploads, to seed shapes `push()` never makes. */
async function uploadBlob(host: string, repo: string, bytes: Buffer, headers: Record<string, string> = {}): Promise<string> {
  const digest = sha(bytes)
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers })
  assert.equal(start.status, 202, await start.text())
  const loc = new URL(start.headers.get('location')!, `http://${host}`)
  loc.searchParams.set('digest', digest)
  const put = await fetch(loc, { method: 'PUT', body: bytes, headers: { ...headers, 'content-type': 'application/octet-stream' } })
  assert.equal(put.status, 201, await put.text())
  return digest
}

async function putManifest(host: string, repo: string, ref: string, mediaType: string, body: object): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(JSON.stringify(body))
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } })
  assert.equal(r.status, 201, await r.text())
  return { digest: sha(bytes), size: bytes.length }
}

/** An OCI image manifest with `layers` (each: [mediaType, bytes]) in `repo:tag`. */
async function seedImage(host: string, repo: string, tag: string, layers: [string, Buffer][]): Promise<{ digest: string; size: number }> {
  const config = Buffer.from('{}')
  const configDigest = await uploadBlob(host, repo, config)
  const descriptors = []
  for (const [mediaType, bytes] of layers)
    descriptors.push({ mediaType, digest: await uploadBlob(host, repo, bytes), size: bytes.length })
  return putManifest(host, repo, tag, 'application/vnd.oci.image.manifest.v1+json', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: descriptors,
  })
}

/** The file of a blob in the registry's filesystem storage. */
function blobFile(reg: Registry, digest: string): string {
  const hex = digest.slice('sha256:'.length)
  return path.join(reg.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data')
}

/** Flip one byte at `offset` of a stored blob (same length: the registry serves it as is). */
function corrupt(reg: Registry, digest: string, offset: number): void {
  const file = blobFile(reg, digest)
  const bytes = fs.readFileSync(file)
  bytes[offset] ^= 0x01
  fs.writeFileSync(file, bytes)
}

function newStore(): { dir: string; store: ImageStore } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-oci-store-'))
  return { dir, store: new ImageStore(path.join(dir, 'images')) }
}

/** Nothing but the store's own (empty) bookkeeping: no image, no temp file. */
function assertEmpty(dir: string): void {
  const images = path.join(dir, 'images')
  const left = fs.existsSync(images) ? fs.readdirSync(images).filter((f) => f !== '.meta' && f !== '.aot') : []
  assert.deepEqual(left, [], 'the failed pull left files in the store')
}

function writeAuthFile(dir: string, host: string, user: string, password: string): string {
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }))
  return file
}

/** A local HTTP server answering every request with `handler`. */
async function server(handler: http.RequestListener): Promise<{ host: string; close(): Promise<void> }> {
  const s = http.createServer(handler)
  const sockets = new Set<net.Socket>()
  s.on('connection', (c) => {
    sockets.add(c)
    c.on('close', () => sockets.delete(c))
  })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  return {
    host: `127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of sockets) c.destroy()
        s.close(() => resolve())
      }),
  }
}

describe('OCI registry: pull and push (docker-registry, no authentication)', function () {
  this.timeout(60_000)
  let reg: Registry
  let work: { dir: string; store: ImageStore }

  before(async function () {
    if (!haveRegistry) {
      process.stdout.write(`      skipped: ${SKIP}\n`)
      this.skip()
    }
    reg = await startRegistry()
  })
  after(async () => {
    await reg?.stop()
  })
  beforeEach(() => {
    work = newStore()
    fs.mkdirSync(path.join(work.dir, 'images'))
  })
  afterEach(() => fs.rmSync(work.dir, { recursive: true, force: true }))

  it('push publishes a wasm artifact; pull by tag, by digest and in the plain HOST/REPO:TAG form gets the same bytes', async () => {
    await work.store.add('local.wasm', HELLO)
    const pushed = await work.store.push('local.wasm', `oci://${reg.host}/apps/hello:1.0`)
    assert.equal(pushed.reference, `oci://${reg.host}/apps/hello:1.0`)
    assert.match(pushed.digest, /^sha256:[0-9a-f]{64}$/)
    assert.equal(pushed.size, HELLO.length)

    // what a registry client sees: an OCI manifest with one wasm layer
    const m = await fetch(`http://${reg.host}/v2/apps/hello/manifests/1.0`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
    const manifest = (await m.json()) as { mediaType: string; config: { mediaType: string }; layers: { mediaType: string; digest: string }[] }
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    assert.equal(manifest.config.mediaType, 'application/vnd.wasm.config.v0+json')
    assert.deepEqual(
      manifest.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest]),
      [['application/vnd.wasm.content.layer.v1+wasm', sha(HELLO)]],
    )

    const progress: number[] = []
    const a = await work.store.pull(`oci://${reg.host}/apps/hello:1.0`, { onProgress: (p) => progress.push(p.total ?? -1) })
    assert.equal(a.name, 'hello.wasm', 'default name: the repository, + .wasm')
    assert.ok(progress.length > 0 && progress.every((t) => t === HELLO.length), 'progress knows the total')
    const b = await work.store.pull(`oci://${reg.host}/apps/hello@${pushed.digest}`, { name: 'pinned.wasm' })
    const c = await work.store.pull(`${reg.host}/apps/hello:1.0`, { name: 'plain.wasm' })
    for (const info of [a, b, c]) {
      assert.equal(info.sha256, sha(HELLO).slice(7))
      assert.deepEqual(fs.readFileSync(info.path), HELLO)
    }
  })

  it('an image index: the wasi/wasm platform entry is pulled (not the first one)', async () => {
    const linux = await seedImage(reg.host, 'multi/app', 'linux', [['application/vnd.oci.image.layer.v1.tar', Buffer.from('not wasm')]])
    const wasm = await seedImage(reg.host, 'multi/app', 'wasm', [['application/vnd.wasm.content.layer.v1+wasm', TRIVIAL]])
    await putManifest(reg.host, 'multi/app', 'v1', 'application/vnd.oci.image.index.v1+json', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...linux, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...wasm, platform: { os: 'wasip1', architecture: 'wasm' } },
      ],
    })
    const info = await work.store.pull(`oci://${reg.host}/multi/app:v1`)
    assert.equal(info.name, 'app.wasm')
    assert.deepEqual(fs.readFileSync(info.path), TRIVIAL)
  })

  it('an image index without a wasi/wasm entry: ERR_OCRE_INVALID_IMAGE naming the platforms; nothing stored', async () => {
    const linux = await seedImage(reg.host, 'linux/only', 'x', [['application/vnd.oci.image.layer.v1.tar', Buffer.from('tar')]])
    await putManifest(reg.host, 'linux/only', 'idx', 'application/vnd.oci.image.index.v1+json', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...linux, platform: { os: 'linux', architecture: 'arm64' } }],
    })
    await rejectsCode(work.store.pull(`oci://${reg.host}/linux/only:idx`), 'ERR_OCRE_INVALID_IMAGE', /no wasi\/wasm platform entry \(platforms: linux\/arm64\)/)
    assertEmpty(work.dir)
  })

  it('a single-layer image whose layer is the module (generic media type) is pulled', async () => {
    await seedImage(reg.host, 'single/mod', 'v1', [['application/octet-stream', TRIVIAL]])
    const info = await work.store.pull(`oci://${reg.host}/single/mod:v1`)
    assert.deepEqual(fs.readFileSync(info.path), TRIVIAL)
  })

  it('non-wasm layers: a filesystem tar layer, or a single layer that is not WebAssembly: ERR_OCRE_INVALID_IMAGE; nothing stored', async () => {
    await seedImage(reg.host, 'bad/tar', 'v1', [['application/vnd.oci.image.layer.v1.tar+gzip', Buffer.from('gzip?')]])
    await rejectsCode(work.store.pull(`oci://${reg.host}/bad/tar:v1`), 'ERR_OCRE_INVALID_IMAGE', /no WebAssembly layer \(layers: application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip\).*tar layers are not supported/)
    assertEmpty(work.dir)
    await seedImage(reg.host, 'bad/text', 'v1', [['application/vnd.wasm.content.layer.v1+wasm', Buffer.from('hello, not wasm\n')]])
    await rejectsCode(work.store.pull(`oci://${reg.host}/bad/text:v1`), 'ERR_OCRE_INVALID_IMAGE')
    assertEmpty(work.dir)
  })

  it('a manifest whose bytes do not match its digest: ERR_OCRE_DIGEST_MISMATCH; nothing stored', async () => {
    // blobs are shared by content across repositories: this manifest (its
    // title) and the blob below are used by this test only
    await work.store.add('tamper-only.wasm', HELLO)
    const pushed = await work.store.push('tamper-only.wasm', `${reg.host}/tamper/manifest:v1`)
    fs.rmSync(path.join(work.dir, 'images', 'tamper-only.wasm'))
    fs.rmSync(path.join(work.dir, 'images', '.meta'), { recursive: true, force: true })
    corrupt(reg, pushed.digest, 20) // inside the JSON, same length
    await rejectsCode(work.store.pull(`oci://${reg.host}/tamper/manifest@${pushed.digest}`), 'ERR_OCRE_DIGEST_MISMATCH', /manifest .* has digest sha256:[0-9a-f]{64}, expected/)
    await rejectsCode(work.store.pull(`oci://${reg.host}/tamper/manifest:v1`), 'ERR_OCRE_DIGEST_MISMATCH')
    assertEmpty(work.dir)
  })

  it('a blob that does not match its descriptor: ERR_OCRE_DIGEST_MISMATCH; nothing stored', async () => {
    const own = Buffer.concat([HELLO, Buffer.from('tamper-blob')])
    await seedImage(reg.host, 'tamper/blob', 'v1', [['application/vnd.wasm.content.layer.v1+wasm', own]])
    corrupt(reg, sha(own), own.length - 3)
    await rejectsCode(work.store.pull(`oci://${reg.host}/tamper/blob:v1`), 'ERR_OCRE_DIGEST_MISMATCH', /blob of .* does not match its descriptor/)
    assertEmpty(work.dir)
  })

  it('size limit, unknown manifests and bad references', async () => {
    await seedImage(reg.host, 'big/one', 'v1', [['application/vnd.wasm.content.layer.v1+wasm', HELLO]])
    await rejectsCode(work.store.pull(`oci://${reg.host}/big/one:v1`, { maxBytes: 100 }), 'ERR_OCRE_TOO_LARGE')
    await rejectsCode(work.store.pull(`oci://${reg.host}/no/such:v1`), 'ERR_OCRE_PULL', /not found \(HTTP 404\)/)
    await assert.rejects(work.store.pull('oci://127.0.0.1:1/UPPER:v1'), TypeError)
    await assert.rejects(work.store.pull(`oci://${reg.host}/x@sha256:abc`), /sha256:<64 lowercase hex digits>/)
    await assert.rejects(work.store.push('hello.wasm', 'not a reference'), TypeError)
    await rejectsCode(work.store.push('missing.wasm', `${reg.host}/a/b:c`), 'ERR_OCRE_IMAGE_NOT_FOUND')
    assertEmpty(work.dir)
  })

  it('a redirect loop: ERR_OCRE_PULL (too many redirects); nothing stored', async () => {
    const loop = await server((req, res) => {
      res.writeHead(302, { location: req.url })
      res.end()
    })
    try {
      await rejectsCode(work.store.pull(`oci://${loop.host}/loop/app:v1`), 'ERR_OCRE_PULL', /too many redirects/)
    } finally {
      await loop.close()
    }
    assertEmpty(work.dir)
  })

  it('a registry that stalls (no answer, or a blob that stops halfway): ERR_OCRE_PULL after the idle timeout; nothing stored', async () => {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(Buffer.from('{}')), size: 2 },
        layers: [{ mediaType: 'application/vnd.wasm.content.layer.v1+wasm', digest: sha(HELLO), size: HELLO.length }],
      }),
    )
    const stall = await server((req, res) => {
      if (req.url?.includes('/manifests/silent')) return // never answers
      if (req.url?.includes('/manifests/')) {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })
        res.end(manifest)
        return
      }
      res.writeHead(200, { 'content-length': String(HELLO.length) })
      res.write(HELLO.subarray(0, 100)) // then nothing
    })
    try {
      await rejectsCode(work.store.pull(`oci://${stall.host}/s/app:silent`, { timeout: 300 }), 'ERR_OCRE_PULL', /no data from 127\.0\.0\.1:\d+ for 0\.3 s/)
      await rejectsCode(work.store.pull(`oci://${stall.host}/s/app:half`, { timeout: 300 }), 'ERR_OCRE_PULL', /no data from .* \(GET \/v2\/s\/app\/blobs\//)
    } finally {
      await stall.close()
    }
    assertEmpty(work.dir)
  })

  it('an aborted pull rejects with AbortError; nothing stored', async () => {
    const stall = await server(() => {})
    const ac = new AbortController()
    try {
      const p = work.store.pull(`oci://${stall.host}/s/app:v1`, { signal: ac.signal })
      ac.abort()
      await assert.rejects(p, { name: 'AbortError' })
    } finally {
      await stall.close()
    }
    assertEmpty(work.dir)
  })

  describe('Bearer tokens (a local token server in front of the registry)', () => {
    let front: { host: string; close(): Promise<void> }
    const tokenRequests: { scope: string | null; service: string | null; basic: string | null }[] = []

    before(async () => {
      let frontHost = ''
      front = await server((req, res) => {
        const url = new URL(req.url ?? '/', `http://${frontHost}`)
        if (url.pathname === '/token') {
          const basic = req.headers.authorization?.startsWith('Basic ')
            ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString()
            : null
          tokenRequests.push({ scope: url.searchParams.get('scope'), service: url.searchParams.get('service'), basic })
          const push = url.searchParams.get('scope')?.includes('push')
          if (push && basic !== 'alice:secret') {
            res.writeHead(401)
            res.end()
            return
          }
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ token: push ? 'push-token' : 'pull-token' }))
          return
        }
        const auth = req.headers.authorization
        const isPush = req.method !== 'GET' && req.method !== 'HEAD'
        if (auth !== 'Bearer push-token' && (isPush || auth !== 'Bearer pull-token')) {
          const repo = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? ''
          res.writeHead(401, {
            'www-authenticate': `Bearer realm="http://${frontHost}/token",service="ocre-test",scope="repository:${repo}:${isPush ? 'pull,push' : 'pull'}"`,
          })
          res.end()
          return
        }
        // forward to the real registry (its Location headers name this host: it builds them from Host)
        const up = http.request({ host: '127.0.0.1', port: Number(reg.host.split(':')[1]), method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers)
          r.pipe(res)
        })
        req.pipe(up)
      })
      frontHost = front.host
    })
    after(async () => {
      await front?.close()
    })

    it('pulls anonymously with a token for the pull scope; pushes with a token got with credentials', async () => {
      await work.store.add('hello.wasm', HELLO)
      await rejectsCode(work.store.push('hello.wasm', `${front.host}/tok/app:v1`, { authFile: path.join(work.dir, 'none.json') }), 'ERR_OCRE_AUTH', /cannot read the credentials file/)
      const empty = path.join(work.dir, 'empty.json')
      fs.writeFileSync(empty, '{"auths":{}}')
      await rejectsCode(work.store.push('hello.wasm', `${front.host}/tok/app:v1`, { authFile: empty }), 'ERR_OCRE_AUTH', /refused|requires authentication/)
      const authFile = writeAuthFile(work.dir, front.host, 'alice', 'secret')
      const pushed = await work.store.push('hello.wasm', `${front.host}/tok/app:v1`, { authFile })
      assert.ok(tokenRequests.some((t) => t.basic === 'alice:secret' && t.scope === 'repository:tok/app:pull,push' && t.service === 'ocre-test'))
      tokenRequests.length = 0
      const info = await work.store.pull(`oci://${front.host}/tok/app@${pushed.digest}`, { name: 'tok.wasm', authFile: empty })
      assert.deepEqual(fs.readFileSync(info.path), HELLO)
      assert.deepEqual(tokenRequests, [{ scope: 'repository:tok/app:pull', service: 'ocre-test', basic: null }])
    })
  })
})

describe('OCI registry: htpasswd Basic authentication (docker-registry)', function () {
  this.timeout(60_000)
  let reg: Registry
  let work: { dir: string; store: ImageStore }

  before(async function () {
    if (!haveRegistry || !haveHtpasswd) {
      process.stdout.write(`      skipped: ${haveRegistry ? 'htpasswd is not installed (apt-get install apache2-utils)' : SKIP}\n`)
      this.skip()
    }
    reg = await startRegistry({ user: 'bob', password: 'hunter2' })
  })
  after(async () => {
    await reg?.stop()
  })
  beforeEach(async function () {
    work = newStore()
    await work.store.add('hello.wasm', HELLO)
  })
  afterEach(() => fs.rmSync(work.dir, { recursive: true, force: true }))

  it('without credentials: ERR_OCRE_AUTH naming the registry and the credentials file', async () => {
    const empty = path.join(work.dir, 'config.json')
    fs.writeFileSync(empty, '{}')
    await rejectsCode(work.store.push('hello.wasm', `${reg.host}/priv/app:v1`, { authFile: empty }), 'ERR_OCRE_AUTH', new RegExp(`${reg.host} requires authentication .* no credentials for ${reg.host} in ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    await rejectsCode(work.store.pull(`${reg.host}/priv/app:v1`, { name: 'x.wasm', authFile: empty }), 'ERR_OCRE_AUTH')
  })

  it('with a wrong password: ERR_OCRE_AUTH (refused); with the right one (docker config.json): push and pull', async () => {
    const wrong = writeAuthFile(fs.mkdtempSync(path.join(work.dir, 'w-')), reg.host, 'bob', 'nope')
    await rejectsCode(work.store.push('hello.wasm', `${reg.host}/priv/app:v1`, { authFile: wrong }), 'ERR_OCRE_AUTH', /refused the credentials of user 'bob'/)
    const right = writeAuthFile(work.dir, reg.host, 'bob', 'hunter2')
    await work.store.push('hello.wasm', `${reg.host}/priv/app:v1`, { authFile: right })
    const info = await work.store.pull(`oci://${reg.host}/priv/app:v1`, { name: 'priv.wasm', authFile: right })
    assert.deepEqual(fs.readFileSync(info.path), HELLO)
  })

  it('the ocre command line: image push and image pull with --auth-file (DOCKER_CONFIG also works)', async () => {
    const tsx = pathToFileURL(require.resolve('tsx')).href
    const main = path.join(ROOT, 'lib', 'cli', 'main.ts')
    const cfgDir = fs.mkdtempSync(path.join(work.dir, 'docker-'))
    writeAuthFile(cfgDir, reg.host, 'bob', 'hunter2')
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, ['--import', tsx, main, '--workdir', work.dir, ...args], {
        encoding: 'utf8',
        env: { ...process.env, DOCKER_CONFIG: '', REGISTRY_AUTH_FILE: '', HOME: work.dir, ...env },
      })
    const push = cli(['image', 'push', 'hello.wasm', `oci://${reg.host}/cli/app:v2`, '--auth-file', path.join(cfgDir, 'config.json')])
    assert.equal(push.status, 0, push.stderr)
    assert.match(push.stdout, new RegExp(`^Pushed hello.wasm to oci://${reg.host}/cli/app:v2 digest sha256:[0-9a-f]{64}\\n$`))
    const pull = cli(['image', 'pull', `${reg.host}/cli/app:v2`, 'cli.wasm'], { DOCKER_CONFIG: cfgDir })
    assert.equal(pull.status, 0, pull.stderr)
    assert.match(pull.stdout, /^Pulled cli\.wasm sha256:[0-9a-f]{64}\n$/)
    const denied = cli(['image', 'pull', `${reg.host}/cli/app:v2`, 'no.wasm'])
    assert.notEqual(denied.status, 0)
    assert.match(denied.stderr, /requires authentication/)
    assert.ok(!fs.existsSync(path.join(work.dir, 'images', 'no.wasm')))
  })
})

describe('OCI references and challenges (no registry needed)', () => {
  it('parses oci:// and plain HOST/REPO forms; a plain string without a registry host is not a reference', () => {
    assert.deepEqual(parseOciReference('oci://localhost:5000/a/b:1.0'), { registry: 'localhost:5000', repository: 'a/b', tag: '1.0' })
    assert.deepEqual(parseOciReference(`ghcr.io/acme/app@sha256:${'a'.repeat(64)}`), { registry: 'ghcr.io', repository: 'acme/app', digest: `sha256:${'a'.repeat(64)}` })
    assert.deepEqual(parseOciReference('oci://[::1]:5000/x'), { registry: '[::1]:5000', repository: 'x', tag: 'latest' })
    assert.deepEqual(parseOciReference('docker.io/hello'), { registry: 'docker.io', repository: 'library/hello', tag: 'latest' })
    for (const notOne of ['hello.wasm', 'dir/hello.wasm', 'https://example.com/a.wasm', 'file:///tmp/a.wasm', 'acme/app:1'])
      assert.equal(parseOciReference(notOne), null, notOne)
    assert.throws(() => parseOciReference('oci://host'), /no repository after the host/)
    assert.throws(() => parseOciReference('oci://h:99999/a'), /port 99999 is out of range/)
    assert.throws(() => parseOciReference('oci://h.io/A/b'), /not a valid repository name/)
    assert.throws(() => parseOciReference('oci://h.io/a:-bad'), /not a valid tag/)
  })

  it('parses Basic and Bearer challenges (quoted values, escapes, unquoted values)', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull' },
    })
    assert.deepEqual(parseChallenge('Basic realm="say \\"hi\\""'), { scheme: 'basic', params: { realm: 'say "hi"' } })
    assert.deepEqual(parseChallenge('bearer realm=http://x/t, service=s'), { scheme: 'bearer', params: { realm: 'http://x/t', service: 's' } })
    assert.equal(parseChallenge('Negotiate abc'), null)
    assert.equal(parseChallenge(null), null)
  })
})

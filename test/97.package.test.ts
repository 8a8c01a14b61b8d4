// The npm package as a user gets it: `npm pack` (which runs prepack: the
// prebuilds), then `npm install <tarball>` into a fresh temp project, offline
// from the local npm cache, with a PATH that holds Node and nothing else (no
// cmake, no compiler). Checks the file list, the size, `npx ocre --version`,
// ESM and CJS imports (which addon file loads), the types (tsc, node16
// resolution, both module kinds), and the source-build fallback's error when
// cmake is missing. The cross prebuilds are packed only where the cross
// compilers are installed (otherwise the arm checks skip, saying why).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const ROOT = path.resolve(__dirname, '..')
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const CROSS = ['aarch64-linux-gnu-g++', 'arm-linux-gnueabihf-g++']
const haveCross = CROSS.every((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0)
const NPM_CLI = path.join(path.dirname(path.dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')

/**
 * At most this many bytes packed: three stripped addons and three ocre-oci
 * (~0.5-0.8 MB each, compressed ~0.25-0.3 MB), three libcjson (35 KB) and text.
 */
const MAX_PACKED = 3 * 1024 * 1024
/** Beside each prebuilt addon: the OCI runtime, the cJSON it links and cJSON's notice. */
const OCI_FILES = ['ocre-oci', 'libcjson.so.1', 'libcjson.copyright']

let work: string
let tarball: string
let files: string[]
let packedSize: number
let project: string
/** A directory with `node` only: PATH for "a machine without cmake or a compiler". */
let bareBin: string

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [NPM_CLI, ...args], {
    cwd,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
}

function inProject(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, args, {
    cwd: project,
    env: { PATH: bareBin, HOME: process.env.HOME, ...extraEnv },
    encoding: 'utf8',
  })
}

let integrity: string

/**
 * A fresh project that depends on the tarball, with a lockfile whose other
 * entries (the runtime dependencies) are copied from ours, so that `npm ci
 * --offline` installs it from the local npm cache alone, as a user's
 * lockfile'd install would.
 */
function freshProject(name: string): string {
  const dir = path.join(work, name)
  fs.mkdirSync(dir)
  const spec = `file:../${path.basename(tarball)}`
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, version: '1.0.0', dependencies: { 'ocre-node': spec } }))
  const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'))
  const manifest = ours.packages['']
  const packages: Record<string, unknown> = {
    '': { name, version: '1.0.0', dependencies: { 'ocre-node': spec } },
    'node_modules/ocre-node': {
      version: manifest.version,
      resolved: spec,
      integrity,
      hasInstallScript: true,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  }
  const todo = Object.keys(manifest.dependencies)
  while (todo.length) {
    const dep = todo.pop() as string
    const key = `node_modules/${dep}`
    if (packages[key]) continue
    const entry = ours.packages[key]
    assert.ok(entry, `${dep} is not in package-lock.json`)
    packages[key] = entry
    todo.push(...Object.keys(entry.dependencies ?? {}))
  }
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages }))
  return dir
}

function install(dir: string, env: NodeJS.ProcessEnv = {}) {
  return npm(['ci', '--offline', '--no-audit', '--no-fund'], dir, env)
}

describe('npm package (npm pack, install from the tarball)', function () {
  this.timeout(20 * 60_000)

  before(function () {
    assert.ok(fs.existsSync(NPM_CLI), `npm's CLI is not at ${NPM_CLI}`)
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-pack-'))
    bareBin = path.join(work, 'bin')
    fs.mkdirSync(bareBin)
    fs.symlinkSync(process.execPath, path.join(bareBin, 'node'))
    fs.symlinkSync('/bin/sh', path.join(bareBin, 'sh')) // npm runs scripts with sh
    const r = npm(['pack', '--json', '--pack-destination', work], ROOT, haveCross ? {} : { OCRE_PREBUILD_ARCH: 'x64' })
    assert.equal(r.status, 0, `npm pack failed:\n${r.stderr}`)
    // prepack's build output comes first on stdout; npm's JSON report is last
    const json = /^\[\s*\{[\s\S]*$/m.exec(r.stdout)
    assert.ok(json, `no JSON report from npm pack:\n${r.stdout.slice(-2000)}`)
    const info = JSON.parse(json[0])[0]
    tarball = path.join(work, info.filename)
    files = info.files.map((f: { path: string }) => f.path).sort()
    packedSize = info.size
    integrity = info.integrity
    project = freshProject('app')
    const t0 = process.hrtime.bigint()
    const inst = install(project, { PATH: bareBin })
    assert.equal(inst.status, 0, `npm install of the tarball failed:\n${inst.stderr}`)
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    process.stdout.write(`      (packed ${packedSize} bytes, ${files.length} files; installed without a compiler in ${ms.toFixed(0)} ms)\n`)
  })

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  it('ships what users need: the three prebuilds, dist without source maps, ESM wrappers, docs, LICENSE', function () {
    for (const f of [
      'LICENSE',
      'README.md',
      'package.json',
      'bin/ocre.js',
      'dist/index.js',
      'dist/index.d.ts',
      'esm/index.mjs',
      'esm/index.d.mts',
      'docs/api.md',
      'docs/cli.md',
      'prebuilds/linux-x64/ocre-node.napi.glibc.node',
      'scripts/install.mjs',
      'scripts/build-addon.mjs',
      'scripts/fetch-wamr.mjs',
      'CMakeLists.txt',
      'native/addon/CMakeLists.txt',
    ])
      assert.ok(files.includes(f), `${f} is missing from the tarball`)
    for (const f of OCI_FILES) assert.ok(files.includes(`prebuilds/linux-x64/${f}`), `prebuilds/linux-x64/${f} is missing`)
    if (haveCross) {
      assert.ok(files.includes('prebuilds/linux-arm64/ocre-node.napi.armv8.glibc.node'))
      assert.ok(files.includes('prebuilds/linux-arm/ocre-node.napi.armv7.glibc.node'))
      for (const dir of ['linux-arm64', 'linux-arm'])
        for (const f of OCI_FILES) assert.ok(files.includes(`prebuilds/${dir}/${f}`), `prebuilds/${dir}/${f} is missing`)
    }
  })

  it('ships nothing users do not need: no tests, fixtures, fuzzers, maps, build trees, TS sources or WAMR', () => {
    const unwanted = files.filter((f) =>
      /^(test|bench|deps|build|lib|node_modules|\.ci)\//.test(f) ||
      /^native\/(test|fuzz)\//.test(f) ||
      /\.(map|tgz|wasm|ts)$/.test(f.replace(/\.d\.m?ts$/, '')) ||
      /^(tsconfig.*\.json|\.mocharc\.json|BENCHMARKS\.md|\.clang-format|\.gitignore)$/.test(f))
    assert.deepEqual(unwanted, [])
    assert.ok(packedSize < MAX_PACKED, `the tarball is ${packedSize} bytes (limit ${MAX_PACKED})`)
  })

  it('every packed prebuild is stripped, and the arm ones are packed (where the cross compilers exist)', function () {
    const prebuilds = files.filter((x) => x.startsWith('prebuilds/') && !x.endsWith('.copyright'))
    for (const f of prebuilds) {
      const r = spawnSync('readelf', ['-S', path.join(project, 'node_modules', 'ocre-node', f)], { encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
      assert.doesNotMatch(r.stdout, /\.symtab|\.debug_/, `${f} is not stripped`)
    }
    if (!haveCross) this.skip() // reason printed below
    assert.equal(prebuilds.filter((f) => f.endsWith('.node')).length, 3)
    assert.equal(prebuilds.filter((f) => f.endsWith('/ocre-oci')).length, 3)
  })

  it('ships the OCI runtime: `npx ocre oci-path` names the prebuilt ocre-oci, which runs a container with the libcjson beside it', async () => {
    const dir = path.join(project, 'node_modules', 'ocre-node', 'prebuilds', 'linux-x64')
    const p = npm(['exec', '--offline', '--', 'ocre', 'oci-path'], project, { PATH: bareBin })
    assert.equal(p.status, 0, p.stderr)
    const bin = p.stdout.trim()
    assert.equal(fs.realpathSync(bin), fs.realpathSync(path.join(dir, 'ocre-oci')))
    assert.ok(fs.statSync(bin).mode & 0o111, 'ocre-oci is not executable')
    // the dynamic loader takes libcjson from beside it ($ORIGIN), not from the system
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { PATH: bareBin, LD_DEBUG: 'libs' } })
    assert.equal(v.status, 0, v.stderr)
    assert.match(v.stdout, /^ocre-oci version 0\.1\.0\n/)
    assert.match(v.stderr, new RegExp(`calling init: ${fs.realpathSync(dir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/libcjson\\.so\\.1\\n`))
    // a hello run: create (its container process inherits the pipe), start, the output, the pipe's end
    const tmp = fs.mkdtempSync(path.join(work, 'oci-'))
    fs.mkdirSync(path.join(tmp, 'bundle', 'rootfs'), { recursive: true })
    fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'hello.wasm'), path.join(tmp, 'bundle', 'rootfs', 'hello.wasm'))
    fs.writeFileSync(path.join(tmp, 'bundle', 'config.json'), JSON.stringify({
      ociVersion: '1.0.2', root: { path: 'rootfs' }, process: { args: ['/hello.wasm'], cwd: '/', env: [] },
    }))
    const state = path.join(tmp, 'state')
    const create = spawn(bin, ['--root', state, 'create', '--bundle', path.join(tmp, 'bundle'), 'hello'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: bareBin },
    })
    let out = ''
    create.stdout!.setEncoding('utf8').on('data', (d) => (out += d))
    const ended = new Promise((resolve) => create.stdout!.on('end', resolve))
    assert.equal(await new Promise((resolve) => create.on('exit', resolve)), 0)
    const start = spawnSync(bin, ['--root', state, 'start', 'hello'], { encoding: 'utf8', env: { PATH: bareBin } })
    assert.equal(start.status, 0, start.stderr)
    await ended
    assert.equal(out, 'Hello from WebAssembly!\n')
    assert.equal(spawnSync(bin, ['--root', state, 'delete', 'hello']).status, 0)
  })

  it('installed with no compiler on PATH: nothing was built, the prebuild loads (CJS)', () => {
    const pkg = path.join(project, 'node_modules', 'ocre-node')
    assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'the install built something')
    const r = inProject(['-e', `
      const ocre = require('ocre-node')
      const file = require('node-gyp-build').path(require('path').dirname(require.resolve('ocre-node/package.json')))
      console.log(JSON.stringify({ version: ocre.version, file: require('path').basename(file), open: typeof ocre.open }))`])
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.match(out.version, /^0\.1\.0 \(WAMR 1\.1\.2\)/)
    assert.equal(out.file, 'ocre-node.napi.glibc.node')
    assert.equal(out.open, 'function')
  })

  it('runs a container from the installed package (ESM import) and `npx ocre --version`', () => {
    fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'hello.wasm'), path.join(project, 'hello.wasm'))
    fs.writeFileSync(path.join(project, 'main.mjs'), `
      import { open, OcreError } from 'ocre-node'
      import { ImageStore, isValidImageName } from 'ocre-node/images'
      import fs from 'node:fs'
      import os from 'node:os'
      import path from 'node:path'
      const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-pack-run-'))
      const ctx = await open({ workdir })
      try {
        await ctx.images.add('hello.wasm', './hello.wasm')
        const r = await ctx.run('hello.wasm', { stdio: ['ignore', 'pipe', 'inherit'] })
        console.log(JSON.stringify({ exitCode: r.exitCode, stdout: r.stdout.toString(), store: typeof ImageStore,
          valid: isValidImageName('a.wasm'), err: typeof OcreError }))
      } finally {
        await ctx.close()
        fs.rmSync(workdir, { recursive: true, force: true })
      }`)
    const r = inProject(['main.mjs'])
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), {
      exitCode: 0,
      stdout: 'Hello from WebAssembly!\n',
      store: 'function',
      valid: true,
      err: 'function',
    })
    const v = inProject([path.join(project, 'node_modules', '.bin', 'ocre'), '--version'])
    assert.equal(v.status, 0, v.stderr)
    assert.match(v.stdout, /^ocre-node 0\.1\.0/)
    const npx = npm(['exec', '--offline', '--', 'ocre', '--version'], project, { PATH: bareBin })
    assert.equal(npx.status, 0, npx.stderr)
    assert.match(npx.stdout, /^ocre-node 0\.1\.0/)
  })

  it('the ESM entry points export exactly what the CommonJS ones do', () => {
    const r = inProject(['--input-type=module', '-e', `
      import { createRequire } from 'node:module'
      const require = createRequire(process.cwd() + '/x.js')
      const out = {}
      for (const spec of ['ocre-node', 'ocre-node/images']) {
        const esm = Object.keys(await import(spec)).sort()
        const cjs = Object.keys(require(spec)).sort()
        out[spec] = { esm, cjs }
      }
      console.log(JSON.stringify(out))`])
    assert.equal(r.status, 0, r.stderr)
    for (const [spec, { esm, cjs }] of Object.entries(JSON.parse(r.stdout) as Record<string, { esm: string[]; cjs: string[] }>))
      assert.deepEqual(esm, cjs, `${spec}: ESM and CJS exports differ`)
    const deep = inProject(['-e', "require('ocre-node/dist/index.js')"])
    assert.notEqual(deep.status, 0, 'deep imports past the exports map must fail')
    assert.match(deep.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/)
  })

  it('types resolve for ESM and CommonJS users (tsc, module node16, strict)', () => {
    fs.writeFileSync(path.join(project, 'esm.mts'), `
      import { open, OcreError, type Context, type RunResult } from 'ocre-node'
      import { ImageStore, type ImageInfo } from 'ocre-node/images'
      export async function f(workdir: string): Promise<number> {
        const ctx: Context = await open({ workdir })
        const r: RunResult = await ctx.run('hello.wasm')
        const info: ImageInfo | undefined = undefined
        void info; void ImageStore; void OcreError
        return r.exitCode ?? -1
      }
      // @ts-expect-error: no such export
      import { nope } from 'ocre-node'
      void nope`)
    fs.writeFileSync(path.join(project, 'cjs.cts'), `
      import ocre = require('ocre-node')
      import images = require('ocre-node/images')
      export const v: string = ocre.version
      export const s: typeof images.ImageStore = images.ImageStore
      // @ts-expect-error: options are checked
      ocre.open({ workdir: 1 })`)
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      // a user's project has @types/node (the API takes Buffers and streams): ours
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['esm.mts', 'cjs.cts'],
    }))
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stdout + r.stderr)
  })

  it('without a matching prebuild and without cmake, the install fails naming what is missing', () => {
    const other = freshProject('no-cmake')
    const r = install(other, { PATH: bareBin, OCRE_BUILD_FROM_SOURCE: '1' })
    assert.notEqual(r.status, 0, 'the install should fail')
    assert.match(r.stderr, /building the native addon from source failed: missing: cmake >= 3\.16 \(not found on PATH/)
    assert.match(r.stderr, /a C compiler \(cc not found/)
    assert.ok(!fs.existsSync(path.join(other, 'node_modules', 'ocre-node')), 'npm left the failed package installed')
  })

  it('builds from the tarball from source when no prebuild matches (plain CMake, no cmake-js)', function () {
    if (spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0) this.skip()
    const other = freshProject('from-source')
    const r = install(other, { OCRE_BUILD_FROM_SOURCE: '1', OCRE_SKIP_AOTC: '1' })
    assert.equal(r.status, 0, r.stderr)
    const pkg = path.join(other, 'node_modules', 'ocre-node')
    assert.ok(fs.existsSync(path.join(pkg, 'build', 'Release', 'ocre_node.node')))
    const v = spawnSync(process.execPath, ['-e', "console.log(require('ocre-node').version)"], { cwd: other, encoding: 'utf8' })
    assert.equal(v.status, 0, v.stderr)
    assert.match(v.stdout, /WAMR 1\.1\.2/)
  })
})

if (!haveCross)
  process.stdout.write(`97.package: the arm prebuilds are not packed: ${CROSS.join(' / ')} not installed (apt-get install g++-aarch64-linux-gnu g++-arm-linux-gnueabihf)\n`)

// The public types: this file is type-checked by tsc (strict) in the test
// below; `typeChecks` is never run. Also: declarations are generated from
// lib/ and the public ones contain no `any`.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  type Container,
  type ContainerStatus,
  type Context,
  type ExitResult,
  type GpioPort,
  type LogRecord,
  type Message,
  type OcreErrorCode,
  type RunResult,
  type StdioOptions,
  Container as ContainerClass,
  OcreError,
  open,
  connect,
  type DaemonClient,
  type RemoteContainer,
  type RemoteStatus,
  setLogger,
  setLogLevel,
  version,
} from '../lib/index'
import { ROOT } from './helpers'

export async function typeChecks(ctx: Context): Promise<void> {
  const c: Container = await ctx.create({ image: 'hello.wasm', args: ['a'], env: { K: 'v' }, stdio: ['pipe', 'inherit', 1] })
  const status: ContainerStatus = c.status
  // @ts-expect-error 'exited' is never visible
  const exited: ContainerStatus = 'exited'
  const started: ExitResult | undefined = await c.start()
  const attached: Container<false> = await ctx.create({ image: 'x' })
  const attachedResult: ExitResult = await attached.start()
  const detached: Container<true> = await ctx.create({ image: 'x', detached: true })
  const detachedResult: undefined = await detached.start()
  const maybe: boolean = Math.random() > 0.5
  const either = await ctx.create({ image: 'x', detached: maybe })
  // @ts-expect-error either attached or detached: the result may be undefined
  const eitherResult: ExitResult = await either.start()
  const waited: ExitResult = await c.wait()
  const reason: 'exit' | 'killed' | 'trap' = waited.reason
  const message: string | undefined = waited.message
  const killed: ExitResult = await c.kill()
  await c.stop({ timeout: 10_000 })
  await c.pause()
  await c.unpause()
  await c.remove({ force: true })
  c.on('exit', (result) => {
    const code: number = result.exitCode
    void code
  })
  c.on('status', (s) => {
    const x: ContainerStatus = s
    void x
  })
  // @ts-expect-error the exit payload is an ExitResult
  c.on('exit', (result: string) => void result)
  c.stdout?.pipe(process.stdout)
  c.stdin?.write('x')
  // @ts-expect-error misspelled option
  await ctx.create({ image: 'x', argz: [] })
  // @ts-expect-error not a stdio value
  await ctx.create({ image: 'x', stdio: ['pipe', 'piped'] })
  // @ts-expect-error not a capability
  await ctx.create({ image: 'x', capabilities: ['teleport'] })
  // @ts-expect-error image is required
  await ctx.create({ id: 'x' })
  const stdio: StdioOptions = 'ignore'
  const r: RunResult = await ctx.run('x', { signal: new AbortController().signal, input: 'x', stdio })
  const out: Buffer | undefined = r.stdout
  // @ts-expect-error run() takes no detached option
  await ctx.run('x', { detached: true })
  const found: Container | undefined = ctx.get('x')
  const all: Container[] = ctx.list()
  const n: number = ctx.size
  setLogger(console)
  setLogger((rec: LogRecord) => {
    const t: Date = rec.time
    void t
  })
  setLogger(null)
  setLogLevel('debug')
  // @ts-expect-error not a level
  setLogLevel('verbose')
  // @ts-expect-error containers come from Context.create()
  new ContainerClass()
  const e = new OcreError('ERR_OCRE_STATE', 'x')
  const code: OcreErrorCode = e.code
  const v: string = version
  {
    await using disposable = await open({ workdir: '/x' })
    void disposable
  }
  // Ocre API: messaging, sensors, GPIO
  const taken: number = ctx.messaging.publish('t', 'text/plain', Buffer.from('x'))
  const sub = ctx.messaging.subscribe('t/', (m: Message) => void (m.payload satisfies Buffer))
  // @ts-expect-error the payload is bytes or a string
  ctx.messaging.publish('t', 'text/plain', 5)
  for await (const m of ctx.messaging.subscribe('u/', { queueSize: 8 })) void (m.from satisfies string | null)
  const dropped: number = sub.dropped + c.eventsDropped
  const handle: number = ctx.sensors.register({ name: 's', channels: [1, 2], read: async (ch) => ch * 2 })
  const gpio: GpioPort = ctx.gpio.register({ name: 'p', pins: ['led', null], set: () => {}, get: () => true })
  // @ts-expect-error a sensor reads numbers
  ctx.sensors.register({ name: 's', channels: 1, read: () => 'x' })
  void [taken, dropped, handle, gpio.changed(0, 1)]
  await ctx.close()
  void [attachedResult, detachedResult, eitherResult]
  void [status, exited, started, reason, message, killed, out, found, all, n, code, v]
}

export async function daemonTypeChecks(): Promise<void> {
  const client: DaemonClient = await connect({ workdir: '/var/lib/ocre' })
  const c: RemoteContainer = await client.create({ image: 'hello.wasm', restart: 'on-failure:3', stopTimeout: 0 })
  // @ts-expect-error a daemon's containers have no stdio option
  await client.create({ image: 'hello.wasm', stdio: 'inherit' })
  const started: undefined = await c.start()
  const stopped: ExitResult = await c.stop({ timeout: 1 })
  const killed: ExitResult = await c.kill()
  const waited: ExitResult = await c.wait()
  const status: RemoteStatus = c.status
  // @ts-expect-error 'exited' is never a status
  const bad: RemoteStatus = 'exited'
  const count: number = (await c.refresh()).restartCount
  for await (const r of c.logs({ tail: 5, follow: true })) {
    const line: string = r.line
    const stream: 'stdout' | 'stderr' = r.stream
    void [line, stream]
  }
  for await (const e of client.events({ since: new Date() })) void e.action
  await c.remove({ force: true })
  client.close()
  void [started, stopped, killed, waited, status, bad, count]
}

describe('public types', function () {
  this.timeout(120_000)

  it('type-checks the public API use in this file (strict)', () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const args = [
      tsc,
      '--noEmit',
      '--strict',
      '--target',
      'ES2022',
      '--module',
      'commonjs',
      '--lib',
      'ES2022,ESNext.Disposable',
      '--types',
      'node,mocha',
      '--esModuleInterop',
      '--skipLibCheck',
      __filename,
    ]
    try {
      execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' })
    } catch (err) {
      assert.fail(`tsc: ${(err as { stdout?: string }).stdout ?? String(err)}`)
    }
  })

  it('generates declarations with no `any` in the public API', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ocre-dts-'))
    try {
      const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
      execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.json'), '--outDir', out], {
        cwd: ROOT,
        stdio: 'pipe',
      })
      for (const f of ['index', 'context', 'container', 'errors', 'log', 'types', 'client/connect']) {
        const dts = fs.readFileSync(path.join(out, `${f}.d.ts`), 'utf8')
        const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
        assert.doesNotMatch(code, /\bany\b/, `${f}.d.ts uses any`)
      }
      const index = fs.readFileSync(path.join(out, 'index.d.ts'), 'utf8')
      for (const name of ['open', 'Context', 'Container', 'OcreError', 'setLogLevel', 'setLogger', 'version'])
        assert.match(index, new RegExp(`\\b${name}\\b`), `index.d.ts exports ${name}`)
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  })
})

// Log records from C: modules, levels, loggers, the bounded queue.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { binding, setNativeLogHandler } from '../lib/binding'
import { getLogLevel, type LogRecord, setLogger, setLogLevel } from '../lib/index'
import { dispatch } from '../lib/log'
import { ROOT, rejectsType, useContext } from './helpers'

describe('logging', () => {
  const t = useContext()
  let records: LogRecord[] = []
  const collect = (r: LogRecord) => records.push(r)

  // settle() markers: records of module SETTLE never reach the logger.
  const SETTLE = 'test:settle'
  const markers = new Map<string, () => void>()
  let nextMarker = 0
  before(() =>
    setNativeLogHandler((level, module, message, timeMs) => {
      if (module !== SETTLE) return dispatch(level, module, message, timeMs)
      markers.get(message)?.()
      markers.delete(message)
    }),
  )
  after(() => setNativeLogHandler(dispatch))

  beforeEach(() => {
    records = []
    setLogger(collect)
  })
  afterEach(() => {
    setLogger(null)
    setLogLevel('warn')
  })

  /**
   * Wait until every record queued so far has been delivered: the queue is
   * FIFO, so once a marker queued now arrives, all before it have. (At level
   * 'none' the marker goes in at 'error'; what 'none' filtered was dropped at
   * its source.) The queue must have room: after a flood, wait for the drop
   * report first.
   */
  async function settle(): Promise<void> {
    const token = String(++nextMarker)
    const arrived = new Promise<void>((resolve) => markers.set(token, resolve))
    const level = getLogLevel()
    if (level === 'none') setLogLevel('error')
    binding.emitLog(1, SETTLE, token)
    if (level === 'none') setLogLevel('none')
    await arrived
  }

  it("defaults to level 'warn'", () => {
    assert.equal(getLogLevel(), 'warn')
  })

  it('delivers records with level, module, message and a Date', async () => {
    setLogLevel('info')
    const c = await t.ctx.create({ image: 'hello.wasm', id: 'logged', stdio: 'ignore' })
    await c.start()
    await c.remove()
    await settle()
    const created = records.find((r) => r.module === 'container' && /logged created from hello\.wasm/.test(r.message))
    assert.ok(created, JSON.stringify(records))
    assert.equal(created.level, 'info')
    assert.ok(created.time instanceof Date)
    assert.ok(Math.abs(created.time.getTime() - Date.now()) < 60_000)
    assert.ok(records.some((r) => r.module === 'container' && /logged exited with status 0/.test(r.message)))
    assert.ok(records.some((r) => r.module === 'container' && /logged removed/.test(r.message)))
  })

  it('filters by level: nothing below it reaches the logger', async () => {
    setLogLevel('warn')
    const c = await t.ctx.create({ image: 'hello.wasm', stdio: 'ignore' })
    await c.start()
    await c.remove()
    await settle()
    assert.deepEqual(
      records.filter((r) => r.level === 'info' || r.level === 'debug'),
      [],
    )
    setLogLevel('debug')
    assert.equal(getLogLevel(), 'debug')
    await t.ctx.create({ image: 'Bad' }).catch(() => {})
    await settle()
    assert.ok(
      records.some((r) => r.level === 'debug' && /ERR_OCRE_INVALID_NAME/.test(r.message)),
      'debug records at debug level',
    )
    records = []
    setLogLevel('none')
    await t.ctx.create({ image: 'Bad' }).catch(() => {})
    binding.emitLog(1, 'test', 'an error')
    await settle()
    assert.deepEqual(records, [], 'nothing at level none')
  })

  it('delivers records of any module (e.g. wamr) at or above the level only', async () => {
    setLogLevel('error')
    binding.emitLog(1, 'wamr', 'something WAMR said')
    binding.emitLog(2, 'wamr', 'a warning: filtered at level error')
    await settle()
    assert.deepEqual(
      records.map((r) => [r.level, r.module, r.message]),
      [['error', 'wamr', 'something WAMR said']],
    )
  })

  it('accepts a logger object (console, pino, winston): one string per record through the level method', async () => {
    const calls: string[] = []
    const logger = {
      error: (m: string) => calls.push(`error ${m}`),
      warn: (m: string) => calls.push(`warn ${m}`),
      info: (m: string) => calls.push(`info ${m}`),
      debug: (m: string) => calls.push(`debug ${m}`),
    }
    setLogger(logger)
    setLogLevel('debug')
    binding.emitLog(2, 'container', 'careful')
    binding.emitLog(4, 'context', 'details')
    await settle()
    assert.deepEqual(calls, ['warn [ocre:container] careful', 'debug [ocre:context] details'])
  })

  it('keeps `this` for logger methods (class-based loggers)', async () => {
    class MyLogger {
      lines: string[] = []
      error(m: string) {
        this.lines.push(m)
      }
      warn(m: string) {
        this.lines.push(m)
      }
      info(m: string) {
        this.lines.push(m)
      }
      debug(m: string) {
        this.lines.push(m)
      }
    }
    const l = new MyLogger()
    setLogger(l)
    binding.emitLog(1, 'x', 'y')
    await settle()
    assert.deepEqual(l.lines, ['[ocre:x] y'])
  })

  it('rejects bad loggers and levels with TypeError', async () => {
    await rejectsType(() => setLogger({ warn() {} } as never), TypeError, /error\/warn\/info\/debug/)
    await rejectsType(() => setLogger('console' as never), TypeError, /for logger but received type string/)
    await rejectsType(() => setLogLevel('verbose' as never), TypeError, /Expected one of 'none', 'error', 'warn', 'info', 'debug' for level/)
  })

  it('survives a logger that throws', async () => {
    setLogger(() => {
      throw new Error('logger broke')
    })
    const warnings: string[] = []
    const emitWarning = process.emitWarning
    process.emitWarning = ((w: string | Error) => void warnings.push(String(w))) as typeof process.emitWarning
    try {
      binding.emitLog(1, 'x', 'one')
      binding.emitLog(1, 'x', 'two')
      await settle()
    } finally {
      process.emitWarning = emitWarning
    }
    assert.equal(warnings.length, 1)
    assert.match(warnings[0], /logger threw \(logger broke\)/)
  })

  it('never blocks the logging thread: a full queue drops records and reports how many', async () => {
    // 200 000 records from this thread in one go: the JS thread cannot drain
    // the queue (it is busy here), so most are dropped, counted, reported.
    let reported!: () => void
    const report$ = new Promise<void>((resolve) => (reported = resolve))
    setLogger((r) => {
      records.push(r)
      if (r.module === 'ocre' && /log records dropped/.test(r.message)) reported()
    })
    binding.emitLog(2, 'flood', 'x', 200_000)
    await report$ // delivered with the first record after the flood: the queue has room again
    await settle()
    const flood = records.filter((r) => r.module === 'flood')
    const report = records.find((r) => r.module === 'ocre' && /log records dropped/.test(r.message))
    assert.ok(report, 'drop report')
    assert.equal(report.level, 'warn')
    const dropped = Number(/^(\d+) log records dropped$/.exec(report.message)?.[1])
    assert.ok(flood.length < 200_000, 'some records were dropped')
    assert.equal(flood.length + dropped, 200_000, 'every record delivered or counted')
  })

  it('by default prints warnings and errors (only) to stderr', function () {
    this.timeout(30_000)
    const script = `
      const { binding, setNativeLogHandler } = require(${JSON.stringify(path.join(ROOT, 'lib', 'binding.ts'))})
      const { setLogLevel } = require(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))})
      const { dispatch } = require(${JSON.stringify(path.join(ROOT, 'lib', 'log.ts'))})
      // stays alive until its last record (a marker, not printed) is delivered
      const keepAlive = setInterval(() => {}, 1000)
      setNativeLogHandler((level, module, message, time) =>
        module === 'done' ? clearInterval(keepAlive) : dispatch(level, module, message, time))
      setLogLevel('debug')
      binding.emitLog(1, 'm1', 'an error')
      binding.emitLog(2, 'm2', 'a warning')
      binding.emitLog(3, 'm3', 'some info')
      binding.emitLog(4, 'm4', 'a debug line')
      binding.emitLog(1, 'done', '')
    `
    const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' })
    assert.equal(res.status, 0, res.stderr)
    assert.equal(res.stdout, '', 'nothing on stdout')
    assert.equal(res.stderr, 'ocre <error> m1: an error\nocre <warn> m2: a warning\n')
  })
})

// Log records of the C runtime, delivered to a JavaScript logger.
//
// The addon's C sink queues records without ever blocking a C thread (a
// bounded queue per environment; drops are counted and reported as a warning
// record "N log records dropped"). Records below the level are not even
// formatted in C.
import { binding, setNativeLogHandler } from './binding'
import type { LogFunction, Logger, LoggerObject, LogLevel, LogRecord } from './types'
import { describe, typeError } from './validate'

const LEVELS: readonly LogLevel[] = ['none', 'error', 'warn', 'info', 'debug']
const RECORD_LEVELS = ['error', 'error', 'warn', 'info', 'debug'] as const

/**
 * The default logger: warnings and errors to stderr, as
 * `ocre <level> <module>: <message>` (whatever the level, info and debug
 * records are not printed; install a logger to see them).
 */
export const defaultLogger: LogFunction = (record) => {
  if (record.level === 'error' || record.level === 'warn')
    process.stderr.write(`ocre <${record.level}> ${record.module}: ${record.message}\n`)
}

let current: LogFunction = defaultLogger
let reportedLoggerError = false

/** Delivers one native record to the current logger (exported for tests that wrap it). */
export function dispatch(level: number, module: string, message: string, timeMs: number): void {
  const record: LogRecord = { level: RECORD_LEVELS[level] ?? 'debug', module, message, time: new Date(timeMs) }
  try {
    current(record)
  } catch (err) {
    // A throwing logger must not take the process down from a native
    // callback; say so once.
    if (!reportedLoggerError) {
      reportedLoggerError = true
      process.emitWarning(`ocre: the logger threw (${(err as Error)?.message ?? String(err)}); further errors are ignored`)
    }
  }
}

setNativeLogHandler(dispatch)

/**
 * Set the runtime's log level (default `'warn'`). Records less severe than
 * the level are not produced at all. With several environments (worker
 * threads) in a process, the C runtime produces what the most verbose one
 * asks for and each environment receives only its own level.
 */
export function setLogLevel(level: LogLevel): void {
  const n = LEVELS.indexOf(level)
  if (typeof level !== 'string' || n < 0) throw typeError(`one of ${LEVELS.map((l) => `'${l}'`).join(', ')}`, 'level', level)
  binding.setLogLevel(n)
}

/** The current log level of this environment. */
export function getLogLevel(): LogLevel {
  return LEVELS[binding.getLogLevel()] ?? 'warn'
}

function isLoggerObject(value: unknown): value is LoggerObject {
  if (typeof value !== 'object' || value === null) return false
  const o = value as Record<string, unknown>
  return ['error', 'warn', 'info', 'debug'].every((m) => typeof o[m] === 'function')
}

/**
 * Where records go:
 * - a function receives each {@link LogRecord} (`time` is a `Date`);
 * - an object with `error`, `warn`, `info` and `debug` methods (`console`,
 *   pino, winston, ...) gets one string per record, `[ocre:<module>] <message>`,
 *   through the method of the record's level;
 * - `null` restores the default (warnings and errors to stderr).
 */
export function setLogger(logger: Logger | null): void {
  if (logger === null) {
    current = defaultLogger
  } else if (typeof logger === 'function') {
    current = logger
  } else if (isLoggerObject(logger)) {
    const target = logger
    current = (r) => {
      target[r.level](`[ocre:${r.module}] ${r.message}`)
    }
  } else {
    throw new TypeError(
      `Expected a function, an object with error/warn/info/debug methods, or null for logger but received ${describe(logger)}`,
    )
  }
  reportedLoggerError = false
}

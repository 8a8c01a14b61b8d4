// Small pure helpers of the command line: workdir default, parsing of option
// values, formatting. Kept free of I/O so they can be unit-tested.
import os from 'node:os'
import path from 'node:path'
import type { InvalidArgumentError as CommanderInvalidArgument } from 'commander'
import type { LogRecord, Mount } from '../index'

/**
 * commander's error for a bad option value (what the option parsers below
 * throw). Loaded on use: `ocre ps` runs without commander (fast.ts).
 */
function invalidArgument(message: string): CommanderInvalidArgument {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { InvalidArgumentError } = require('commander') as typeof import('commander')
  return new InvalidArgumentError(message)
}

/** Exit status for errors of ocre itself (bad flags, missing image, ...), as Docker does. */
export const EXIT_OCRE_ERROR = 125
/** Exit status when a container was killed (128 + SIGKILL). */
export const EXIT_KILLED = 137
/** Exit status when a container trapped (128 + SIGABRT). */
export const EXIT_TRAP = 134
/** Exit status of a command interrupted by SIGINT before a container ran. */
export const EXIT_INTERRUPTED = 130

/** Default grace period of stop and of the first Ctrl-C (seconds). */
export const DEFAULT_STOP_TIMEOUT_S = 10
/** The image store's default size limit of a pull (DEFAULT_MAX_BYTES of lib/images; a test checks they agree). */
export const DEFAULT_PULL_MAX_BYTES = 256 * 1024 * 1024

/** An error of ocre itself: printed as one line, exit status EXIT_OCRE_ERROR. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_OCRE_ERROR,
  ) {
    super(message)
    this.name = 'CliError'
  }
}

/**
 * The working directory: `--workdir`, else $OCRE_WORKDIR, else /var/lib/ocre
 * for root, else $XDG_DATA_HOME/ocre (default ~/.local/share/ocre).
 * Relative paths are resolved against the current directory.
 */
export function resolveWorkdir(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
  home: string = os.homedir(),
): string {
  if (flag) return path.resolve(flag)
  if (env.OCRE_WORKDIR) return path.resolve(env.OCRE_WORKDIR)
  if (uid === 0) return '/var/lib/ocre'
  // the XDG spec says a relative $XDG_DATA_HOME is invalid and is ignored
  const xdg = env.XDG_DATA_HOME
  const data = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.local', 'share')
  return path.join(data, 'ocre')
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** Bytes from `123`, `64k`, `16m`, `1g`, `16MiB`, `16MB` (units are powers of 1024). */
export function parseBytes(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?|(b))?\s*$/i.exec(value)
  if (!m) throw invalidArgument('Expected a size in bytes such as 1048576, 64k, 16m or 1g.')
  const unit = (m[2] ?? m[3] ?? '').toLowerCase()
  const n = Math.floor(Number(m[1]) * UNITS[unit])
  if (n <= 0) throw invalidArgument('Expected a size greater than 0.')
  if (!Number.isSafeInteger(n))
    throw invalidArgument(`Expected a size of at most 8 PiB (${Number.MAX_SAFE_INTEGER} bytes).`)
  return n
}

/** An AOT optimisation level: 0-3 or auto. */
export function parseOptLevel(value: string): 0 | 1 | 2 | 3 | 'auto' {
  if (value === 'auto') return 'auto'
  if (!/^[0-3]$/.test(value)) throw invalidArgument('Expected 0, 1, 2, 3 or auto.')
  return Number(value) as 0 | 1 | 2 | 3
}

/** `auto` or a whole number greater than 0 (`ocre image build --parts`). */
export function parsePartCount(value: string): number | 'auto' {
  return value === 'auto' ? 'auto' : parseCount(value)
}

/** A whole number greater than 0. */
export function parseCount(value: string): number {
  const n = Number(value)
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n <= 0)
    throw invalidArgument('Expected a whole number greater than 0.')
  return n
}

/** A niceness for --nice: a whole number from 0 to 19. */
export function parseNice(value: string): number {
  const n = Number(value)
  if (!/^\s*\d+\s*$/.test(value) || n > 19) throw invalidArgument('Expected a whole number from 0 to 19.')
  return n
}

/**
 * Why `dir` cannot be a working directory (it, or the first part of it that
 * exists, is not a directory), or null. `stat` is fs.statSync's signature.
 */
export function workdirProblem(dir: string, stat: (p: string) => { isDirectory(): boolean }): string | null {
  for (let p = dir; ; p = path.dirname(p)) {
    let isDir: boolean
    try {
      isDir = stat(p).isDirectory()
    } catch (err) {
      const code = (err as { code?: string }).code
      if ((code === 'ENOENT' || code === 'ENOTDIR') && path.dirname(p) !== p) continue
      return `working directory ${dir}: ${(err as Error).message}`
    }
    if (isDir) return null
    return p === dir ? `working directory ${dir} is not a directory` : `working directory ${dir}: ${p} is not a directory`
  }
}

/** A non-negative number of seconds (fractions allowed). */
export function parseSeconds(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw invalidArgument('Expected a number of seconds >= 0.')
  return n
}

/** `SRC:DST[:ro|:rw]`; SRC is resolved against the current directory. */
export function parseVolume(value: string, cwd = process.cwd()): Mount {
  const parts = value.split(':')
  let readonly = false
  if (parts.length === 3 && (parts[2] === 'ro' || parts[2] === 'rw')) {
    readonly = parts[2] === 'ro'
    parts.pop()
  }
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw invalidArgument(`Expected SRC:DST or SRC:DST:ro, got '${value}'.`)
  const mount: Mount = { source: path.resolve(cwd, parts[0]), target: parts[1] }
  if (readonly) mount.readonly = true
  return mount
}

/**
 * `-e` values to an environment object, in order. `VAR=VALUE` sets VAR;
 * a bare `VAR` copies the host's value, or is skipped if the host has none
 * (as `docker run -e VAR` does).
 */
export function parseEnv(entries: string[], hostEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {}
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    const key = eq < 0 ? entry : entry.slice(0, eq)
    if (!key) throw new CliError(`invalid environment entry '${entry}': expected VAR=VALUE`)
    if (eq >= 0) env[key] = entry.slice(eq + 1)
    else if (hostEnv[key] !== undefined) env[key] = hostEnv[key]!
  }
  return env
}

/** Collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** Collector for repeatable options that also take comma-separated lists. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ]
}

/** `1.5 KiB`, `12 B`, `3.2 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`
}

function pad2(n: number): string {
  return String(n).padStart(2, '0')
}

/** Local time as `YYYY-MM-DD HH:MM:SS`. */
export function formatDate(d: Date): string {
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  )
}

/** Rows as left-aligned columns separated by three spaces (no trailing blanks). */
export function formatTable(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('   ')
        .trimEnd(),
    )
    .join('\n')
}

/** One line for a runtime log record: `2025-01-02T03:04:05.678Z debug [module] message`. */
export function formatLogRecord(record: LogRecord): string {
  let time: string
  const t = record.time
  if (t instanceof Date) time = t.toISOString()
  else if (typeof t === 'number') time = new Date(t).toISOString()
  else if (typeof t === 'string') time = t
  else time = new Date().toISOString()
  return `${time} ${String(record.level).padEnd(5)} [${record.module}] ${String(record.message).replace(/\n+$/, '')}`
}

/** A one-line message from anything thrown. */
export function errorMessage(err: unknown): string {
  const e = err as { message?: unknown }
  const msg = e && typeof e.message === 'string' && e.message ? e.message : String(err)
  return msg.replace(/\s*\n\s*/g, ' ').trim()
}

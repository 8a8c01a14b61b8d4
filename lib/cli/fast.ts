// The fast path of the command line: `ocre ps` (also `ocre container ls|ps|list`),
// which scripts and monitors run in loops, without commander and the command
// definitions (about 20 ms of CPU, a fifth of the command's cost with 1,000
// containers). Only plain forms are taken: the global options --workdir,
// -H/--host and --token-file (before or after the command), and -a/--all,
// -q/--quiet, --no-trunc, --format table|json. Anything else (help, -v,
// combined short flags, an unknown option or an argument, a bad value) goes
// to main.ts, whose commander parsing then accepts or rejects it as always.
// The work itself is the same function the commander action calls.
import type { PsOptions } from './containers'
import { CliError, EXIT_OCRE_ERROR, errorMessage, resolveWorkdir } from './util'

interface FastPs {
  globals: { workdir?: string; host?: string; tokenFile?: string }
  own: { workdir?: string; host?: string; tokenFile?: string }
  opts: PsOptions
}

const VALUED: Record<string, 'workdir' | 'host' | 'tokenFile'> = {
  '--workdir': 'workdir',
  '-H': 'host',
  '--host': 'host',
  '--token-file': 'tokenFile',
}

/** `ocre ps` in a form the fast path takes, else null. */
export function parseFastPs(argv: string[]): FastPs | null {
  const parsed: FastPs = { globals: {}, own: {}, opts: {} }
  let i = 0
  /** A --workdir/--host/--token-file at argv[i] (with its value) into `into`; false if argv[i] is not one. */
  const valued = (into: FastPs['globals'], afterCommand: boolean): boolean | null => {
    const a = argv[i]
    const eq = a.startsWith('--') ? a.indexOf('=') : -1
    const name = eq > 0 ? a.slice(0, eq) : a
    const key = VALUED[name]
    if (!key || (afterCommand && name === '-H')) return false // after the command only the long forms exist
    const value = eq > 0 ? a.slice(eq + 1) : argv[i + 1]
    if (value === undefined || (eq < 0 && value.startsWith('-'))) return null // commander's error
    into[key] = value
    i += eq > 0 ? 1 : 2
    return true
  }
  for (;;) {
    if (i >= argv.length) return null
    const r = valued(parsed.globals, false)
    if (r === null) return null
    if (!r) break
  }
  if (argv[i] === 'ps') i++
  else if (argv[i] === 'container' && ['ls', 'ps', 'list'].includes(argv[i + 1])) i += 2
  else return null
  while (i < argv.length) {
    const r = valued(parsed.own, true)
    if (r === null) return null
    if (r) continue
    const a = argv[i++]
    if (a === '-a' || a === '--all') parsed.opts.all = true
    else if (a === '-q' || a === '--quiet') parsed.opts.quiet = true
    else if (a === '--no-trunc') parsed.opts.trunc = false
    else if (a === '--format' || a.startsWith('--format=')) {
      const v = a === '--format' ? argv[i++] : a.slice('--format='.length)
      if (v !== 'table' && v !== 'json') return null
      parsed.opts.format = v
    } else return null
  }
  return parsed
}

/** Runs `argv` if the fast path takes it (resolves to the exit status), else returns null. */
export function fastCommand(argv: string[]): Promise<number> | null {
  const p = parseFastPs(argv)
  if (!p) return null
  return (async () => {
    const g = { ...p.globals, ...p.own }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const c = require('./containers') as typeof import('./containers')
      const t = c.requireDaemon({ workdir: resolveWorkdir(g.workdir), host: g.host, tokenFile: g.tokenFile })
      try {
        await c.ps(t, p.opts, { out: (s) => void process.stdout.write(s), err: process.stderr, verbose: () => {} })
      } finally {
        t.close()
      }
      return 0
    } catch (err) {
      process.stderr.write(`ocre: ${errorMessage(err)}\n`)
      return err instanceof CliError ? err.exitCode : EXIT_OCRE_ERROR
    }
  })()
}

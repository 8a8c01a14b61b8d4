// Registration of `ocre daemon` and of the container commands that drive it
// (Docker's names and habits; each also as `ocre container NAME`), plus
// `run` through a daemon. The work is in containers.ts (client side) and
// lib/daemon/ (server side, loaded only by `ocre daemon`).
import { type Command, Option } from 'commander'
import type { OcreError } from '../errors'
import type { Io } from './image'
import type { GlobalOptions } from './main'
import { addContainerOptions } from './create-options'
import { CliError, parseBytes, parseSeconds, resolveWorkdir } from './util'

type Containers = typeof import('./containers')
let containersModule: Containers | undefined
/** The client commands (small; loaded on first use). */
function containers(): Containers {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  containersModule ??= require('./containers') as Containers
  return containersModule
}

export interface CommandKit {
  globals: (cmd: Command) => GlobalOptions
  withGlobals: (cmd: Command) => Command
  defineRun: (parent: Command) => Command
  io: Io
  /** The exit status of the command line (attach: the container's). */
  setStatus: (code: number) => void
}

function daemonGlobals(g: GlobalOptions) {
  return { workdir: resolveWorkdir(g.workdir), host: g.host, tokenFile: g.tokenFile }
}

/** The store name for IMAGE: a local .wasm file is imported first when the daemon shares this machine's workdir. */
async function imageFor(arg: string, workdir: string, explicit: boolean, io: Io): Promise<string> {
  if (explicit) {
    if (arg.includes('/')) throw new CliError(`${arg}: a file cannot be sent to a daemon named with --host; pull it there`)
    return arg
  }
  const { openStore } = await import('./image')
  const { resolveRunImage } = await import('./run')
  return resolveRunImage(openStore(workdir), arg, io)
}

/**
 * `run` through a daemon when one is selected; null when there is none
 * (standalone run). -d and --restart need a daemon.
 */
export async function runWithDaemon(
  g: GlobalOptions & { workdir: string },
  image: string,
  args: string[],
  opts: Record<string, unknown>,
  io: Io,
): Promise<number | null> {
  const c = containers()
  const sel = c.selectDaemon(daemonGlobals(g))
  if (sel) {
    try {
      if (opts.restoreDir) throw new CliError('--restore-dir is for a run without a daemon (the daemon restores its own)')
      const body = c.createBody(await imageFor(image, g.workdir, sel.explicit, io), args, opts)
      return await c.runViaDaemon(sel.transport, body, opts, io)
    } catch (err) {
      // a stale socket of a daemon that is gone: run here, as without one
      if (sel.explicit || (err as OcreError).code !== 'ERR_OCRE_NO_DAEMON') throw err
      io.verbose(`no daemon answers on ${c.describe(sel.transport)}: running standalone`)
    } finally {
      sel.transport.close()
    }
  }
  if (opts.detach)
    throw new CliError(`run -d needs a daemon: none runs on ${g.workdir} (start one with 'ocre daemon', or use --host)`)
  for (const flag of ['restart', 'liveness'])
    if (opts[flag] !== undefined)
      throw new CliError(`--${flag} needs a daemon: none runs on ${g.workdir} (start one with 'ocre daemon', or use --host)`)
  return null
}

export function addDaemonCommands(program: Command, kit: CommandKit): void {
  const { globals, withGlobals, io } = kit

  /** Runs `fn` with the selected daemon's transport. */
  const withDaemon =
    <A extends unknown[]>(fn: (t: import('../client/transport').Transport, g: GlobalOptions, ...a: A) => Promise<void>) =>
    async (...a: unknown[]) => {
      const cmd = a[a.length - 1] as Command
      const g = globals(cmd)
      const t = containers().requireDaemon(daemonGlobals(g))
      try {
        await fn(t, g, ...(a.slice(0, -1) as A))
      } finally {
        t.close()
      }
    }

  // --- ocre daemon --------------------------------------------------------------
  withGlobals(
    program
      .command('daemon')
      .summary('run the daemon that keeps containers for this workdir')
      .description(
        [
          'Run the supervisor of WORKDIR in the foreground: it keeps the containers created through it (their ' +
            'definitions are stored under WORKDIR/daemon/ and survive restarts and reboots), applies their restart ' +
            'policies, captures their output to rotated log files and serves a JSON HTTP API on a Unix socket ' +
            '(default WORKDIR/ocre.sock, mode 0660: its group is the daemon\'s group). Its own log is JSON lines on ' +
            'stderr.',
          'TCP is off unless --tcp is given; it then listens on loopback (unless HOST says otherwise) and needs a ' +
            'bearer token from --token-file on every request.',
          'SIGTERM/SIGINT stop every container (each with its grace period) and exit 0; a second one kills them.',
        ].join('\n\n'),
      )
      .option('--socket <path>', 'Unix socket to listen on (default: WORKDIR/ocre.sock)')
      .option('--tcp <[host:]port>', 'also listen on TCP (default host 127.0.0.1); needs --token-file')
      .option('--log-max-size <bytes>', 'size of a container log file before rotation (default 10m)', parseBytes)
      .option('--log-max-files <n>', 'log files kept per container, the current one included (default 3)', (v) => {
        const n = Number(v)
        if (!Number.isInteger(n) || n < 1 || n > 100) throw new CliError(`invalid --log-max-files '${v}': expected 1..100`)
        return n
      })
      .option(
        '--restart-backoff <base,max,stable>',
        'restart back-off in ms: first delay after a quick failure, largest delay, run length that resets it ' +
          '(default 100,60000,10000)',
        (v) => {
          const m = /^(\d{1,9}),(\d{1,9}),(\d{1,9})$/.exec(v)
          if (!m || Number(m[1]) > Number(m[2]))
            throw new CliError(`invalid --restart-backoff '${v}': expected BASE,MAX,STABLE in ms with BASE <= MAX`)
          return { baseMs: Number(m[1]), maxMs: Number(m[2]), stableMs: Number(m[3]) }
        },
      )
      .addOption(
        new Option('--log-level <level>', "the daemon's own log level").choices(['error', 'warn', 'info', 'debug', 'none']),
      ),
  ).action(async (opts, cmd: Command) => {
    const g = globals(cmd)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runDaemon } = require('../daemon/main') as typeof import('../daemon/main')
    const code = await runDaemon({
      workdir: resolveWorkdir(g.workdir),
      socket: opts.socket,
      tcp: opts.tcp,
      tokenFile: opts.tokenFile ?? g.tokenFile,
      logLimits: {
        ...(opts.logMaxSize !== undefined && { maxBytes: opts.logMaxSize }),
        ...(opts.logMaxFiles !== undefined && { maxFiles: opts.logMaxFiles }),
      },
      logLevel: opts.logLevel,
      backoff: opts.restartBackoff,
    })
    process.exitCode = code
  })

  // --- container commands (top level and `container ...`) -----------------------
  const container = program
    .command('container')
    .summary('manage the daemon\'s containers: create, run, start, stop, ls, logs, ...')
    .description('The long forms of the container commands (ocre container ls = ocre ps).')
    .usage('COMMAND')
  kit.defineRun(container)

  for (const [parent, long] of [
    [program, false],
    [container, true],
  ] as const) {
    withGlobals(
      addContainerOptions(
        parent
          .command('create')
          .summary('create a container (not started)')
          .description('Create a container in the daemon from IMAGE with ARGs and print its id.')
          .argument('<image>', 'image name, or path to a .wasm file to import first')
          .argument('[args...]', 'arguments for the container'),
        { description: 'grace period of stop before the container is killed (default 10)' },
      ).passThroughOptions(),
    ).action(
      withDaemon(async (t, g, image: string, args: string[], opts: Record<string, unknown>) => {
        const c = containers()
        const sel = c.selectDaemon(daemonGlobals(g))
        const name = await imageFor(image, resolveWorkdir(g.workdir), !!sel?.explicit, io)
        await c.create(t, c.createBody(name, args, opts), io)
      }),
    )

    withGlobals(
      parent.command('start').summary('start containers').argument('<id...>', 'container ids'),
    ).action(withDaemon(async (t, _g, ids: string[]) => containers().start(t, ids, io)))

    withGlobals(
      parent
        .command('stop')
        .summary('stop containers (killed after the grace period)')
        .argument('<id...>', 'container ids')
        .option('-t, --time <seconds>', "grace period before the kill (default: the container's, 10)", parseSeconds),
    ).action(withDaemon(async (t, _g, ids: string[], o: { time?: number }) => containers().stop(t, ids, o.time, io)))

    withGlobals(
      parent
        .command('restart')
        .summary('stop and start containers')
        .argument('<id...>', 'container ids')
        .option('-t, --time <seconds>', 'grace period of the stop', parseSeconds),
    ).action(
      withDaemon(async (t, _g, ids: string[], o: { time?: number }) => containers().stop(t, ids, o.time, io, 'restart')),
    )

    for (const action of ['kill', 'pause', 'unpause'] as const)
      withGlobals(
        parent
          .command(action)
          .summary(
            action === 'kill' ? 'kill running containers (exit 137; no restart)' : `${action} running containers`,
          )
          .argument('<id...>', 'container ids'),
      ).action(withDaemon(async (t, _g, ids: string[]) => containers().simple(t, action, ids, io)))

    withGlobals(
      parent
        .command('attach')
        .summary("attach to a container's output and (-i containers) stdin")
        .description(
          "Show the container's output from now on and, if it was created with -i, send this terminal's stdin to " +
            "its stdin: end-of-file (Ctrl-D, or the end of piped input) closes the container's stdin. Exits with " +
            "the container's status when its run ends (a created container: its next run). Ctrl-C or SIGTERM " +
            'detaches: the container keeps running with its stdin open, and can be attached to again.',
        )
        .argument('<id>', 'container id')
        .option('--no-stdin', "do not send this terminal's stdin (output only)"),
    ).action(
      withDaemon(async (t, _g, id: string, o: { stdin?: boolean }) => kit.setStatus(await containers().attach(t, id, o, io))),
    )

    withGlobals(
      parent
        .command('wait')
        .summary('wait for containers to end; print their exit codes')
        .argument('<id...>', 'container ids'),
    ).action(withDaemon(async (t, _g, ids: string[]) => containers().wait(t, ids, io)))

    withGlobals(
      parent
        .command('rm')
        .alias('remove')
        .summary('remove containers (with their records and logs)')
        .argument('<id...>', 'container ids')
        .option('-f, --force', 'kill running containers first'),
    ).action(withDaemon(async (t, _g, ids: string[], o: { force?: boolean }) => containers().rm(t, ids, !!o.force, io)))

    const ps = parent
      .command(long ? 'ls' : 'ps')
      .summary('list containers')
      .option('-a, --all', 'all containers (default: running, paused and restarting ones)')
      .option('-q, --quiet', 'only ids')
      .option('--no-trunc', 'do not truncate the command')
      .addOption(new Option('--format <format>', 'table, or json (one object per line)').choices(['table', 'json']))
    if (long) ps.alias('ps').alias('list')
    withGlobals(ps).action(withDaemon(async (t, _g, o: Record<string, unknown>) => containers().ps(t, o, io)))

    withGlobals(
      parent
        .command('inspect')
        .summary('show containers as JSON')
        .argument('<id...>', 'container ids')
        .addOption(new Option('--format <format>', 'json (the only one)').choices(['json'])),
    ).action(withDaemon(async (t, _g, ids: string[]) => containers().inspect(t, ids, io)))

    withGlobals(
      parent
        .command('logs')
        .summary("print a container's captured output")
        .argument('<id>', 'container id')
        .option('-f, --follow', 'keep printing new output until the container ends (no restart due) or Ctrl-C')
        .option('-n, --tail <n>', "only the last N lines ('all': every line)")
        .option('--since <time>', 'only output since TIME: ISO time, Unix seconds, or a duration like 10m')
        .option('-t, --timestamps', 'prefix each line with its time')
        .addOption(
          new Option('--format <format>', 'text, or json (each record as a JSON line on stdout: time, stream, line)').choices([
            'text',
            'json',
          ]),
        ),
    ).action(
      withDaemon(async (t, _g, id: string, o: Record<string, unknown>) => {
        const ac = new AbortController()
        const onSignal = () => ac.abort()
        process.once('SIGINT', onSignal)
        try {
          await containers().logs(t, id, o, io, ac.signal)
        } finally {
          process.off('SIGINT', onSignal)
        }
      }),
    )
  }

  // --- events, images, pull --------------------------------------------------------
  withGlobals(
    program
      .command('events')
      .summary('stream lifecycle events of the daemon\'s containers')
      .option('--since <time>', 'first the events kept since TIME (ISO, Unix seconds, or a duration like 10m)')
      .addOption(new Option('--format <format>', 'text or json (one object per line)').choices(['text', 'json'])),
  ).action(
    withDaemon(async (t, _g, o: Record<string, unknown>) => {
      const ac = new AbortController()
      const onSignal = () => ac.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      try {
        await containers().events(t, o, io, ac.signal)
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
    }),
  )
}

/** The daemon named with --host or $OCRE_HOST (image commands go there instead of the local store). */
export function namedDaemon(g: GlobalOptions) {
  if (!(g.host ?? process.env.OCRE_HOST)) return null
  return containers().selectDaemon(daemonGlobals(g))
}

// The `ocre` command line (bin/ocre.js runs the compiled dist/cli/main.js).
//
//   ocre [--workdir DIR] [-v|--verbose] COMMAND
//
// Global options go before COMMAND: there `-v` means --verbose, while after
// `run` it means --volume. Every command also takes --workdir and --verbose
// (long forms) after its name. Errors are one line on stderr ("ocre: ...")
// with exit status 125; `ocre run` otherwise exits with the container's.
import fs from 'node:fs'
import path from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { noOciRuntime, ociRuntimePath } from '../oci-runtime'
import { loadApi, type OcreApi } from './api'
import { exitAfterOutput } from './exit'
import type * as ImageCommands from './image'
import type { Io } from './image'
import { addContainerOptions } from './create-options'
import { addDaemonCommands, namedDaemon, runWithDaemon } from './daemon-commands'
import type * as RunCommand from './run'
import {
  CliError,
  DEFAULT_PULL_MAX_BYTES,
  DEFAULT_STOP_TIMEOUT_S,
  EXIT_OCRE_ERROR,
  errorMessage,
  formatLogRecord,
  parseBytes,
  parseOptLevel,
  parsePartCount,
  parseCount,
  parseSeconds,
  resolveWorkdir,
  workdirProblem,
} from './util'

// The commands' implementations load on use: `ocre ps` and `ocre --help` must
// start fast, and the image store (https, crypto, the AOT store) is not small.
/* eslint-disable @typescript-eslint/no-require-imports */
const imageCommands = () => require('./image') as typeof ImageCommands
const runCommand = () => require('./run') as typeof RunCommand
/* eslint-enable @typescript-eslint/no-require-imports */

export interface GlobalOptions {
  workdir?: string
  verbose?: boolean
  host?: string
  tokenFile?: string
}

export interface MainIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
}

/** `--auth-file` of `image pull` and `image push`. */
function authFileOption(): Option {
  return new Option(
    '--auth-file <file>',
    'registry credentials: a docker config.json (default: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json)',
  )
}

/** `--insecure` of `image pull` and `image push`. */
function insecureOption(): Option {
  return new Option('--insecure', 'speak plain http to a registry that is not on this machine (loopback registries always are)')
}

/** `--aot` and its `--cpu` of `image import` and `image pull`. */
function aotOption(): Option {
  return new Option('--aot', 'also compile it to native code (see "ocre image build"); stored only if it compiles')
}
function cpuOption(): Option {
  return new Option(
    '--cpu <cpu>',
    'with --aot: CPU to compile for (default: the baseline of the architecture, e.g. x86-64; "native": this machine)',
  )
}

function packageVersion(): string {
  try {
    // lib/cli/ and dist/cli/ are both two levels below the package root
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'))
    return String(pkg.version)
  } catch {
    return 'unknown'
  }
}

function describeRuntimeVersion(version: unknown): string[] {
  if (version === undefined || version === null) return []
  if (typeof version === 'string') return [`runtime: ${version}`]
  if (typeof version === 'object')
    return Object.entries(version as Record<string, unknown>).map(
      ([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    )
  return [`runtime: ${String(version)}`]
}

/** Runs the command line with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: string[], mio: MainIo = process): Promise<number> {
  let verbose = leadingVerbose(argv)
  const io: Io = {
    out: (s) => void mio.stdout.write(s),
    err: mio.stderr,
    verbose: (message) => {
      if (verbose) mio.stderr.write(formatLogRecord({ level: 'info', module: 'cli', message, time: new Date() }) + '\n')
    },
  }
  let status = 0

  const program = new Command('ocre')
  program
    .description('Run WebAssembly (WASI) modules as isolated containers.')
    .usage('[--workdir DIR] [-v|--verbose] COMMAND')
    .option(
      '--workdir <dir>',
      'working directory holding images/ and containers/ (default: $OCRE_WORKDIR, else /var/lib/ocre ' +
        'as root, else $XDG_DATA_HOME/ocre or ~/.local/share/ocre)',
    )
    .option('-v, --verbose', "print the runtime's log records (all modules, debug level) and error stacks to stderr")
    .option(
      '-H, --host <url>',
      'daemon to use: unix:///PATH, an absolute socket path or tcp://HOST:PORT (default: $OCRE_HOST, else the ' +
        "daemon whose socket is WORKDIR/ocre.sock, if one runs)",
    )
    .option('--token-file <file>', 'bearer token for a tcp:// daemon (default: $OCRE_TOKEN_FILE)')
    .version(`ocre-node ${packageVersion()}`, '-V, --version', 'print the version and exit')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void mio.stdout.write(s),
      writeErr: (s) => void mio.stderr.write(s),
      // commander's errors ("error: unknown option '-x'\n(Did you mean ...?)") as one line
      outputError: (s, write) => write(`ocre: ${errorMessage(s.replace(/^error: /, ''))}\n`),
    })
    .addHelpText(
      'after',
      `
Without a daemon, containers exist only inside the process that runs them: \`ocre run\`
removes its container when it ends. With \`ocre daemon\` running on the workdir, the
container commands (create, run -d, start, stop, ps, logs, ...) drive its containers,
which persist across calls and reboots. Run \`ocre COMMAND --help\` for a command's options.`,
    )

  /** Options of the program and of the command, the command's winning. */
  const globals = (cmd: Command): GlobalOptions => {
    const g = program.opts<GlobalOptions>()
    const own = cmd.opts<GlobalOptions>()
    return {
      workdir: own.workdir ?? g.workdir,
      verbose: !!(own.verbose ?? g.verbose),
      host: own.host ?? g.host,
      tokenFile: own.tokenFile ?? g.tokenFile,
    }
  }
  /** The working directory of a command: one whose path is not a directory is an error here. */
  const workdirOf = (g: GlobalOptions): string => {
    const dir = resolveWorkdir(g.workdir)
    const problem = workdirProblem(dir, fs.statSync)
    if (problem) throw new CliError(problem)
    return dir
  }
  const withGlobals = (cmd: Command): Command =>
    cmd
      .addOption(new Option('--workdir <dir>', 'same as the global --workdir'))
      .addOption(new Option('--verbose', 'same as the global -v, --verbose'))
      .addOption(new Option('--host <url>', 'same as the global -H, --host'))
      .addOption(new Option('--token-file <file>', 'same as the global --token-file'))

  let api: OcreApi | undefined
  const runtime = (g: GlobalOptions): OcreApi => {
    if (!api) {
      api = loadApi()
      if (g.verbose) {
        api.setLogLevel('debug')
        api.setLogger((record) => mio.stderr.write(formatLogRecord(record) + '\n'))
      }
    }
    return api
  }

  // --- run ------------------------------------------------------------------
  const defineRun = (parent: Command) =>
  withGlobals(
    addContainerOptions(parent
      .command('run')
      .summary('run an image (or a .wasm file) in a new container')
      .description(
        [
          "Run IMAGE in a new container with this terminal's stdin, stdout and stderr, and exit with its status " +
            '(137 if it was killed, 134 if it trapped, 125 for errors of ocre itself).',
          "IMAGE is a name in the image store, or a path to a .wasm file (it contains '/' or ends in .wasm and " +
            'exists) that is imported first under its file name, replacing a stored image of that name whose ' +
            'content differs. A NAME not in the store stands for NAME.wasm if that is.',
          "ARGs after IMAGE go to the container verbatim, also those starting with '-'.",
          'Ctrl-C or SIGTERM stops the container: it may finish within the --stop-timeout grace period, then it ' +
            'is killed; a second Ctrl-C kills it at once.',
          'Without a daemon the container exists only inside this process and is always removed when ocre exits. ' +
            'With a daemon on the workdir (or --host), the daemon runs it: -d starts it in the background and ' +
            'prints its id, --restart sets its restart policy, and it is kept after it ends unless --rm.',
        ].join('\n\n'),
      )
      .usage('[options] IMAGE|FILE.wasm [ARG...]')
      .argument('<image>', 'image name, or path to a .wasm file')
      .argument('[args...]', 'arguments for the container')
      .option('-d, --detach', 'with a daemon: start it in the background and print its id')
      .option('--rm', 'remove the container when it exits (always done without a daemon)')
      .option(
        '--restore-dir',
        'without a daemon, with -k filesystem: reuse the private directory containers/ID/ an earlier process left ' +
          '(else that is an error); it is still deleted when the container is removed',
      ),
      {
        description: 'grace period of stop (and of the first Ctrl-C/SIGTERM) before the container is killed',
        default: DEFAULT_STOP_TIMEOUT_S,
      },
    ).passThroughOptions(),
  ).action(async (image: string, args: string[], opts, cmd: Command) => {
    const g = globals(cmd)
    verbose = !!g.verbose
    const workdir = workdirOf(g)
    const viaDaemon = await runWithDaemon({ ...g, workdir }, image, args, opts, io)
    if (viaDaemon !== null) {
      status = viaDaemon
      return
    }
    status = await runCommand().run(runtime(g), workdir, image, args, opts, io)
  })
  defineRun(program)

  // --- daemon and its container commands -------------------------------------
  addDaemonCommands(program, { globals, withGlobals, defineRun, io, setStatus: (code) => (status = code) })

  // --- image ------------------------------------------------------------------
  const image = program
    .command('image')
    .summary('manage images: ls, pull, import, build, rm')
    .description(
      'Manage the image store (WORKDIR/images). Image names are file names: [a-z0-9._-], not starting with "." or "-".',
    )
    .usage('COMMAND')

  const defineImageLs = (parent: Command, name: string) =>
  withGlobals(
    parent
      .command(name)
      .summary('list images')
      .description(
        'List images (or one) as a table: NAME, SIZE, SHA256 (first 12 hex digits), MODIFIED, AOT (the CPU ' +
          'its AOT artifact was compiled for, "stale" if it no longer matches the image, WAMR or CPU, ' +
          '"REJECTED" if it fails verification, "-" if it has none).',
      )
      .argument('[name]', 'show only this image (an error if it does not exist)')
      .option('-q, --quiet', 'print only the names')
      .option('--no-trunc', 'print the whole SHA-256')
      .addOption(new Option('--format <format>', 'table, or json (one object per line)').choices(['table', 'json'])),
  ).action(async (name: string | undefined, opts, cmd: Command) => {
    const g = globals(cmd)
    const remote = namedDaemon(g)
    if (remote) {
      try {
        if (name !== undefined) throw new CliError('NAME is not supported with a daemon named by --host')
        const { remoteImages } = await import('./containers')
        await remoteImages(remote.transport, opts, io)
      } finally {
        remote.transport.close()
      }
      return
    }
    const { openStore, imageLs } = imageCommands()
    const store = openStore(workdirOf(g))
    if (opts.format === 'json') {
      const list = name === undefined ? await store.list() : [await store.get(name)].filter((i) => i !== undefined)
      if (name !== undefined && list.length === 0) throw new CliError(`image '${name}' not found in ${store.dir}`)
      io.out(list.map(({ path: _p, ...i }) => JSON.stringify(i) + '\n').join(''))
      return
    }
    await imageLs(store, name, opts, io)
  })
  defineImageLs(image, 'ls').alias('list')
  defineImageLs(program, 'images')

  const defineImagePull = (parent: Command) =>
  withGlobals(
    parent
      .command('pull')
      .summary('download an image over http(s) or from an OCI registry')
      .description(
        'Download an image from URL (http:, https: or file:) or from an OCI registry (oci://HOST[:PORT]/REPO[:TAG|' +
          '@sha256:DIGEST], or HOST[:PORT]/REPO[:TAG]) and store it as NAME (default: the last segment of the URL ' +
          'path, or the repository\'s last component + .wasm). Registries: the image\'s WebAssembly layer ' +
          '(application/vnd.wasm.content.layer.v1+wasm, through an image index\'s wasi/wasm entry), digests ' +
          'verified; credentials from a docker config.json. The file is validated before it is stored; an ' +
          'interrupted or failed pull leaves nothing behind. Shows a progress bar on a terminal, plain lines otherwise.',
      )
      .argument('<url>', 'where to download from: a URL or an OCI reference')
      .argument('[name]', 'image name')
      .option('-f, --force', 'replace an existing image of that name')
      .option('--sha256 <hex>', 'expected SHA-256 of the image (the pull fails if it differs)')
      .option(
        '--max-size <bytes>',
        `refuse images larger than this (e.g. 64m; default ${DEFAULT_PULL_MAX_BYTES / 1024 / 1024}m)`,
        parseBytes,
      )
      .option('--timeout <seconds>', 'give up when no data arrives for this long (default 30; 0: never)', parseSeconds)
      .addOption(authFileOption())
      .addOption(insecureOption())
      .addOption(aotOption())
      .addOption(cpuOption()),
  ).action(async (url: string, name: string | undefined, opts, cmd: Command) => {
    const g = globals(cmd)
    const remote = namedDaemon(g)
    if (remote) {
      try {
        if (opts.aot) throw new CliError('--aot is not supported with a daemon named by --host')
        const { remotePull } = await import('./containers')
        await remotePull(remote.transport, url, name, opts, io)
      } finally {
        remote.transport.close()
      }
      return
    }
    const { openStore, imagePull } = imageCommands()
    await imagePull(openStore(workdirOf(g)), url, name, opts, io)
  })
  defineImagePull(image)
  defineImagePull(program)

  withGlobals(
    image
      .command('push')
      .summary('publish an image to an OCI registry')
      .description(
        'Push image NAME to an OCI registry as a wasm artifact (one application/vnd.wasm.content.layer.v1+wasm ' +
          'layer, config application/vnd.wasm.config.v0+json) under REFERENCE (oci://HOST[:PORT]/REPO[:TAG] or ' +
          'HOST[:PORT]/REPO[:TAG]; default tag latest). Prints the manifest digest.',
      )
      .argument('<name>', 'image name')
      .argument('<reference>', 'where to push it')
      .option('--timeout <seconds>', 'give up when no data arrives for this long (default 30; 0: never)', parseSeconds)
      .addOption(authFileOption())
      .addOption(insecureOption()),
  ).action(async (name: string, reference: string, opts, cmd: Command) => {
    const g = globals(cmd)
    const { openStore, imagePush } = imageCommands()
    await imagePush(openStore(workdirOf(g)), name, reference, opts, io)
  })

  withGlobals(
    image
      .command('import')
      .summary('add a local .wasm file')
      .description(
        'Add FILE to the image store as NAME (default: its file name). It must be a valid WebAssembly module.',
      )
      .argument('<file>', 'the .wasm file')
      .argument('[name]', 'image name')
      .option('-f, --force', 'replace an existing image of that name')
      .option('--sha256 <hex>', 'expected SHA-256 of the file (the import fails if it differs)')
      .addOption(aotOption())
      .addOption(cpuOption()),
  ).action(async (file: string, name: string | undefined, opts, cmd: Command) => {
    const g = globals(cmd)
    const { openStore, imageImport } = imageCommands()
    await imageImport(openStore(workdirOf(g)), file, name, opts, io)
  })

  withGlobals(
    image
      .command('build')
      .summary('compile images to native code (AOT)')
      .description(
        'Compile each named image ahead of time to native code with the AOT compiler (built only when LLVM 15 ' +
          'was installed at build time: apt-get install llvm-15-dev). Containers of the image then run that ' +
          'code (tier auto) instead of the interpreter. The artifact is bound to the image\'s SHA-256, the WAMR ' +
          'version and the options; recompiling replaces it atomically; removing the image removes it.',
      )
      .argument('<name...>', 'image names')
      .option('--cpu <cpu>', 'CPU to compile for: default the baseline of the architecture (x86-64, or generic on ARM64: any machine of it); native: this machine only')
      .option('--opt <level>', 'LLVM optimisation level 0-3, or auto (default: by code size: 3 up to 4 MiB of code, 2 up to 12 MiB, 1 above)', parseOptLevel)
      .option('--memory-limit <size>', 'most memory the compiler may use (default: half of physical memory), e.g. 2g', parseBytes)
      .option('--time-limit <seconds>', 'stop the compiler after this long (default 0: no limit)', parseSeconds)
      .option('--parts <n>', 'compile in N parts, one LLVM module and process each, merged by ld.lld (default auto: one per 2 MiB of code above 4 MiB)', parsePartCount)
      .option('--jobs <n>', 'compiler processes at once when compiling in parts (default 2)', parseCount),
  ).action(async (names: string[], opts, cmd: Command) => {
    const g = globals(cmd)
    const { openStore, imageBuild } = imageCommands()
    await imageBuild(openStore(workdirOf(g)), names, opts, io)
  })

  withGlobals(
    image
      .command('rm')
      .alias('remove')
      .summary('remove images')
      .description('Remove the named images from the store.')
      .argument('<name...>', 'image names'),
  ).action(async (names: string[], _opts, cmd: Command) => {
    const g = globals(cmd)
    const { openStore, imageRm } = imageCommands()
    await imageRm(openStore(workdirOf(g)), names, io)
  })

  // --- version ----------------------------------------------------------------
  withGlobals(
    program
      .command('version')
      .summary('print version information')
      .description('Print the version of ocre-node and of its runtime.'),
  ).action((_opts, cmd: Command) => {
    const g = globals(cmd)
    const lines = [`ocre-node ${packageVersion()}`, `node: ${process.version}`]
    try {
      lines.push(...describeRuntimeVersion(runtime(g).version))
    } catch (err) {
      lines.push(`runtime: not available (${errorMessage(err)})`)
    }
    io.out(lines.join('\n') + '\n')
  })

  // --- oci-path -----------------------------------------------------------------
  program
    .command('oci-path')
    .summary('print the absolute path of the OCI runtime ocre-oci')
    .description(
      'Print the absolute path of ocre-oci, the OCI runtime for container engines\n' +
        '(podman run --runtime "$(npx ocre oci-path)" ...; see docs/oci.md).',
    )
    .action(() => {
      const file = ociRuntimePath()
      if (!file) throw noOciRuntime()
      io.out(file + '\n')
    })

  try {
    await program.parseAsync(argv, { from: 'user' })
    return status
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version exit 0; usage errors were already printed as one line
      return err.exitCode === 0 ? 0 : EXIT_OCRE_ERROR
    }
    mio.stderr.write(`ocre: ${errorMessage(err)}\n`)
    if (verbose && err instanceof Error && err.stack) mio.stderr.write(err.stack + '\n')
    return err instanceof CliError ? err.exitCode : EXIT_OCRE_ERROR
  }
}

/** True if -v/--verbose appears among the options before the command. */
function leadingVerbose(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-v' || a === '--verbose') return true
    if (a === '--workdir' || a === '-H' || a === '--host' || a === '--token-file') i++
    else if (!a.startsWith('-')) return false
  }
  return false
}

if (require.main === module) {
  main(process.argv.slice(2)).then(exitAfterOutput, (err) => {
    process.stderr.write(`ocre: ${errorMessage(err)}\n`)
    exitAfterOutput(EXIT_OCRE_ERROR)
  })
}

// The options of `run` and `create` that describe a container (Docker's
// spellings): one definition for both commands.
import { type Command, Option } from 'commander'
import { collect, collectList, parseBytes, parseCount, parseSeconds, parseVolume } from './util'

export function addContainerOptions(cmd: Command, stopTimeout: { description: string; default?: number }): Command {
  cmd
    .option('-n, --name <id>', 'container id ([a-z0-9._-], not starting with "." or "-"; default: random)')
    .option('-r, --runtime <runtime>', 'runtime engine (default: the best for the image, "wamr/wasip1")')
    .option(
      '-v, --volume <src:dst[:ro]>',
      'mount host directory SRC at DST in the container (repeatable)',
      (v, p: unknown[]) => [...(p ?? []), parseVolume(v)],
    )
    .option(
      '-k, --capability <cap>',
      'grant a capability: filesystem, networking, ocre:api (repeatable or comma-separated)',
      collectList,
    )
    .option(
      '-e, --env <var=value>',
      'set an environment variable; a bare VAR copies it from this environment (repeatable)',
      collect,
    )
    .option('-m, --memory <bytes>', 'memory limit of the container (e.g. 16m, 1g)', parseBytes)
    .option(
      '--max-open-files <n>',
      'most files and sockets the container may hold open, stdio included (default 128)',
      parseCount,
    )
    .option('--stack-size <bytes>', 'WebAssembly stack of the container (e.g. 256k, 8m; default 512k)', parseBytes)
    .addOption(
      new Option(
        '--tier <tier>',
        'auto: the AOT artifact of the image if it has one (see "ocre image build"), else the interpreter; ' +
          'aot: require the artifact; interpreter: never run native code',
      ).choices(['auto', 'aot', 'interpreter']),
    )
    .option(
      '-i, --interactive',
      "with a daemon: keep the container's stdin open (a pipe the daemon holds; `ocre attach` feeds it; " +
        'attached `run -i` sends this terminal\'s stdin). Without a daemon, `run` always connects stdin',
    )
    .option('--restart <policy>', 'with a daemon: no (default), on-failure[:N], always or unless-stopped')
    .option(
      '--liveness <seconds>',
      'with a daemon: kill the container (as a failure: its restart policy applies) when it writes no output ' +
        'line for this long',
      parseSeconds,
    )
  if (stopTimeout.default === undefined) cmd.option('--stop-timeout <seconds>', stopTimeout.description, parseSeconds)
  else cmd.option('--stop-timeout <seconds>', stopTimeout.description, parseSeconds, stopTimeout.default)
  return cmd
}

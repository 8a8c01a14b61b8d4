// `ocre run`: create a container from an image (importing a .wasm file first
// if given one), run it with the terminal's stdio, and exit with its status.
//
// Containers live only in the process that created them (the C core keeps
// them in memory), so a container never outlives `ocre run`: it is always
// removed at exit, and `--rm` is accepted for Docker compatibility only.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { type ImageStore, imageNameProblem, suggestImageName } from '../images'
import type { Container, Context, CreateOptions, ExitResult, Mount, Tier } from '../index'
import type { OcreApi } from './api'
import type { Io } from './image'
import { CliError, DEFAULT_STOP_TIMEOUT_S, EXIT_INTERRUPTED, EXIT_KILLED, EXIT_TRAP, parseEnv } from './util'

export interface RunOptions {
  rm?: boolean
  name?: string
  runtime?: string
  volume?: Mount[]
  capability?: string[]
  env?: string[]
  memory?: number
  maxOpenFiles?: number
  stackSize?: number
  nice?: number
  restoreDir?: boolean
  tier?: Tier
  stopTimeout: number
}

/** Default grace period of the first Ctrl-C / SIGTERM before the container is killed (seconds). */
export const DEFAULT_STOP_TIMEOUT = DEFAULT_STOP_TIMEOUT_S

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

/**
 * The store name to run for the IMAGE argument. A path to an existing file
 * (it contains '/' or ends in .wasm) is imported under its file name first,
 * replacing a stored image of that name whose content differs. A bare name
 * that is not in the store but whose `NAME.wasm` is, means that one.
 */
export async function resolveRunImage(store: ImageStore, arg: string, io: Io): Promise<string> {
  if (arg.includes('/') || arg.endsWith('.wasm')) {
    const file = path.resolve(arg)
    let stat: fs.Stats | undefined
    try {
      stat = fs.statSync(file)
    } catch {
      // not a file: maybe a store name
    }
    if (stat && !stat.isFile())
      throw new CliError(`cannot run ${arg}: it is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}, not a .wasm file`)
    if (stat) {
      const name = path.basename(file)
      const problem = imageNameProblem(name)
      if (problem) {
        const suggestion = suggestImageName(name)
        throw new CliError(
          `cannot import ${arg}: ${problem}; rename the file or import it under another name with ` +
            `'ocre image import ${arg} ${suggestion ?? 'NAME'}'`,
        )
      }
      const existing = await store.get(name)
      if (existing && existing.sha256 === sha256File(file)) {
        io.verbose(`${arg} is already stored as ${name}`)
        return name
      }
      const info = await store.add(name, file, { replace: true })
      io.verbose(`${existing ? 'replaced' : 'imported'} ${name} from ${file} (sha256 ${info.sha256})`)
      return name
    }
    if (arg.includes('/')) throw new CliError(`cannot run ${arg}: no such file`)
  }
  if (!imageNameProblem(arg) && !arg.endsWith('.wasm') && !(await store.has(arg)) && (await store.has(`${arg}.wasm`)))
    return `${arg}.wasm`
  return arg
}

/** The exit status of `ocre run` for a container's result (trap message to stderr). */
export function exitStatus(container: { id: string }, result: ExitResult, io: Io): number {
  if (result.reason === 'trap') {
    const message = (result.message ?? 'unknown trap').replace(/\s*\n\s*/g, ' ').trim()
    io.err.write(`ocre: container ${container.id} trapped: ${message}\n`)
    return EXIT_TRAP
  }
  if (result.reason === 'killed') return EXIT_KILLED
  return result.exitCode
}

export async function run(
  api: OcreApi,
  workdir: string,
  imageArg: string,
  args: string[],
  opts: RunOptions,
  io: Io,
): Promise<number> {
  const env = parseEnv(opts.env ?? [])
  const graceMs = Math.round(opts.stopTimeout * 1000)
  let ctx: Context | undefined
  let container: Container | undefined
  let running = false
  let interrupts = 0
  let acted = 0

  const hint = (s: string) => {
    if (io.err.isTTY) io.err.write(`\nocre: ${s}\n`)
    io.verbose(s)
  }
  // The first SIGINT/SIGTERM asks the container to stop (killed after the
  // grace period), the second kills it at once. Signals that come before it
  // runs are acted on as soon as it does.
  const act = () => {
    if (!container || !running) return
    const c = container
    if (interrupts >= 2 && acted < 2) {
      acted = 2
      hint(`killing container ${c.id}`)
      c.kill().catch((err) => io.verbose(`kill: ${(err as Error).message}`))
    } else if (interrupts === 1 && acted < 1) {
      acted = 1
      hint(`stopping container ${c.id} (killed in ${opts.stopTimeout} s; press Ctrl-C again to kill it now)`)
      c.stop({ timeout: graceMs }).catch((err) => io.verbose(`stop: ${(err as Error).message}`))
    }
  }
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++
    io.verbose(`received ${signal}`)
    act()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    ctx = await api.open({ workdir })
    io.verbose(`opened ${workdir}`)
    const image = await resolveRunImage(ctx.images, imageArg, io)
    if (interrupts > 0) throw new CliError('interrupted', EXIT_INTERRUPTED)
    // detached: start() resolves once it runs, so that signals can be acted on
    const create: CreateOptions = { image, args, stdio: ['inherit', 'inherit', 'inherit'], detached: true }
    if (Object.keys(env).length) create.env = env
    if (opts.name !== undefined) create.id = opts.name
    if (opts.runtime !== undefined) create.runtime = opts.runtime
    if (opts.capability?.length) create.capabilities = opts.capability as CreateOptions['capabilities']
    if (opts.volume?.length) create.mounts = opts.volume
    if (opts.memory !== undefined) create.memoryLimit = opts.memory
    if (opts.maxOpenFiles !== undefined) create.maxOpenFiles = opts.maxOpenFiles
    if (opts.stackSize !== undefined) create.stackSize = opts.stackSize
    if (opts.nice !== undefined) create.nice = opts.nice
    if (opts.tier !== undefined) create.tier = opts.tier
    if (opts.restoreDir) create.restoreDirectory = true
    // Ocre apps can be tried without hardware: the random test sensor is there.
    if (create.capabilities?.includes('ocre:api')) ctx.sensors.registerRandom()
    container = await ctx.create(create)
    io.verbose(`created container ${container.id} from ${image} (tier: ${container.tier})`)
    if (interrupts > 0) throw new CliError('interrupted', EXIT_INTERRUPTED)
    await container.start()
    running = true
    act() // a signal that came while starting
    const result = await container.wait()
    io.verbose(`container ${container.id} ended: ${JSON.stringify(result)}`)
    return exitStatus(container, result, io)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (container) await container.remove().catch((err) => io.verbose(`remove: ${(err as Error).message}`))
    if (ctx) await ctx.close().catch((err) => io.verbose(`close: ${(err as Error).message}`))
  }
}

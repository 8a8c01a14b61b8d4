// `ocre image ls|pull|push|import|build|rm`: a thin layer over ImageStore (lib/images/).
// The image commands do not load the runtime: containers exist only inside the
// `ocre run` process that made them, so none is ever in use here.
import path from 'node:path'
import type { AotInfo, CompileOptions } from '../aot'
import { type HashProgress, ImageStore, type ImageInfo } from '../images'
import { defaultImageName, type OciReference, parseOciReference } from '../registry'
import { createCompileProgress } from './compile-progress'
import { createProgress, type ProgressReporter } from './progress'
import { CliError, EXIT_INTERRUPTED, formatBytes, formatDate, formatTable } from './util'

export interface Io {
  out: (s: string) => void
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }
  verbose: (message: string) => void
}

/** The store's "already exists" in command-line terms. */
function cliExists(err: unknown): unknown {
  const e = err as { code?: string; message?: string }
  if (e?.code === 'ERR_OCRE_EXISTS')
    return new CliError(
      String(e.message).replace(/ \(replace it with \{ replace: true \}\)$/, '') + ' (use --force to replace it)',
    )
  return err
}

export function openStore(workdir: string): ImageStore {
  return new ImageStore(path.join(workdir, 'images'), () => false)
}

export interface LsOptions {
  quiet?: boolean
  trunc?: boolean
}

/** Files from this size on show hashing progress on stderr (smaller ones hash in well under a second). */
export const HASH_PROGRESS_MIN = 64 * 1024 * 1024

export async function imageLs(store: ImageStore, name: string | undefined, opts: LsOptions, io: Io): Promise<void> {
  // An image another tool dropped in is hashed once (then its sidecar has
  // the digest): a large one shows its progress, as a pull does.
  let progress: { name: string; reporter: ProgressReporter } | null = null
  const onProgress = (p: HashProgress) => {
    if (p.total === undefined || p.total < HASH_PROGRESS_MIN) return
    if (progress?.name !== p.name) {
      progress?.reporter.done()
      if (!io.err.isTTY) io.err.write(`Hashing ${p.name}\n`)
      progress = { name: p.name, reporter: createProgress(`hashing ${p.name}`, io.err) }
    }
    progress.reporter.update(p)
  }
  let images: ImageInfo[]
  try {
    if (name !== undefined) {
      const one = await store.get(name, { onProgress })
      if (!one) throw new CliError(`image '${name}' not found in ${store.dir}`)
      images = [one]
    } else {
      images = await store.list({ onProgress })
    }
  } catch (err) {
    ;(progress as { reporter: ProgressReporter } | null)?.reporter.fail()
    throw err
  }
  ;(progress as { reporter: ProgressReporter } | null)?.reporter.done()
  if (opts.quiet) {
    for (const i of images) io.out(i.name + '\n')
    return
  }
  const rows = [['NAME', 'SIZE', 'SHA256', 'MODIFIED', 'AOT']]
  for (const i of images)
    rows.push([
      i.name,
      formatBytes(i.size),
      opts.trunc === false ? i.sha256 : i.sha256.slice(0, 12),
      formatDate(i.modified),
      aotColumn(i.aot),
    ])
  io.out(formatTable(rows) + '\n')
  for (const i of images)
    if (i.aot && i.aot.status !== 'ready') io.verbose(`${i.name}: AOT artifact ${i.aot.status}: ${i.aot.reason}`)
}

function aotColumn(aot: AotInfo | null): string {
  if (!aot) return '-'
  if (aot.status === 'rejected') return 'REJECTED'
  if (aot.status === 'stale') return 'stale'
  return aot.cpu
}

function aotOption(opts: AddCliOptions): { aot?: true | { cpu: string } } {
  if (opts.cpu !== undefined && !opts.aot) throw new CliError('--cpu needs --aot')
  if (!opts.aot) return {}
  return { aot: opts.cpu !== undefined ? { cpu: opts.cpu } : true }
}

function aotSummary(aot: AotInfo | null): string {
  return aot ? ` (AOT: ${formatBytes(aot.size)} of ${aot.cpu} code)` : ''
}

export interface BuildOptions {
  cpu?: string
  opt?: CompileOptions['opt']
  memoryLimit?: number
  /** seconds (0: none) */
  timeLimit?: number
  parts?: CompileOptions['parts']
  jobs?: number
}

/** Compile each image; with a SIGINT/SIGTERM handler that aborts (nothing is left behind). */
export async function imageBuild(store: ImageStore, names: string[], opts: BuildOptions, io: Io): Promise<void> {
  const ac = new AbortController()
  const onSignal = () => ac.abort()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const failures: string[] = []
  try {
    for (const name of names) {
      const t0 = process.hrtime.bigint()
      const progress = createCompileProgress(name, io.err)
      try {
        const aot = await store.compile(name, {
          signal: ac.signal,
          onProgress: (p) => progress.update(p),
          ...(opts.cpu !== undefined ? { cpu: opts.cpu } : {}),
          ...(opts.opt !== undefined ? { opt: opts.opt } : {}),
          ...(opts.memoryLimit !== undefined ? { memoryLimit: opts.memoryLimit } : {}),
          ...(opts.timeLimit ? { timeLimit: Math.ceil(opts.timeLimit * 1000) } : {}),
          ...(opts.parts !== undefined ? { parts: opts.parts } : {}),
          ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
        })
        progress.end()
        const s = Number(process.hrtime.bigint() - t0) / 1e9
        io.out(`Compiled ${name}: ${formatBytes(aot.size)} of ${aot.cpu} code (opt ${aot.opt}) in ${s.toFixed(2)} s\n`)
      } catch (err) {
        progress.end()
        if (ac.signal.aborted) throw new CliError('build interrupted; nothing was stored', EXIT_INTERRUPTED)
        failures.push((err as Error).message)
      }
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (failures.length) throw new CliError(failures.join('\n'))
}

export interface AddCliOptions {
  authFile?: string
  insecure?: boolean
  force?: boolean
  sha256?: string
  maxSize?: number
  timeout?: number
  aot?: boolean
  cpu?: string
}

export async function imageImport(
  store: ImageStore,
  file: string,
  name: string | undefined,
  opts: AddCliOptions,
  io: Io,
): Promise<void> {
  const info = await store
    .add(name ?? null, path.resolve(file), {
      replace: !!opts.force,
      ...(opts.sha256 !== undefined ? { sha256: opts.sha256 } : {}),
      ...aotOption(opts),
    })
    .catch((err) => {
      throw cliExists(err)
    })
  io.out(`Imported ${info.name} sha256:${info.sha256}${aotSummary(info.aot)}\n`)
}

/**
 * Run `work` with a SIGINT/SIGTERM handler that aborts its signal; an error
 * after such an interruption becomes CliError(message, 130).
 */
async function interruptible<T>(message: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController()
  let interrupted = false
  const onSignal = () => {
    interrupted = true
    ac.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await work(ac.signal)
  } catch (err) {
    if (interrupted) throw new CliError(message, EXIT_INTERRUPTED)
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** `--auth-file`, `--insecure`, `--timeout` as registry options. */
function registryOptions(opts: { authFile?: string; insecure?: boolean; timeout?: number }) {
  return {
    ...(opts.authFile !== undefined ? { authFile: opts.authFile } : {}),
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.timeout !== undefined ? { timeout: Math.round(opts.timeout * 1000) } : {}),
  }
}

/** Ctrl-C aborts the download (nothing is left behind). */
export async function imagePull(
  store: ImageStore,
  url: string,
  name: string | undefined,
  opts: AddCliOptions,
  io: Io,
): Promise<void> {
  let oci: OciReference | null
  try {
    oci = parseOciReference(url)
  } catch (err) {
    throw new CliError((err as Error).message)
  }
  let parsed: URL | null = null
  if (!oci) {
    try {
      parsed = new URL(url)
    } catch {
      throw new CliError(`'${url}' is not a URL (expected http://, https://, file:// or oci://) nor a HOST/REPO:TAG reference`)
    }
    if (opts.authFile !== undefined || opts.insecure) throw new CliError('--auth-file and --insecure apply to OCI references only')
  }
  const aot = aotOption(opts)
  const label = name ?? (oci ? defaultImageName(oci) : decodeURIComponent(parsed!.pathname.split('/').pop() || parsed!.host))
  const progress = createProgress(label, io.err)
  if (!io.err.isTTY) io.err.write(`Pulling ${url}\n`)
  const info = await interruptible('pull interrupted; nothing was stored', (signal) =>
    store.pull(oci ? url : parsed!, {
      ...registryOptions(opts),
      name: name ?? null,
      replace: !!opts.force,
      signal,
      onProgress: (p) => progress.update(p),
      ...(opts.sha256 !== undefined ? { sha256: opts.sha256 } : {}),
      ...(opts.maxSize !== undefined ? { maxBytes: opts.maxSize } : {}),
      ...aot,
    }),
  ).catch((err) => {
    progress.fail()
    throw cliExists(err)
  })
  progress.done()
  io.out(`Pulled ${info.name} sha256:${info.sha256}${aotSummary(info.aot)}\n`)
}

export interface PushCliOptions {
  timeout?: number
  authFile?: string
  insecure?: boolean
}

/** Ctrl-C aborts the push. */
export async function imagePush(
  store: ImageStore,
  name: string,
  reference: string,
  opts: PushCliOptions,
  io: Io,
): Promise<void> {
  const r = await interruptible('push interrupted', (signal) => store.push(name, reference, { signal, ...registryOptions(opts) })).catch(
    (err) => {
      throw err instanceof TypeError ? new CliError(err.message) : err
    },
  )
  io.out(`Pushed ${name} to ${r.reference} digest ${r.digest}\n`)
}

/** Removes each name; reports every failure and fails if any did. */
export async function imageRm(store: ImageStore, names: string[], io: Io): Promise<void> {
  const failures: string[] = []
  for (const name of names) {
    try {
      await store.remove(name)
      io.out(`Removed ${name}\n`)
    } catch (err) {
      failures.push((err as Error).message)
    }
  }
  if (failures.length === 1) throw new CliError(failures[0])
  if (failures.length > 1) {
    for (const f of failures.slice(0, -1)) io.err.write(`ocre: ${f}\n`)
    throw new CliError(failures[failures.length - 1])
  }
}

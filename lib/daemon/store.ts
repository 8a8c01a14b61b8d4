// The daemon's persistent container records: one JSON file per container,
// `<workdir>/daemon/containers/<id>.json`, holding its definition (what it
// was created with) and its supervision state (should it run, restarts,
// last exit). Every write is atomic and durable: a temp file in the same
// directory is written, fsync'ed and renamed over the record, then the
// directory is fsync'ed; a crash at any point leaves either the old or the
// new record, never a mix. Leftover temp files are removed at load.
// Writes of one record are serialized (and coalesced: only the latest state
// is written); a delete waits for the writes queued before it.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Capability, ExitResult, Mount, Tier } from '../types'

export type RestartPolicyName = 'no' | 'on-failure' | 'always' | 'unless-stopped'

export interface RestartPolicy {
  name: RestartPolicyName
  /** on-failure only: most restarts after a manual start (0: no limit). */
  maxRetries: number
}

/** What a container was created with. */
export interface Definition {
  id: string
  image: string
  runtime?: string
  args: string[]
  env: Record<string, string>
  capabilities: Capability[]
  mounts: Mount[]
  memoryLimit?: number
  maxOpenFiles?: number
  stackSize?: number
  tier?: Tier
  restart: RestartPolicy
  /** Grace period of stop (and of the daemon's shutdown) in ms. */
  stopTimeout: number
  /** Liveness: ms without an output line after which a running container is killed as failed (absent: off). */
  liveness?: number
  /** Its stdin is a pipe kept open by the daemon, fed through attach (absent: /dev/null). */
  interactive?: boolean
  /** ISO time of creation. */
  created: string
}

export interface LastExit extends ExitResult {
  /** ISO time of the end of the run. */
  time: string
}

/** The supervision state that survives the daemon. */
export interface State {
  /** Whether it should be running (started and not stopped by a user or its policy). */
  running: boolean
  /** Stopped or killed through the API (unless-stopped then stays down). */
  manuallyStopped: boolean
  /**
   * Paused through the API (absent in records of earlier versions: false).
   * A container that should run and was paused comes back paused.
   */
  paused?: boolean
  restartCount: number
  startedAt: string | null
  lastExit: LastExit | null
}

export interface ContainerRecord {
  version: 1
  definition: Definition
  state: State
}

const SUFFIX = '.json'
const TMP_MARK = '.tmp-'

export class RecordStore {
  readonly dir: string
  #chains = new Map<string, Promise<void>>()
  #pending = new Map<string, ContainerRecord>()
  #tmpSeq = 0

  constructor(dir: string) {
    this.dir = dir
  }

  /** Creates the directory, removes leftover temp files, reads every record (bad ones are reported, not loaded). */
  async load(onBad: (file: string, err: Error) => void): Promise<ContainerRecord[]> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 })
    const records: ContainerRecord[] = []
    for (const name of (await fsp.readdir(this.dir)).sort()) {
      const file = path.join(this.dir, name)
      if (name.includes(TMP_MARK)) {
        await fsp.rm(file, { force: true })
        continue
      }
      if (!name.endsWith(SUFFIX)) continue
      try {
        const record = JSON.parse(await fsp.readFile(file, 'utf8')) as ContainerRecord
        if (record?.version !== 1 || record.definition?.id !== name.slice(0, -SUFFIX.length))
          throw new Error('not a container record of this version')
        records.push(record)
      } catch (err) {
        onBad(file, err as Error)
      }
    }
    return records
  }

  #file(id: string): string {
    return path.join(this.dir, id + SUFFIX)
  }

  #enqueue(id: string, work: () => Promise<void>): Promise<void> {
    const prev = this.#chains.get(id) ?? Promise.resolve()
    const next = prev.then(work, work)
    this.#chains.set(id, next)
    const done = () => {
      if (this.#chains.get(id) === next) this.#chains.delete(id)
    }
    next.then(done, done)
    return next
  }

  /** Write `record` durably (resolves once it is on disk; a later save of the same id may supersede it). */
  save(record: ContainerRecord): Promise<void> {
    const id = record.definition.id
    const queued = this.#pending.has(id)
    this.#pending.set(id, record)
    if (queued) return this.#chains.get(id)!
    return this.#enqueue(id, async () => {
      const latest = this.#pending.get(id)
      this.#pending.delete(id)
      if (latest) await this.#write(id, JSON.stringify(latest, null, 1) + '\n')
    })
  }

  /** Delete the record durably (after the writes queued before). */
  delete(id: string): Promise<void> {
    this.#pending.delete(id)
    return this.#enqueue(id, async () => {
      await fsp.rm(this.#file(id), { force: true })
      await this.#syncDir()
    })
  }

  async #write(id: string, text: string): Promise<void> {
    const tmp = path.join(this.dir, `${id}${TMP_MARK}${process.pid}-${++this.#tmpSeq}`)
    const fh = await fsp.open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(text)
      await fh.sync()
    } catch (err) {
      await fh.close().catch(() => {})
      await fsp.rm(tmp, { force: true })
      throw err
    }
    await fh.close()
    try {
      await fsp.rename(tmp, this.#file(id))
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      throw err
    }
    await this.#syncDir()
  }

  async #syncDir(): Promise<void> {
    const fh = await fsp.open(this.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  }

  /** Resolves when the writes of this record queued so far are done (whether they failed or not). */
  settled(id: string): Promise<void> {
    return (this.#chains.get(id) ?? Promise.resolve()).catch(() => {})
  }

  /** Resolves when every queued write and delete is done. */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.allSettled([...this.#chains.values()])
  }
}

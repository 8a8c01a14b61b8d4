// Temp files of a store directory: written under `.tmp-<pid>-<hex>` (never an
// image name), fsync'ed, then renamed or linked into place by their owner. A
// temp file whose writer died is stale: the next store operation of any
// process sweeps it.
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { errnoCode, OcreError } from '../errors'

export const TMP_PREFIX = '.tmp-'
/** A temp file untouched for this long is swept even if its pid looks alive. */
const STALE_TMP_MS = 24 * 60 * 60 * 1000

export interface Progress {
  /** Bytes received (written to the temp file) so far. */
  received: number
  /** Expected total, when known (Content-Length, or the size of a local file). */
  total?: number
}

/** A fresh temp file name of this process. */
export function tmpName(): string {
  return `${TMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errnoCode(err) === 'EPERM'
  }
}

/** Whether `name` (at path `file`) in a store directory is a temp file its writer abandoned. */
export function staleTmp(file: string, name: string): boolean {
  const m = /^\.tmp-(\d+)-[0-9a-f]+$/.exec(name)
  if (!m) return false
  const pid = Number(m[1])
  const stale = Date.now() - fs.statSync(file).mtimeMs > STALE_TMP_MS
  return stale || (pid !== process.pid && !pidAlive(pid))
}

/** fsync a directory, so that a rename into it is durable (best effort). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined
  try {
    fh = await fsp.open(dir, 'r')
    await fh.sync()
  } catch {
    // some file systems cannot fsync a directory; the rename is still atomic
  } finally {
    await fh?.close().catch(() => {})
  }
}

/** A temp file being filled: hashes, counts and size-limits what is written. */
export class TempFile {
  readonly hash = createHash('sha256')
  received = 0
  total: number | undefined
  private fh: fsp.FileHandle | undefined

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly name: string,
    private readonly onProgress?: (p: Progress) => void,
  ) {}

  async open(): Promise<void> {
    this.fh = await fsp.open(this.path, 'wx', 0o644)
  }

  /** Record the expected size; ERR_OCRE_TOO_LARGE if it exceeds the limit. */
  checkTotal(total: number | undefined): void {
    this.total = total
    if (total !== undefined && total > this.maxBytes)
      throw new OcreError(
        'ERR_OCRE_TOO_LARGE',
        `image '${this.name}' is ${total} bytes, larger than the limit of ${this.maxBytes} bytes`,
      )
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.received + chunk.length > this.maxBytes)
      throw new OcreError(
        'ERR_OCRE_TOO_LARGE',
        `image '${this.name}' is larger than the limit of ${this.maxBytes} bytes`,
      )
    this.hash.update(chunk)
    let off = 0
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh!.write(chunk, off, chunk.length - off)
      off += bytesWritten
    }
    this.received += chunk.length
    if (this.onProgress) {
      const p: Progress = { received: this.received }
      if (this.total !== undefined) p.total = this.total
      this.onProgress(p)
    }
  }

  /** fsync and close; returns the hex digest. */
  async finish(): Promise<string> {
    await this.fh!.sync()
    await this.fh!.close()
    this.fh = undefined
    return this.hash.digest('hex')
  }

  async discard(): Promise<void> {
    await this.fh?.close().catch(() => {})
    this.fh = undefined
    await fsp.rm(this.path, { force: true }).catch(() => {})
  }
}

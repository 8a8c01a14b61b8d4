// A container's captured output: `<dir>/<id>.log`, JSON lines
// `{"time":"<ISO>","stream":"stdout"|"stderr","line":"<text>"}`, rotated when
// it would pass `maxBytes` (`<id>.log.1` is the previous file, up to
// `.<maxFiles-1>`; older ones are dropped). Writes are asynchronous and
// batched: output never waits for the disk, and one container's output never
// blocks the daemon's event loop. Readers see every record once, in order:
// a read holds the writer (records keep queueing in memory), reads the
// files, then takes the queued records and the live ones.
import { EventEmitter } from 'node:events'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'

export type LogStream = 'stdout' | 'stderr'

export interface LogRecord {
  time: string
  stream: LogStream
  line: string
}

export interface LogLimits {
  /** Largest size of one file before rotation (bytes). */
  maxBytes: number
  /** Files kept, the current one included (>= 1). */
  maxFiles: number
}

/** Longest line kept as one record (longer lines are split, as Docker does at 16 KiB). */
const MAX_LINE = 16 * 1024

export class LogFile extends EventEmitter<{ record: [LogRecord] }> {
  readonly file: string
  #limits: LogLimits
  #queue: string[] = []
  #size = -1
  #writing: Promise<void> | null = null
  #holds = 0
  #closed = false

  constructor(dir: string, id: string, limits: LogLimits) {
    super()
    this.setMaxListeners(0)
    this.file = path.join(dir, `${id}.log`)
    this.#limits = limits
  }

  /** Capture a readable stream of a run (split into lines; a last unterminated line is kept at its end). */
  capture(stream: Readable | null, name: LogStream): void {
    if (!stream) return
    let partial = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const text = partial + chunk
      const lines = text.split('\n')
      partial = lines.pop()!
      for (const line of lines) this.append(name, line)
      while (partial.length >= MAX_LINE) {
        this.append(name, partial.slice(0, MAX_LINE))
        partial = partial.slice(MAX_LINE)
      }
    })
    const flush = () => {
      if (partial) this.append(name, partial)
      partial = ''
    }
    stream.once('end', flush)
    stream.once('close', flush)
    stream.on('error', () => {})
  }

  append(stream: LogStream, line: string): void {
    if (this.#closed) return
    for (let i = 0; i < line.length || i === 0; i += MAX_LINE) {
      const record: LogRecord = { time: new Date().toISOString(), stream, line: line.slice(i, i + MAX_LINE) }
      this.#queue.push(JSON.stringify(record) + '\n')
      this.emit('record', record)
    }
    this.#kick()
  }

  #kick(): void {
    if (this.#writing || this.#holds > 0 || this.#queue.length === 0) return
    this.#writing = this.#drain().finally(() => {
      this.#writing = null
      this.#kick()
    })
  }

  async #drain(): Promise<void> {
    try {
      if (this.#size < 0) this.#size = await fsp.stat(this.file).then((s) => s.size, () => 0)
      while (this.#queue.length > 0 && this.#holds === 0) {
        // as many whole records as fit in the current file (at least one)
        let n = 0
        let bytes = 0
        while (n < this.#queue.length) {
          const len = Buffer.byteLength(this.#queue[n])
          if (n > 0 && this.#size + bytes + len > this.#limits.maxBytes) break
          if (n === 0 && this.#size > 0 && this.#size + len > this.#limits.maxBytes) break
          bytes += len
          n++
        }
        if (n === 0) {
          await this.#rotate()
          continue
        }
        const text = this.#queue.splice(0, n).join('')
        await fsp.appendFile(this.file, text, { mode: 0o640 })
        this.#size += bytes
      }
    } catch {
      // a full or read-only disk: this output is dropped, later output is tried again
      this.#queue.length = 0
      this.#size = -1
    }
  }

  async #rotate(): Promise<void> {
    const { maxFiles } = this.#limits
    if (maxFiles <= 1) {
      await fsp.rm(this.file, { force: true })
    } else {
      await fsp.rm(`${this.file}.${maxFiles - 1}`, { force: true })
      for (let i = maxFiles - 2; i >= 1; i--) await fsp.rename(`${this.file}.${i}`, `${this.file}.${i + 1}`).catch(() => {})
      await fsp.rename(this.file, `${this.file}.1`).catch(() => {})
    }
    this.#size = 0
  }

  /** Every file of this log, oldest first. */
  files(): string[] {
    const out: string[] = []
    for (let i = this.#limits.maxFiles - 1; i >= 1; i--) out.push(`${this.file}.${i}`)
    out.push(this.file)
    return out
  }

  /**
   * Every record so far (from the files and the queue), then, with
   * `onLive`, every later one as it comes (until the returned stop function
   * is called).
   */
  async read(onLive?: (r: LogRecord) => void): Promise<{ records: LogRecord[]; stop: () => void }> {
    // While held, nothing is written: the files then hold everything up to
    // the queue, and the queue everything after (read at the end, in the
    // same tick as the live listener is added).
    this.#holds++
    try {
      while (this.#writing) await this.#writing
      const records: LogRecord[] = []
      for (const f of this.files()) {
        let text: string
        try {
          text = await fsp.readFile(f, 'utf8')
        } catch {
          continue
        }
        for (const line of text.split('\n')) {
          if (!line) continue
          try {
            records.push(JSON.parse(line) as LogRecord)
          } catch {
            // a torn last line after a crash: skipped
          }
        }
      }
      for (const s of this.#queue) records.push(JSON.parse(s) as LogRecord)
      if (onLive) this.on('record', onLive)
      return { records, stop: () => onLive && this.off('record', onLive) }
    } finally {
      this.#holds--
      this.#kick()
    }
  }

  /** Stop capturing; resolves once everything queued is written. */
  async close(): Promise<void> {
    this.#closed = true
    while (this.#writing) await this.#writing
  }

  /** Delete every file of this log. */
  async remove(): Promise<void> {
    await this.close()
    this.#queue.length = 0
    await Promise.all(this.files().map((f) => fsp.rm(f, { force: true })))
  }
}

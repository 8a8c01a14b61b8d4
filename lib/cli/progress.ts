// Download progress for `ocre image pull`: a bar redrawn in place on a TTY,
// plain lines otherwise (one per 10 % when the size is known, else one per
// second). Hand-drawn, to keep dependencies few.
import type { Progress } from '../images'
import { formatBytes } from './util'

export interface ProgressStream {
  write(s: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface ProgressReporter {
  update(p: Progress): void
  /** Success: draws the final state and ends the line. */
  done(): void
  /** Failure: leaves the line clean for an error message. */
  fail(): void
}

const REDRAW_MS = 100

export function createProgress(label: string, stream: ProgressStream, now: () => number = Date.now): ProgressReporter {
  return stream.isTTY ? new Bar(label, stream, now) : new Lines(label, stream, now)
}

class Bar implements ProgressReporter {
  private last: Progress = { received: 0 }
  private drawnAt = -Infinity
  private readonly start: number
  private drawn = false

  constructor(
    private readonly label: string,
    private readonly stream: ProgressStream,
    private readonly now: () => number,
  ) {
    this.start = now()
  }

  update(p: Progress): void {
    this.last = p
    const t = this.now()
    if (t - this.drawnAt >= REDRAW_MS || (p.total !== undefined && p.received >= p.total)) {
      this.drawnAt = t
      this.draw()
    }
  }

  private draw(): void {
    const { received, total } = this.last
    const seconds = Math.max((this.now() - this.start) / 1000, 0.001)
    const rate = `${formatBytes(Math.round(received / seconds))}/s`
    const width = Math.max(40, Math.min(this.stream.columns || 80, 200))
    let line: string
    if (total !== undefined && total > 0) {
      const frac = Math.min(received / total, 1)
      const pct = `${Math.floor(frac * 100)}%`.padStart(4)
      const tail = ` ${pct}  ${formatBytes(received)} / ${formatBytes(total)}  ${rate}`
      const barWidth = Math.max(10, width - this.label.length - tail.length - 4)
      const filled = Math.round(frac * barWidth)
      line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`
    } else {
      line = `${this.label}  ${formatBytes(received)}  ${rate}`
    }
    this.stream.write(`\r${line.slice(0, width - 1)}\x1b[K`)
    this.drawn = true
  }

  done(): void {
    this.draw()
    this.stream.write('\n')
  }

  fail(): void {
    if (this.drawn) this.stream.write('\r\x1b[K')
  }
}

class Lines implements ProgressReporter {
  private nextPercent = 10
  private lastLine: number
  private last: Progress = { received: 0 }

  constructor(
    private readonly label: string,
    private readonly stream: ProgressStream,
    private readonly now: () => number,
  ) {
    this.lastLine = now()
  }

  update(p: Progress): void {
    this.last = p
    if (p.total !== undefined && p.total > 0) {
      const pct = Math.floor((p.received / p.total) * 100)
      if (pct >= this.nextPercent) {
        this.nextPercent = Math.floor(pct / 10) * 10 + 10
        this.stream.write(`${this.label}: ${pct}% (${formatBytes(p.received)} of ${formatBytes(p.total)})\n`)
      }
    } else if (this.now() - this.lastLine >= 1000) {
      this.lastLine = this.now()
      this.stream.write(`${this.label}: ${formatBytes(p.received)}\n`)
    }
  }

  done(): void {
    const { received, total } = this.last
    if (total === undefined) this.stream.write(`${this.label}: ${formatBytes(received)}, done\n`)
  }

  fail(): void {}
}

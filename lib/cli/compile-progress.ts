// Compile progress for `ocre image build`: one line redrawn in place on a
// TTY, plain lines otherwise (each phase, and every 10 % of the functions
// translated, or compiled in a split compile). The phases are the compiler's (lib/aot.ts CompileProgress).
import type { CompileProgress } from '../aot'
import type { ProgressStream } from './progress'

const REDRAW_MS = 100

export interface CompileReporter {
  update(p: CompileProgress): void
  /** Ends the line (success or failure) so that what follows starts clean. */
  end(): void
}

function describe(p: CompileProgress): string {
  if (p.phase === 'translate') return `translating functions ${p.done}/${p.total}`
  if (p.phase === 'optimize')
    return p.done ? `compiling functions ${p.done}/${p.total}` : `optimizing ${p.total} functions (LLVM)`
  return `generating machine code for ${p.total} functions`
}

export function createCompileProgress(name: string, stream: ProgressStream, now: () => number = Date.now): CompileReporter {
  const start = now()
  const elapsed = () => `${Math.round((now() - start) / 1000)} s`
  let drawnAt = -Infinity
  let drawn = false
  let lastPhase = ''
  let lastTenth = -1
  return {
    update(p) {
      if (stream.isTTY) {
        const t = now()
        if (t - drawnAt < REDRAW_MS && p.phase === lastPhase && p.done !== p.total) return
        drawnAt = t
        lastPhase = p.phase
        stream.write(`\r\x1b[K${name}: ${describe(p)}  ${elapsed()}`)
        drawn = true
        return
      }
      const tenth = p.total ? Math.floor((p.done * 10) / p.total) : 0
      if (p.phase === lastPhase && (p.phase === 'codegen' || tenth === lastTenth)) return
      lastPhase = p.phase
      lastTenth = tenth
      stream.write(`${name}: ${describe(p)} (${elapsed()})\n`)
    },
    end() {
      if (drawn) stream.write('\r\x1b[K')
      drawn = false
    },
  }
}

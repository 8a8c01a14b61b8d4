// The client side of attach (POST /v1/containers/:id/attach, lib/daemon/attach.ts):
// the container's output as it comes, its stdin from a stream, the run's
// result at its end; detaching closes the connection and leaves it running.
import type { Readable } from 'node:stream'
import type { ExitResult } from '../types'
import type { Transport } from './transport'

export interface AttachOptions {
  /** Fed to the container's stdin (an interactive container's); its end is end-of-file there. */
  stdin?: Readable | null
  /** Each piece of output, as it comes (UTF-8 text). */
  onOutput: (stream: 'stdout' | 'stderr', text: string) => void
}

export interface AttachSession {
  /** Resolves once the daemon follows the container (output from then on reaches onOutput). */
  ready: Promise<void>
  /** The run's result when it ends; null once detached. Rejects if the daemon fails or goes away. */
  done: Promise<ExitResult | null>
  /** Close the session: the container keeps running, its stdin open. */
  detach(): void
}

export function attachSession(t: Transport, id: string, o: AttachOptions): AttachSession {
  const ac = new AbortController()
  const stdin = o.stdin ?? null
  const { req, reply } = t.duplex('POST', `/v1/containers/${encodeURIComponent(id)}/attach${stdin ? '?stdin=true' : ''}`, ac.signal)
  let detached = false
  const stopInput = () => {
    if (!stdin) return
    stdin.unpipe(req)
    stdin.pause()
  }
  if (stdin) stdin.pipe(req)
  else req.end() // output only: the daemon does not read the body
  const done = new Promise<ExitResult | null>((resolve, reject) => {
    reply.then(
      (res) => {
        let result: ExitResult | null = null
        let partial = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n')
          partial = lines.pop()!
          for (const line of lines) {
            if (!line) continue
            const f = JSON.parse(line) as { stream?: 'stdout' | 'stderr'; data?: string; exit?: ExitResult }
            if (f.exit) result = { exitCode: f.exit.exitCode, reason: f.exit.reason }
            else if (f.stream && typeof f.data === 'string') o.onOutput(f.stream, f.data)
          }
        })
        res.on('error', () => {}) // a detach aborts it: 'close' below settles
        res.once('close', () => {
          stopInput()
          req.destroy()
          if (result) resolve(result)
          else if (detached) resolve(null)
          else reject(new Error(`the attach session of ${id} ended without the end of its run (the daemon went away)`))
        })
      },
      (err: Error) => {
        stopInput()
        if (detached) resolve(null)
        else reject(err)
      },
    )
  })
  const ready = reply.then(() => undefined)
  ready.catch(() => {}) // `done` reports the failure too: awaiting `ready` is optional
  return {
    ready,
    done,
    detach() {
      if (detached) return
      detached = true
      stopInput()
      ac.abort()
    },
  }
}

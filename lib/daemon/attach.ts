// POST /v1/containers/:id/attach: a container's output, live, as NDJSON
// frames `{"stream":"stdout"|"stderr","data":"<UTF-8 text>"}`, ended by
// `{"exit":{"exitCode","reason"}}` when its run ends; with stdin=true the
// request body (sent as it is typed: chunked) goes to its stdin.
//
// One HTTP/1.1 exchange carries both directions: the reply streams while
// the request body still arrives. The request body's end (the chunked
// encoding's last chunk) is end-of-file on the container's stdin; a client
// that goes away before that (connection closed) has detached: the
// container keeps running, its stdin open for the next attach.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Container } from '../container'
import type { ExitResult } from '../types'
import type { Supervisor } from './supervisor'

export interface AttachRequest {
  req: IncomingMessage
  res: ServerResponse
  /** Aborted when the client goes away (a detach). */
  signal: AbortSignal
  stdin: boolean
}

/** Serves one attach session; resolves when it is over (the run ended, or the client detached). */
export function serveAttach(sup: Supervisor, id: string, a: AttachRequest): Promise<void> {
  const { req, res, signal } = a
  return new Promise<void>((resolve) => {
    let run: Container | null = null
    let eof = false
    let over = false
    const pending: Buffer[] = []
    const send = (v: unknown) => res.write(JSON.stringify(v) + '\n')
    const onStdout = (d: string | Buffer) => void send({ stream: 'stdout', data: String(d) })
    const onStderr = (d: string | Buffer) => void send({ stream: 'stderr', data: String(d) })
    // the run's end, once its output is all sent ('close' comes after the output streams end)
    const onClose = (r: ExitResult) => {
      send({ exit: { exitCode: r.exitCode, reason: r.reason } })
      finish()
      res.end()
    }
    const unfollow = () => {
      if (!run) return
      run.stdout?.off('data', onStdout)
      run.stderr?.off('data', onStderr)
      run.off('close', onClose)
    }
    let detach = () => {}
    const finish = () => {
      if (over) return
      over = true
      detach()
      unfollow()
      req.off('data', onInput)
      req.resume() // what the client still sends is discarded
      resolve()
    }

    /** Stdin: to the run's pipe (with back-pressure), queued until a run begins; its end ends the pipe. */
    const feed = () => {
      const sink = run?.stdin
      if (!sink) return
      while (pending.length) if (!sink.write(pending.shift())) break
      if (pending.length === 0 && eof) sink.end()
      else if (pending.length === 0) req.resume()
      else sink.once('drain', feed)
    }
    const onInput = (chunk: Buffer) => {
      pending.push(chunk)
      req.pause()
      feed()
    }
    if (a.stdin) {
      req.on('data', onInput)
      req.once('end', () => {
        eof = true
        feed()
      })
    }

    signal.addEventListener('abort', finish, { once: true })
    try {
      detach = sup.attach(id, a.stdin, (c) => {
        unfollow()
        run = c
        c.stdout?.on('data', onStdout)
        c.stderr?.on('data', onStderr)
        c.once('close', onClose)
        feed()
      })
    } catch (err) {
      signal.removeEventListener('abort', finish)
      over = true
      req.resume()
      throw err
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
    res.flushHeaders()
  })
}

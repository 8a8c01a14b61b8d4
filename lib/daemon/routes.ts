// The daemon's API: one table of routes (method, path, schemas, handler).
// server.ts serves it; openapi.ts describes it. Paths are under /v1.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { OcreError } from '../errors'
import { serveAttach } from './attach'
import type { LogRecord } from './logs'
import * as S from './schemas'
import type { CreateRequest, DaemonEvent, Supervisor } from './supervisor'

export interface RequestContext {
  params: Record<string, string>
  query: Record<string, string>
  body: Record<string, unknown>
  /** The request itself: its body is the handler's to read (routes with `rawBody`). */
  req: IncomingMessage
  res: ServerResponse
  /** Aborted when the client goes away. */
  signal: AbortSignal
}

/** A JSON reply, or `null` when the handler streamed the response itself. */
export type Reply = { status: number; body: unknown } | null

export interface Route {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  operationId: string
  summary: string
  body?: object
  /** The request body is a byte stream for the handler (not JSON, not size-capped; described as this media type). */
  rawBody?: string
  query: object
  /** JSON schema of a 2xx reply (for an NDJSON stream: of one line). */
  response: { status: number; schema?: object; stream?: boolean }
  handler: (sup: Supervisor, rc: RequestContext) => Promise<Reply>
}

export const API_VERSION = 'v1'

function flag(v: string | undefined): boolean {
  return v === 'true' || v === '1'
}

/** `since` as an ISO time or Unix seconds. */
export function parseSince(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined
  const d = /^\d+(\.\d+)?$/.test(text) ? new Date(Number(text) * 1000) : new Date(text)
  if (Number.isNaN(d.getTime()))
    throw new OcreError('ERR_OCRE_INVALID_ARGUMENT', `invalid time '${text}': expected an ISO time or Unix seconds`)
  return d
}

/** Starts an NDJSON stream (one JSON value per line, flushed as it comes). */
function ndjson(res: ServerResponse): (value: unknown) => boolean {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
  res.flushHeaders()
  return (value) => res.write(JSON.stringify(value) + '\n')
}

/** Resolves when the client goes away. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

const ok = (body: unknown, status = 200): Reply => ({ status, body })

export const routes: Route[] = [
  {
    method: 'GET',
    path: '/v1/_ping',
    operationId: 'ping',
    summary: 'Liveness of the daemon and its version',
    query: S.noQuery,
    response: { status: 200, schema: { type: 'object' } },
    handler: async (sup) => ok({ ok: true, api: API_VERSION, workdir: sup.ctx.workdir, containers: sup.size }),
  },
  {
    method: 'GET',
    path: '/v1/containers',
    operationId: 'listContainers',
    summary: 'List containers (running, paused and restarting ones; all with all=true)',
    query: S.listQuery,
    response: { status: 200, schema: { type: 'array', items: S.summarySchema } },
    handler: async (sup, { query }) => ok(sup.list(flag(query.all))),
  },
  {
    method: 'POST',
    path: '/v1/containers',
    operationId: 'createContainer',
    summary: 'Create a container (and start it with start=true); its definition is stored durably before the reply',
    body: S.createBody,
    query: S.noQuery,
    response: { status: 201, schema: S.containerSchema },
    handler: async (sup, { body }) => {
      const { start, ...req } = body as unknown as CreateRequest & { start?: boolean }
      if (req.restart && req.restart.name !== 'on-failure' && req.restart.maxRetries)
        throw new OcreError('ERR_OCRE_INVALID_ARGUMENT', 'restart.maxRetries is only for the on-failure policy')
      if (req.restart) req.restart = { name: req.restart.name, maxRetries: req.restart.maxRetries ?? 0 }
      let info = await sup.create(req)
      if (start) info = await sup.start(info.id)
      return ok(info, 201)
    },
  },
  {
    method: 'GET',
    path: '/v1/containers/:id',
    operationId: 'inspectContainer',
    summary: 'Inspect a container',
    query: S.noQuery,
    response: { status: 200, schema: S.containerSchema },
    handler: async (sup, { params }) => ok(sup.inspect(params.id)),
  },
  {
    method: 'DELETE',
    path: '/v1/containers/:id',
    operationId: 'removeContainer',
    summary: 'Remove a container, its record and its logs (force=true kills a running one first)',
    query: S.removeQuery,
    response: { status: 204 },
    handler: async (sup, { params, query }) => {
      await sup.remove(params.id, flag(query.force))
      return ok(null, 204)
    },
  },
  ...(['start', 'kill', 'pause', 'unpause'] as const).map(
    (action): Route => ({
      method: 'POST',
      path: `/v1/containers/:id/${action}`,
      operationId: `${action}Container`,
      summary:
        action === 'start'
          ? 'Start a container (resets its restart count)'
          : action === 'kill'
            ? 'Kill a running or paused container (exit 137); its restart policy does not apply'
            : `${action[0].toUpperCase()}${action.slice(1)} a container`,
      body: S.emptyBody,
      query: S.noQuery,
      response: { status: 200, schema: S.containerSchema },
      handler: async (sup, { params }) => ok(await sup[action](params.id)),
    }),
  ),
  ...(['stop', 'restart'] as const).map(
    (action): Route => ({
      method: 'POST',
      path: `/v1/containers/:id/${action}`,
      operationId: `${action}Container`,
      summary:
        action === 'stop'
          ? 'Stop a container: its stdin ends, it is killed after the grace period (ms); replies once it has ended'
          : 'Stop (if running) and start a container',
      body: S.stopBody,
      query: S.noQuery,
      response: { status: 200, schema: S.containerSchema },
      handler: async (sup, { params, body }) => ok(await sup[action](params.id, body.timeout as number | undefined)),
    }),
  ),
  {
    method: 'POST',
    path: '/v1/containers/:id/wait',
    operationId: 'waitContainer',
    summary: 'Wait for the end of the current run (the last result at once when stopped)',
    body: S.emptyBody,
    query: S.noQuery,
    response: { status: 200, schema: S.exitSchema },
    handler: async (sup, { params }) => ok(await sup.wait(params.id)),
  },
  {
    method: 'POST',
    path: '/v1/containers/:id/attach',
    operationId: 'attachContainer',
    summary:
      "Attach: the container's output as NDJSON frames ({stream, data}) from now on, ended by {exit} when its run " +
      'ends (a created or restarting container: its next run). With stdin=true (interactive containers) the request ' +
      "body, sent chunked as it comes, is its stdin: the body's end is end-of-file; closing the connection before " +
      'that detaches and leaves the container running with its stdin open.',
    rawBody: 'application/octet-stream',
    query: S.attachQuery,
    response: { status: 200, schema: S.attachFrameSchema, stream: true },
    handler: async (sup, { params, query, req, res, signal }) => {
      await serveAttach(sup, params.id, { req, res, signal, stdin: flag(query.stdin) })
      return null
    },
  },
  {
    method: 'GET',
    path: '/v1/containers/:id/logs',
    operationId: 'containerLogs',
    summary:
      'Captured output as NDJSON log records (tail=N, since=T); follow=true streams new ones until the run ends with no restart due (at once for a stopped container), or the container is removed',
    query: S.logsQuery,
    response: { status: 200, schema: S.logRecordSchema, stream: true },
    handler: async (sup, { params, query, res, signal }) => {
      const log = sup.logFile(params.id)
      const since = parseSince(query.since)
      const tail = query.tail === undefined || query.tail === 'all' ? Infinity : Number(query.tail)
      const keep = (r: LogRecord) => !since || new Date(r.time) >= since
      const follow = flag(query.follow)
      const done = follow ? sup.untilDone(params.id) : null
      let send: ((v: unknown) => boolean) | null = null
      const early: LogRecord[] = []
      const { records, stop } = await log.read(
        follow ? (r) => (send ? keep(r) && send(r) : early.push(r)) : undefined,
      )
      try {
        send = ndjson(res)
        let selected = records.filter(keep)
        if (selected.length > tail) selected = selected.slice(selected.length - tail)
        for (const r of selected) send(r)
        for (const r of early) if (keep(r)) send(r)
        if (done) await Promise.race([done, untilAborted(signal)])
      } finally {
        stop()
      }
      res.end()
      return null
    },
  },
  {
    method: 'GET',
    path: '/v1/events',
    operationId: 'events',
    summary: 'Live NDJSON stream of lifecycle events (since=T first replays the last 1,000 kept in memory)',
    query: S.eventsQuery,
    response: { status: 200, schema: S.eventSchema, stream: true },
    handler: async (sup, { query, res, signal }) => {
      const since = parseSince(query.since)
      const send = ndjson(res)
      for (const e of sup.history(since)) send(e)
      const onEvent = (e: DaemonEvent) => send(e)
      sup.on('event', onEvent)
      try {
        await untilAborted(signal)
      } finally {
        sup.off('event', onEvent)
      }
      res.end()
      return null
    },
  },
  {
    method: 'GET',
    path: '/v1/images',
    operationId: 'listImages',
    summary: 'List the images of the store',
    query: S.noQuery,
    response: { status: 200, schema: { type: 'array', items: S.imageSchema } },
    handler: async (sup) => ok((await sup.ctx.images.list()).map(({ path: _p, ...i }) => i)),
  },
  {
    method: 'POST',
    path: '/v1/images/pull',
    operationId: 'pullImage',
    summary: 'Download an image (http:, https: or file: URL) into the store',
    body: S.pullBody,
    query: S.noQuery,
    response: { status: 201, schema: S.imageSchema },
    handler: async (sup, { body, signal }) => {
      const b = body as { url: string; name?: string; force?: boolean; sha256?: string; maxBytes?: number }
      let url: URL
      try {
        url = new URL(b.url)
      } catch {
        throw new OcreError('ERR_OCRE_INVALID_ARGUMENT', `invalid URL '${b.url}'`)
      }
      const { path: _p, ...info } = await sup.ctx.images.pull(url, {
        ...(b.name !== undefined && { name: b.name }),
        ...(b.force !== undefined && { replace: b.force }),
        ...(b.sha256 !== undefined && { sha256: b.sha256 }),
        ...(b.maxBytes !== undefined && { maxBytes: b.maxBytes }),
        signal,
      })
      return ok(info, 201)
    },
  },
  {
    method: 'DELETE',
    path: '/v1/images/:name',
    operationId: 'removeImage',
    summary: 'Remove an image (refused while a container uses it)',
    query: S.noQuery,
    response: { status: 204 },
    handler: async (sup, { params }) => {
      await sup.ctx.images.remove(params.name)
      return ok(null, 204)
    },
  },
]

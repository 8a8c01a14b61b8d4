// Docker-like text for daemon containers and events: `ps` rows, statuses
// such as `Up 5 minutes` or `Exited (1) 2 seconds ago`, relative times.
import type { DaemonEvent, RemoteContainerSummary } from '../client/connect'
import { formatTable } from './util'

/** `Less than a second`, `5 seconds`, `About a minute`, `3 minutes`, `About an hour`, `2 hours`, `3 days`. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 1) return 'Less than a second'
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`
  const m = Math.round(s / 60)
  if (m === 1) return 'About a minute'
  if (m < 60) return `${m} minutes`
  const h = Math.round(s / 3600)
  if (h === 1) return 'About an hour'
  if (h < 48) return `${h} hours`
  const d = Math.round(h / 24)
  if (d < 14) return `${d} days`
  const w = Math.round(d / 7)
  if (w < 9) return `${w} weeks`
  return `${Math.round(d / 30)} months`
}

function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return ''
  return `${humanDuration(now - Date.parse(iso))} ago`
}

/** The STATUS column. */
export function describeStatus(c: RemoteContainerSummary, now = Date.now()): string {
  const code = c.lastExit ? ` (${c.lastExit.exitCode})` : ''
  switch (c.status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(c.startedAt ?? c.created))}`
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(c.startedAt ?? c.created))} (Paused)`
    case 'restarting':
      return `Restarting${code} ${ago(c.lastExit?.time, now)}`.trimEnd()
    case 'stopped':
      return `Exited${code} ${ago(c.lastExit?.time, now)}`.trimEnd()
    case 'error':
      return c.error ? `Error: ${c.error}` : 'Error'
    default:
      return 'Created'
  }
}

function command(c: RemoteContainerSummary, trunc: boolean): string {
  const text = [c.image, ...c.args].join(' ')
  const quoted = `"${trunc && text.length > 20 ? text.slice(0, 19) + '…' : text}"`
  return quoted
}

/** `ps` as a table. */
export function formatPs(list: RemoteContainerSummary[], trunc = true, now = Date.now()): string {
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'RESTART']]
  for (const c of list)
    rows.push([c.id, c.image, command(c, trunc), ago(c.created, now), describeStatus(c, now), c.restartPolicy])
  return formatTable(rows) + '\n'
}

/** One `events` line: `2026-01-02T03:04:05.678Z container die 1a2b3c4d (image=hello.wasm, exitCode=0)`. */
export function formatEvent(e: DaemonEvent): string {
  const attrs = [`image=${e.image}`]
  if (e.exitCode !== undefined) attrs.push(`exitCode=${e.exitCode}`)
  if (e.reason !== undefined) attrs.push(`reason=${e.reason}`)
  return `${e.time} container ${e.action} ${e.id} (${attrs.join(', ')})`
}

/** `--since`: an ISO time, Unix seconds, or a duration before now (`30s`, `10m`, `2h`, `1d`). */
export function parseSinceArg(text: string, now = Date.now()): Date {
  const rel = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text)
  if (rel) return new Date(now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[rel[2] as 's'])
  const d = /^\d+(\.\d+)?$/.test(text) ? new Date(Number(text) * 1000) : new Date(text)
  if (Number.isNaN(d.getTime())) throw new Error(`invalid time '${text}': expected an ISO time, Unix seconds or a duration like 10m`)
  return d
}

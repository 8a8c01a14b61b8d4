// The daemon's own log: one JSON object per line on stderr
// (`{"time":"<ISO>","level":"info","msg":"...",...fields}`), which journald
// and log shippers take as is. Records below the level cost nothing.
export type Level = 'error' | 'warn' | 'info' | 'debug'

const RANK: Record<Level | 'none', number> = { none: -1, error: 0, warn: 1, info: 2, debug: 3 }

export type JsonLog = (level: Level, msg: string, fields?: Record<string, unknown>) => void

export function createJsonLog(out: NodeJS.WritableStream, level: Level | 'none' = 'info'): JsonLog {
  const max = RANK[level]
  return (l, msg, fields) => {
    if (RANK[l] > max) return
    out.write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }) + '\n')
  }
}

// Restart policies, as Docker's: `no`, `on-failure[:N]`, `always`,
// `unless-stopped`, and the back-off between restarts. Pure functions: the
// supervisor feeds them what happened and applies the verdict.
//
// Back-off: the first restart after a stable run (one that lasted at least
// `stableMs`) is immediate; each further restart after a short run waits
// twice as long as the one before, from `baseMs` up to `maxMs`.
import type { RestartPolicy, RestartPolicyName } from './store'

export const POLICY_NAMES: readonly RestartPolicyName[] = ['no', 'on-failure', 'always', 'unless-stopped']

export interface BackoffOptions {
  baseMs: number
  maxMs: number
  stableMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 60_000, stableMs: 10_000 }

/** `no`, `always`, `unless-stopped`, `on-failure`, `on-failure:N`; null if it is none of them. */
export function parseRestartPolicy(text: string): RestartPolicy | null {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d{1,9}))?$/.exec(text)
  if (!m) return null
  const name = m[1] as RestartPolicyName
  if (m[2] !== undefined && name !== 'on-failure') return null
  return { name, maxRetries: m[2] === undefined ? 0 : Number(m[2]) }
}

export function formatRestartPolicy(p: RestartPolicy): string {
  return p.name === 'on-failure' && p.maxRetries > 0 ? `on-failure:${p.maxRetries}` : p.name
}

export interface RunEnd {
  policy: RestartPolicy
  exitCode: number
  /** Restarts done since the last manual start. */
  restartCount: number
  /** How long the run lasted (ms). */
  runMs: number
  /** Short runs in a row before this one (0 after a stable run). */
  streak: number
}

export interface Verdict {
  restart: boolean
  /** Wait this long before restarting (ms). */
  delayMs: number
  /** The streak to keep for the next run end. */
  streak: number
}

/** Whether (and when) a run that ended on its own is restarted. */
export function decideRestart(end: RunEnd, backoff: BackoffOptions = DEFAULT_BACKOFF): Verdict {
  const { policy } = end
  let restart: boolean
  switch (policy.name) {
    case 'no':
      restart = false
      break
    case 'on-failure':
      restart = end.exitCode !== 0 && (policy.maxRetries === 0 || end.restartCount < policy.maxRetries)
      break
    default:
      restart = true
  }
  const streak = end.runMs >= backoff.stableMs ? 0 : end.streak
  if (!restart) return { restart, delayMs: 0, streak }
  const delayMs = streak === 0 ? 0 : Math.min(backoff.baseMs * 2 ** (streak - 1), backoff.maxMs)
  return { restart, delayMs, streak: streak + 1 }
}

/** Whether the daemon starts the container when it comes up (after a restart, a crash or a reboot). */
export function startsAtBoot(policy: RestartPolicy, wasRunning: boolean, manuallyStopped: boolean): boolean {
  if (policy.name === 'always') return true
  if (policy.name === 'unless-stopped') return !manuallyStopped
  return wasRunning
}

// Input checks, before anything reaches C (the native side checks again).
// TypeError for a wrong type or value, RangeError for a number out of range;
// messages read "Expected <what> for <name> but received <value>". Unknown
// option names are rejected, with a suggestion for likely misspellings.
import { inspect } from 'node:util'

export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`
  if (typeof value === 'object') {
    if (Array.isArray(value)) return `an array (${inspect(value, { depth: 0, breakLength: Infinity })})`
    const ctor = (value as object).constructor
    const name = ctor && typeof ctor === 'function' && ctor.name && ctor.name !== 'Object' ? ctor.name : ''
    return name ? `an instance of ${name}` : inspect(value, { depth: 0, breakLength: Infinity })
  }
  if (typeof value === 'string') {
    const s = value.length > 40 ? `${value.slice(0, 37)}...` : value
    return `type string (${JSON.stringify(s)})`
  }
  return `type ${typeof value} (${String(value)}${typeof value === 'bigint' ? 'n' : ''})`
}

export function typeError(what: string, name: string, value: unknown): TypeError {
  return new TypeError(`Expected ${what} for ${name} but received ${describe(value)}`)
}

export function rangeError(what: string, name: string, value: unknown): RangeError {
  return new RangeError(`Expected ${what} for ${name} but received ${describe(value)}`)
}

function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]
    d[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1))
      prev = tmp
    }
  }
  return d[b.length]
}

/** `value` must be a plain object whose own keys are all in `allowed`. */
export function checkOptions(value: unknown, name: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError('an object', name, value)
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue
    let best: string | undefined
    let bestDistance = Infinity
    for (const candidate of allowed) {
      const dist = editDistance(key, candidate)
      if (dist < bestDistance) {
        best = candidate
        bestDistance = dist
      }
    }
    const hint =
      best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))
        ? ` (did you mean '${best}'?)`
        : ` (known options: ${allowed.join(', ')})`
    throw new TypeError(`Unknown option '${key}' in ${name}${hint}`)
  }
  return value as Record<string, unknown>
}

export function checkString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw typeError('a string', name, value)
  if (value.includes('\0')) throw typeError('a string without NUL characters', name, value)
  return value
}

export function checkNonEmptyString(value: unknown, name: string): string {
  checkString(value, name)
  if (value === '') throw typeError('a non-empty string', name, value)
  return value as string
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw typeError('a boolean', name, value)
  return value
}

export function checkFunction<T>(value: unknown, name: string): T {
  if (typeof value !== 'function') throw typeError('a function', name, value)
  return value as T
}

export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError('an integer', name, value)
  if (value < min || value > max) throw rangeError(`an integer from ${min} to ${max}`, name, value)
  return value
}

export function checkAbsolutePath(value: unknown, name: string): string {
  checkString(value, name)
  if (!(value as string).startsWith('/')) throw typeError('an absolute path', name, value)
  return value as string
}

export function checkStringArray(value: unknown, name: string): string[] {
  if (!Array.isArray(value)) throw typeError('an array of strings', name, value)
  return value.map((v, i) => checkString(v, `${name}[${i}]`))
}

/** { KEY: 'value' } -> ['KEY=value'] */
export function checkEnv(value: unknown, name: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw typeError('an object of strings', name, value)
  const out: string[] = []
  for (const [key, v] of Object.entries(value)) {
    if (key === '' || key.includes('=') || key.includes('\0'))
      throw typeError("a variable name (non-empty, without '=')", `${name} key`, key)
    out.push(`${key}=${checkString(v, `${name}.${key}`)}`)
  }
  return out
}

/** [{ source, target, readonly }] -> ['/src:/dst[:ro]'] */
export function checkMounts(value: unknown, name: string): string[] {
  if (!Array.isArray(value)) throw typeError('an array of mounts', name, value)
  return value.map((m, i) => {
    const n = `${name}[${i}]`
    const o = checkOptions(m, n, ['source', 'target', 'readonly'])
    const source = checkAbsolutePath(o.source, `${n}.source`)
    // absolute, `/` included (the guest's root), or relative (`.`: the
    // preopen older WASI programs resolve relative paths against); `.` and
    // `..` components are refused by the runtime (ERR_OCRE_INVALID_MOUNT)
    const target = checkString(o.target, `${n}.target`)
    if (source.includes(':')) throw typeError("a path without ':'", `${n}.source`, source)
    if (target === '' || target.includes(':') || target.includes('\0'))
      throw typeError("a non-empty path without ':'", `${n}.target`, target)
    const ro = o.readonly === undefined ? false : checkBoolean(o.readonly, `${n}.readonly`)
    return `${source}:${target}${ro ? ':ro' : ''}`
  })
}

export function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  )
}

export function checkSignal(value: unknown, name: string): AbortSignal {
  if (!isAbortSignal(value)) throw typeError('an AbortSignal', name, value)
  return value
}

/** A safe integer >= `min` (TypeError for a non-number, RangeError otherwise). */
export function checkSafeInteger(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number') throw typeError('a number', name, value)
  if (!Number.isSafeInteger(value) || value < min) throw rangeError(`an integer >= ${min}`, name, value)
  return value
}

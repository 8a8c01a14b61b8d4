// Errors of the public API.
//
// - OcreError: a failure reported by the C core (or by lib/ for the same
//   conditions), with a stable machine-readable `code` (ocre_error_code()) and
//   the core's human-readable reason as the message. The native addon builds
//   it from this class, which lib/binding.ts hands over at init.
// - TypeError / RangeError: bad input, thrown before anything reaches C
//   (see validate.ts).
// - AbortError: an operation cancelled through an AbortSignal.

/** The codes the C core reports (ocre_error_code()). */
export type OcreCoreErrorCode =
  | 'ERR_OCRE_INVALID_ARGUMENT'
  | 'ERR_OCRE_INVALID_NAME'
  | 'ERR_OCRE_INVALID_MOUNT'
  | 'ERR_OCRE_INVALID_CAPABILITY'
  | 'ERR_OCRE_IMAGE_NOT_FOUND'
  | 'ERR_OCRE_INVALID_IMAGE'
  | 'ERR_OCRE_EXISTS'
  | 'ERR_OCRE_NOT_FOUND'
  | 'ERR_OCRE_STATE'
  | 'ERR_OCRE_RUNTIME'
  | 'ERR_OCRE_NO_MEMORY'
  | 'ERR_OCRE_IO'
  | 'ERR_OCRE_NOT_INITIALIZED'
  | 'ERR_OCRE_UNSUPPORTED'
  | 'ERR_OCRE_TIMEOUT'
  | 'ERR_OCRE_NO_AOT'
  | 'ERR_OCRE_AOT_REJECTED'
  | 'ERR_OCRE_IMAGE_CHANGED'
  | 'ERR_OCRE_BUSY'
  | 'ERR_OCRE_UNKNOWN'

/**
 * An error code: one of the core's, or another `ERR_OCRE_*` string used by
 * other parts of the package (e.g. the image store's `ERR_OCRE_TOO_LARGE`).
 */
export type OcreErrorCode = OcreCoreErrorCode | `ERR_OCRE_${string}`

/** A failure reported by the ocre runtime, with a stable {@link OcreError.code}. */
export class OcreError extends Error {
  /** Stable machine-readable code, e.g. `ERR_OCRE_IMAGE_NOT_FOUND`. */
  readonly code: OcreErrorCode

  constructor(code: OcreErrorCode | string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code as OcreErrorCode
  }

  override get name(): string {
    return 'OcreError'
  }
}

/** The error an aborted operation rejects with (like Node's own: name `AbortError`, code `ABORT_ERR`). */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR'

  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    super(message, options)
  }

  override get name(): string {
    return 'AbortError'
  }
}

/** The AbortError of an operation cancelled through `signal` (its reason as the cause). */
export function abortError(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason })
}

/** The `code` of a Node.js system error (`ENOENT`, ...), if it is one. */
export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code
}

/** Whether `err` is an OcreError with `code` (any OcreError without `code`). */
export function isOcreError(err: unknown, code?: OcreErrorCode): err is OcreError {
  return err instanceof OcreError && (code === undefined || err.code === code)
}

/**
 * A captured call site, for errors that surface asynchronously: the native
 * side creates them from a callback with no JavaScript frames, so their stack
 * would otherwise be empty. Capturing is cheap (the stack is formatted only if
 * it is read).
 */
export interface CallSite {
  stack?: string
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function captureCallSite(fn: Function): CallSite {
  const site: CallSite = {}
  Error.captureStackTrace(site, fn)
  return site
}

/** Give `err` the stack of the call that started the operation. Returns `err`. */
export function withCallSite<E>(err: E, site: CallSite): E {
  if (err instanceof Error && site.stack !== undefined) {
    const frames = site.stack.split('\n').slice(1).join('\n')
    Object.defineProperty(err, 'stack', {
      value: `${err.name}: ${err.message}\n${frames}`,
      writable: true,
      configurable: true,
      enumerable: false,
    })
  }
  return err
}

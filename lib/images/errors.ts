// The store's errors: every failure of the store is an OcreError with a code.
import { OcreError } from '../errors'

/**
 * Every failure of the store is an OcreError with a code: a file-system error
 * that is not already one (e.g. another process removed a file between two
 * steps) becomes ERR_OCRE_IO, its message naming the operation, with the
 * original as `cause`. Bad input (TypeError, RangeError) and aborts pass.
 */
export function storeError(err: unknown, what: string): unknown {
  if (err instanceof OcreError || err instanceof TypeError || err instanceof RangeError) return err
  if ((err as { name?: string })?.name === 'AbortError') return err
  const e = err as { code?: unknown; message?: unknown }
  if (typeof e?.code === 'string' && e.code.startsWith('ERR_OCRE_')) return err
  return new OcreError('ERR_OCRE_IO', `${what}: ${typeof e?.message === 'string' ? e.message : String(err)}`, {
    cause: err,
  })
}

export function notFound(name: string, dir: string): OcreError {
  return new OcreError('ERR_OCRE_IMAGE_NOT_FOUND', `image '${name}' not found in ${dir}`)
}

export function existsError(name: string): OcreError {
  return new OcreError('ERR_OCRE_EXISTS', `image '${name}' already exists (replace it with { replace: true })`)
}

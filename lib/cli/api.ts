// How the command line gets the runtime API (lib/index.ts). It is loaded only
// by the commands that need it (`run`, `version`, `--verbose`): `help` and
// `image ...` work without the native addon.
import type * as Ocre from '../index'

export type OcreApi = typeof Ocre

let api: OcreApi | undefined

/** The runtime API (loads the native addon on first use). */
export function loadApi(): OcreApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  api ??= require('../index') as OcreApi
  return api
}

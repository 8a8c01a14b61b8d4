// ESM entry point of `ocre-node`: the CommonJS build (dist/index.js)
// re-exported by name, so that `import` and `require()` share one module
// instance (one native addon, one log level, one set of open contexts).
// test/97.package.test.ts checks that these names are exactly dist's.
import cjs from '../dist/index.js'

export const {
  open,
  Context,
  Container,
  OcreError,
  AbortError,
  isOcreError,
  Messaging,
  Subscription,
  Sensors,
  Gpio,
  setLogLevel,
  getLogLevel,
  setLogger,
  defaultLogger,
  connect,
  DaemonClient,
  RemoteContainer,
  version,
} = cjs

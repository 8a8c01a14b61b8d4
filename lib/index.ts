// ocre-node: run WebAssembly (WASI preview1) modules as isolated containers.
//
//   import { open } from 'ocre-node'
//   const ctx = await open({ workdir: '/var/lib/myapp/ocre' })
//   const { exitCode, stdout } = await ctx.run('hello.wasm')
//   await ctx.close()
//
// See docs/api.md.
import { binding } from './binding'

export { open, Context } from './context'
export { Container, type ContainerEvents, type StartResult } from './container'
export { OcreError, AbortError, isOcreError, type OcreErrorCode, type OcreCoreErrorCode } from './errors'
export { Messaging, Subscription, type Message, type SubscribeOptions } from './messaging'
export { Sensors, Gpio, type SensorProvider, type GpioProvider, type GpioPort } from './devices'
export { setLogLevel, getLogLevel, setLogger, defaultLogger } from './log'
export {
  connect,
  DaemonClient,
  RemoteContainer,
  type ConnectOptions,
  type DaemonEvent,
  type LogRecord as ContainerLogRecord,
  type LogsOptions,
  type RemoteContainerInfo,
  type RemoteContainerSummary,
  type RemoteCreateOptions,
  type RemoteStatus,
  type RestartPolicyObject,
} from './client/connect'
export type { AttachOptions, AttachSession } from './client/attach'
export type {
  ImageStore,
  ImageInfo,
  AddOptions,
  PullOptions,
  PushOptions,
  PushResult,
  Progress,
  ImageSource,
  HashProgress,
  ListOptions,
} from './images'
export type { AotInfo, CompileOptions } from './aot'
export type {
  Capability,
  ContainerStatus,
  CreateOptions,
  ExitReason,
  ExitResult,
  LogFunction,
  Logger,
  MaxBufferError,
  LoggerObject,
  LogLevel,
  LogRecord,
  Mount,
  OpenOptions,
  RemoveOptions,
  RunOptions,
  RunResult,
  StdioOptions,
  StdioSpec,
  StopOptions,
  Tier,
} from './types'

/** Version of the runtime, e.g. `0.1.0 (WAMR 1.1.2)`. */
export const version: string = binding.version()

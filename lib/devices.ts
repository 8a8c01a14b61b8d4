// ctx.sensors and ctx.gpio: host-provided devices for containers with the
// `ocre:api` capability (the Ocre sensor and GPIO calls). A provider is plain
// JavaScript — bridge it to real hardware with any Node library. The
// container waits for the provider's answer (a value or a promise), and a
// kill ends that wait at once.
import type { NativeContext } from './binding'
import { OcreError } from './errors'
import { checkFunction, checkInteger, checkOptions, checkString, rangeError, typeError } from './validate'

export const DEVICE_NAME_MAX = 63
export const SENSOR_CHANNELS_MAX = 16
export const GPIO_PINS_MAX = 64
const EIO = 5

/** A sensor: `read(channel)` returns (or resolves to) a number. */
export interface SensorProvider {
  /** Unique in the context, 1 to 63 bytes; guests find it by this name. */
  name: string
  /** Number of channels, or the channel type code of each (what guests read with get_channel_type). */
  channels: number | number[]
  read(channel: number): number | Promise<number>
}

/** A GPIO port. Pins are numbered from 0; guests address them by number or by name. */
export interface GpioProvider {
  /** Unique port name, 1 to 63 bytes ("NAME/PIN" addresses a pin by name). */
  name: string
  /** Number of pins, or their names (null: unnamed). */
  pins: number | (string | null)[]
  /** A guest configured a pin (default: accept). */
  configure?(pin: number, direction: 'input' | 'output'): void | Promise<void>
  /** A guest drives an output pin. */
  set(pin: number, value: 0 | 1): void | Promise<void>
  /** A guest reads a pin (truthy: 1). */
  get(pin: number): number | boolean | Promise<number | boolean>
  /** Called once with `notify`, to report input changes to guests that registered a callback. */
  onChange?(notify: (pin: number, value: number | boolean) => void): void
}

/** A registered GPIO port. */
export interface GpioPort {
  readonly name: string
  /** The guests' port number. */
  readonly port: number
  /** Report that input `pin` now reads `value`; returns how many containers were notified. */
  changed(pin: number, value: number | boolean): number
}

function checkName(value: unknown, name: string): string {
  const s = checkString(value, name)
  const n = Buffer.byteLength(s)
  if (n === 0 || n > DEVICE_NAME_MAX || s.includes('\0'))
    throw rangeError(`a name of 1 to ${DEVICE_NAME_MAX} bytes`, name, value)
  return s
}

/** The errno a failed provider call returns to the guest. */
function errnoOf(err: unknown): number {
  const e = (err as { errno?: unknown } | null)?.errno
  return typeof e === 'number' && Number.isInteger(e) && e !== 0 ? -Math.abs(e) : -EIO
}

type Done = (result: number, value: number) => void

/** Call `f` and complete `done` with its (awaited) result. */
function answer(f: () => unknown, done: Done, toValue: (v: unknown) => number | null): void {
  const finish = (v: unknown) => {
    const n = toValue(v)
    if (n === null) done(-EIO, 0)
    else done(0, n)
  }
  try {
    const r = f()
    if (r instanceof Promise) r.then(finish, (e) => done(errnoOf(e), 0))
    else finish(r)
  } catch (e) {
    done(errnoOf(e), 0)
  }
}

const finite = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const bit = (v: unknown) => (v ? 1 : 0)
const none = () => 0

function checkOpen(closed: () => boolean): void {
  if (closed()) throw new OcreError('ERR_OCRE_STATE', 'the context is closed')
}

/** The sensors of one context (`ctx.sensors`). */
export class Sensors {
  #native: NativeContext
  #closed: () => boolean

  /** @internal */
  constructor(native: NativeContext, closed: () => boolean) {
    this.#native = native
    this.#closed = closed
  }

  /** Register a sensor for the context's lifetime; returns its handle (registration order from 0). */
  register(provider: SensorProvider): number {
    const o = checkOptions(provider, 'provider', ['name', 'channels', 'read'])
    const name = checkName(o.name, 'provider.name')
    const read = checkFunction<SensorProvider['read']>(o.read, 'provider.read')
    let types: number[]
    if (typeof o.channels === 'number') {
      types = new Array(checkInteger(o.channels, 'provider.channels', 1, SENSOR_CHANNELS_MAX)).fill(0)
    } else if (Array.isArray(o.channels)) {
      if (o.channels.length < 1 || o.channels.length > SENSOR_CHANNELS_MAX)
        throw rangeError(`1 to ${SENSOR_CHANNELS_MAX} channel types`, 'provider.channels', o.channels)
      types = o.channels.map((t, i) => checkInteger(t, `provider.channels[${i}]`, -(2 ** 31), 2 ** 31 - 1))
    } else {
      throw typeError('a number or an array of channel types', 'provider.channels', o.channels)
    }
    checkOpen(this.#closed)
    return this.#native.registerSensor(name, types, (_op: number, channel: number, _arg: number, done: Done) =>
      answer(() => read.call(provider, channel), done, finite),
    )
  }

  /**
   * Register the built-in test sensor "ocre-random": 4 channels (types 0-3)
   * of pseudo-random values in [0, 100), to try apps without hardware.
   */
  registerRandom(): number {
    checkOpen(this.#closed)
    return this.#native.registerRandomSensor()
  }
}

const OP_CONFIGURE = 1
const OP_SET = 2

/** The GPIO ports of one context (`ctx.gpio`). */
export class Gpio {
  #native: NativeContext
  #closed: () => boolean

  /** @internal */
  constructor(native: NativeContext, closed: () => boolean) {
    this.#native = native
    this.#closed = closed
  }

  /** Register a GPIO port for the context's lifetime; its port number is the registration order from 0. */
  register(provider: GpioProvider): GpioPort {
    const o = checkOptions(provider, 'provider', ['name', 'pins', 'configure', 'set', 'get', 'onChange'])
    const name = checkName(o.name, 'provider.name')
    const set = checkFunction<GpioProvider['set']>(o.set, 'provider.set')
    const get = checkFunction<GpioProvider['get']>(o.get, 'provider.get')
    const configure =
      o.configure === undefined ? null : checkFunction<NonNullable<GpioProvider['configure']>>(o.configure, 'provider.configure')
    const onChange =
      o.onChange === undefined ? null : checkFunction<NonNullable<GpioProvider['onChange']>>(o.onChange, 'provider.onChange')
    let pins: (string | null)[]
    if (typeof o.pins === 'number') {
      pins = new Array(checkInteger(o.pins, 'provider.pins', 1, GPIO_PINS_MAX)).fill(null)
    } else if (Array.isArray(o.pins)) {
      if (o.pins.length < 1 || o.pins.length > GPIO_PINS_MAX)
        throw rangeError(`1 to ${GPIO_PINS_MAX} pins`, 'provider.pins', o.pins)
      pins = o.pins.map((p, i) => (p === null ? null : checkName(p, `provider.pins[${i}]`)))
    } else {
      throw typeError('a number or an array of pin names', 'provider.pins', o.pins)
    }
    checkOpen(this.#closed)
    const native = this.#native
    const port = native.registerGpio(name, pins, (op: number, pin: number, arg: number, done: Done) => {
      if (op === OP_CONFIGURE)
        answer(() => configure?.call(provider, pin, arg === 1 ? 'output' : 'input'), done, none)
      else if (op === OP_SET) answer(() => set.call(provider, pin, arg ? 1 : 0), done, none)
      else answer(() => get.call(provider, pin), done, bit)
    })
    const count = pins.length
    const handle: GpioPort = {
      name,
      port,
      changed: (pin: number, value: number | boolean): number => {
        checkInteger(pin, 'pin', 0, count - 1)
        if (typeof value !== 'number' && typeof value !== 'boolean') throw typeError('a number or boolean', 'value', value)
        return this.#closed() ? 0 : native.gpioChanged(port, pin, value ? 1 : 0)
      },
    }
    onChange?.call(provider, (pin, value) => void handle.changed(pin, value))
    return handle
  }
}

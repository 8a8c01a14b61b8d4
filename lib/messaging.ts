// ctx.messaging: the context's message bus, shared with the containers that
// have the `ocre:api` capability (Ocre's publish/subscribe, topic prefixes).
// Deliveries to JavaScript are batched and bounded: a subscriber that falls
// behind drops messages and counts them; a container is never blocked.
import type { NativeContext } from './binding'
import { OcreError } from './errors'
import { checkFunction, checkInteger, checkOptions, checkString, rangeError, typeError } from './validate'

/** A message received by a JavaScript subscriber. */
export interface Message {
  topic: string
  contentType: string
  payload: Buffer
  /** The publishing container's id, or null when the host published it. */
  from: string | null
}

export interface SubscribeOptions {
  /** Messages waiting for JavaScript before new ones are dropped (default 1024). */
  queueSize?: number
}

/** Limits (bytes), the same as the C library's. */
export const TOPIC_MAX = 128
export const CONTENT_TYPE_MAX = 128
export const PAYLOAD_MAX = 65536
const DEFAULT_QUEUE = 1024

function checkTopic(value: unknown, name: string, max: number, allowEmpty = false): string {
  const s = checkString(value, name)
  const n = Buffer.byteLength(s)
  if ((!allowEmpty && n === 0) || n > max || s.includes('\0'))
    throw rangeError(`a string of ${allowEmpty ? 0 : 1} to ${max} bytes without NUL`, name, value)
  return s
}

/**
 * One subscription: messages go to its handler, or, without one, are read
 * with `for await (const m of sub)`. close() ends it (and the iteration).
 */
export class Subscription implements AsyncIterable<Message> {
  readonly prefix: string
  #native: NativeContext | null
  #id: number
  #handler: ((m: Message) => void) | null
  #queueSize: number
  #buffer: Message[] = []
  #waiters: ((r: IteratorResult<Message>) => void)[] = []
  #jsDropped = 0
  #finalDropped = 0

  /** @internal */
  constructor(native: NativeContext, prefix: string, handler: ((m: Message) => void) | null, queueSize: number) {
    this.prefix = prefix
    this.#native = native
    this.#handler = handler
    this.#queueSize = queueSize
    this.#id = native.subscribe(prefix, queueSize, (batch: unknown[]) => this.#deliver(batch))
  }

  #deliver(batch: unknown[]): void {
    for (let i = 0; i + 3 < batch.length && this.#native; i += 4) {
      const m: Message = {
        topic: batch[i] as string,
        contentType: batch[i + 1] as string,
        payload: batch[i + 2] as Buffer,
        from: batch[i + 3] as string | null,
      }
      if (this.#handler) {
        this.#handler(m)
      } else if (this.#waiters.length) {
        this.#waiters.shift()!({ value: m, done: false })
      } else if (this.#buffer.length < this.#queueSize) {
        this.#buffer.push(m)
      } else {
        this.#jsDropped++
      }
    }
  }

  /** Messages dropped because this subscriber fell behind. */
  get dropped(): number {
    if (!this.#native) return this.#finalDropped
    return this.#native.subscriptionDropped(this.#id) + this.#jsDropped
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#native === null
  }

  /** End the subscription (idempotent); a pending iteration ends. */
  close(): void {
    if (!this.#native) return
    this.#finalDropped = this.dropped
    this.#native.unsubscribe(this.#id)
    this.#native = null
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true })
  }

  /** @internal the context is closing */
  _detach(): void {
    if (!this.#native) return
    this.#finalDropped = this.dropped
    this.#native = null
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#handler) throw new TypeError('this subscription delivers to its handler; subscribe without one to iterate')
    return {
      next: () => {
        const m = this.#buffer.shift()
        if (m) return Promise.resolve({ value: m, done: false })
        if (!this.#native) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => this.#waiters.push(resolve))
      },
      return: () => {
        this.close()
        return Promise.resolve({ value: undefined, done: true })
      },
    }
  }
}

/** The messaging of one context (`ctx.messaging`). */
export class Messaging {
  #native: NativeContext
  #subs = new Set<Subscription>()
  #closed: () => boolean

  /** @internal */
  constructor(native: NativeContext, closed: () => boolean) {
    this.#native = native
    this.#closed = closed
  }

  /**
   * Publish to every subscription whose prefix starts the topic: containers
   * (as their own publish would) and JavaScript subscribers. Returns how
   * many took it (0: nobody; a full queue does not take it).
   */
  publish(topic: string, contentType: string, payload: string | Uint8Array): number {
    checkTopic(topic, 'topic', TOPIC_MAX)
    checkTopic(contentType, 'contentType', CONTENT_TYPE_MAX)
    if (typeof payload !== 'string' && !(payload instanceof Uint8Array))
      throw typeError('a string, Buffer or Uint8Array', 'payload', payload)
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload
    if (bytes.length === 0 || bytes.length > PAYLOAD_MAX)
      throw rangeError(`a payload of 1 to ${PAYLOAD_MAX} bytes`, 'payload', payload)
    return this.#native.publish(topic, contentType, bytes)
  }

  /**
   * Receive what is published to topics starting with `prefix` ('' for all),
   * by containers and by the host. With a handler, each message is passed to
   * it; without, iterate the subscription with `for await`.
   */
  subscribe(prefix: string, handler: (message: Message) => void, options?: SubscribeOptions): Subscription
  subscribe(prefix: string, options?: SubscribeOptions): Subscription
  subscribe(prefix: string, a?: unknown, b?: unknown): Subscription {
    checkTopic(prefix, 'prefix', TOPIC_MAX, true)
    const handler = typeof a === 'function' ? checkFunction<(m: Message) => void>(a, 'handler') : null
    const o = checkOptions(handler ? b ?? {} : a ?? {}, 'options', ['queueSize'])
    const queueSize = o.queueSize === undefined ? DEFAULT_QUEUE : checkInteger(o.queueSize, 'options.queueSize', 1, 1 << 20)
    if (this.#closed()) throw new OcreError('ERR_OCRE_STATE', 'the context is closed')
    const s = new Subscription(this.#native, prefix, handler, queueSize)
    this.#subs.add(s)
    return s
  }

  /** @internal the context is closing: every subscription ends. */
  _closeAll(): void {
    for (const s of this.#subs) s._detach()
    this.#subs.clear()
  }
}

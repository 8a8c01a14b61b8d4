// A container's stdio, per run, like child_process.spawn's `stdio` option.
//
// 'pipe' makes a pipe with the addon's pipe() (pipe2, O_CLOEXEC) and wraps
// our end in a net.Socket: a libuv pipe handle, driven by the event loop, so
// no thread-pool thread is ever parked on a container's output. The C core
// duplicates the container's ends for the run when it starts and closes its
// duplicates when the run ends; we close ours as soon as start() has
// returned, so stdout and stderr end ('end' event) exactly when the
// container exits. 'ignore' costs no fd: the engine discards the stream.
// run() captures piped output in the engine instead ('capture'): no pipe or
// stream on this side, the bytes come with the end of the run.
import net from 'node:net'
import type { Readable, Writable } from 'node:stream'
import { binding } from './binding'
import type { StdioSpec } from './types'
import { typeError } from './validate'

export type StdioSlot =
  | { kind: 'pipe' }
  | { kind: 'inherit' }
  | { kind: 'ignore' }
  | { kind: 'fd'; fd: number }
  /** run()'s piped stdout/stderr: kept by the engine, read once the run has ended (no stream). */
  | { kind: 'capture' }

/** OCRE_STDIO_IGNORE (native/include/ocre/context.h): a discarded stream, no host fd. */
const STDIO_IGNORE = -2
/** OCRE_STDIO_CAPTURE: an output stream the engine keeps in memory (run()'s result). */
const STDIO_CAPTURE = -3

// Slots are never modified: one object per kind without an fd.
const PIPE: StdioSlot = Object.freeze({ kind: 'pipe' })
const INHERIT: StdioSlot = Object.freeze({ kind: 'inherit' })
const IGNORE: StdioSlot = Object.freeze({ kind: 'ignore' })

function normalizeSlot(spec: StdioSpec, name: string): StdioSlot {
  if (spec === null || spec === undefined || spec === 'pipe') return PIPE
  if (spec === 'inherit') return INHERIT
  if (spec === 'ignore') return IGNORE
  let fd: unknown = spec
  if (typeof spec === 'object' && spec !== null && 'fd' in spec) fd = (spec as { fd: unknown }).fd
  if (typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff) return { kind: 'fd', fd }
  throw typeError("'pipe', 'inherit', 'ignore', a file descriptor or a stream with an fd", name, spec)
}

/** Validate and normalise the `stdio` option (default `'pipe'`, like child_process.spawn). */
export function normalizeStdio(value: unknown, name = 'options.stdio'): StdioSlot[] {
  if (value === undefined || value === null) value = 'pipe'
  if (typeof value === 'string') {
    if (value !== 'pipe' && value !== 'inherit' && value !== 'ignore')
      throw typeError("'pipe', 'inherit', 'ignore' or an array", name, value)
    const slot = normalizeSlot(value, name)
    return [slot, slot, slot]
  }
  if (!Array.isArray(value)) throw typeError("'pipe', 'inherit', 'ignore' or an array", name, value)
  if (value.length > 3) throw typeError('at most 3 entries (stdin, stdout, stderr)', name, value)
  return [0, 1, 2].map((i) => normalizeSlot(value[i] as StdioSpec, `${name}[${i}]`))
}

/** The stdio of one run: fds for the container, streams for us. */
export class RunStdio {
  /** What the container gets (-1: the process's own). */
  readonly childFds: [number, number, number] = [-1, -1, -1]
  stdin: Writable | null = null
  stdout: Readable | null = null
  stderr: Readable | null = null
  /** Whether a slot is a pipe (streams and fds per run); without, one RunStdio can serve every run. */
  readonly hasPipes: boolean
  /** fds we opened for the container: closed once start() has returned. */
  #owned: number[] = [] // pipe ends, from the addon

  constructor(slots: readonly StdioSlot[]) {
    this.hasPipes = slots.some((slot) => slot.kind === 'pipe')
    try {
      for (let i = 0; i < slots.length; i++) this.#open(slots[i], i as 0 | 1 | 2)
    } catch (err) {
      this.abort()
      throw err
    }
  }

  #open(slot: StdioSlot, i: 0 | 1 | 2): void {
    switch (slot.kind) {
      case 'inherit':
        this.childFds[i] = -1
        return
      case 'fd':
        this.childFds[i] = slot.fd
        return
      case 'ignore':
        // OCRE_STDIO_IGNORE: the engine discards the stream itself (reads
        // end-of-file, writes succeed); no host fd at all.
        this.childFds[i] = STDIO_IGNORE
        return
      case 'capture':
        // OCRE_STDIO_CAPTURE: a pipe to the guest that the engine writes to
        // memory; nothing here until the run has ended.
        this.childFds[i] = STDIO_CAPTURE
        return
      case 'pipe': {
        const [r, w] = binding.pipe(i === 0 ? 0 : 1)
        const [child, ours] = i === 0 ? [r, w] : [w, r]
        this.#owned.push(child)
        this.childFds[i] = child
        let socket: net.Socket
        try {
          socket = new net.Socket({ fd: ours, readable: i !== 0, writable: i === 0 })
        } catch (err) {
          binding.closeFd(ours)
          throw err
        }
        if (i === 0) {
          // Writes after the container has gone fail with EPIPE: never let
          // that (or any error on our end of its stdin) crash the process.
          // Listeners the user adds still see the errors.
          socket.on('error', () => {})
          this.stdin = socket
        } else if (i === 1) {
          this.stdout = socket
        } else {
          this.stderr = socket
        }
        return
      }
    }
  }

  /** After start() returned (either way): the run has its own duplicates. */
  closeChildEnds(): void {
    if (this.#owned.length === 0) return
    for (const fd of this.#owned.splice(0)) {
      try {
        binding.closeFd(fd)
      } catch {
        // already closed: nothing to do
      }
    }
  }

  /** The run did not start: close everything. */
  abort(): void {
    this.closeChildEnds()
    for (const s of [this.stdin, this.stdout, this.stderr]) s?.destroy()
  }
}

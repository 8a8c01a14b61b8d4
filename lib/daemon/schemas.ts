// JSON Schemas of the daemon's API: request bodies and query strings are
// validated with them (ajv), and the OpenAPI description is built from them.
// Unknown fields are rejected everywhere (additionalProperties: false).

const NAME = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-z0-9_-][a-z0-9._-]*$' } as const
const ABS_PATH = { type: 'string', minLength: 1, maxLength: 4096, pattern: '^/' } as const
/** A mount's guest path: absolute (`/` too) or relative (`.`), without ':'. */
const GUEST_PATH = { type: 'string', minLength: 1, maxLength: 4096, pattern: '^[^:]+$' } as const
const MS = { type: 'integer', minimum: 0, maximum: 0xffffffff } as const

export const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['image'],
  properties: {
    image: { ...NAME, description: 'image file name in the store, e.g. hello.wasm' },
    id: { ...NAME, description: 'container id (default: 8 random hex digits)' },
    runtime: { type: 'string', minLength: 1, maxLength: 64 },
    args: { type: 'array', maxItems: 4096, items: { type: 'string', maxLength: 65536 } },
    env: {
      type: 'object',
      maxProperties: 4096,
      propertyNames: { pattern: '^[^=\\u0000]+$' },
      additionalProperties: { type: 'string', maxLength: 65536 },
    },
    capabilities: {
      type: 'array',
      uniqueItems: true,
      items: { enum: ['filesystem', 'networking', 'ocre:api'] },
    },
    mounts: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['source', 'target'],
        properties: { source: ABS_PATH, target: GUEST_PATH, readonly: { type: 'boolean' } },
      },
    },
    memoryLimit: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    maxOpenFiles: { type: 'integer', minimum: 0, maximum: 1 << 20 },
    stackSize: { type: 'integer', minimum: 0, maximum: 256 * 1024 * 1024 },
    tier: { enum: ['auto', 'aot', 'interpreter'] },
    restart: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { enum: ['no', 'on-failure', 'always', 'unless-stopped'] },
        maxRetries: { type: 'integer', minimum: 0, maximum: 999_999_999 },
      },
    },
    stopTimeout: { ...MS, description: 'grace period of stop in ms (default 10000)' },
    liveness: {
      type: 'integer',
      minimum: 0,
      maximum: 0xffffffff,
      description: 'ms: a running container that writes no output line for this long is killed as failed (0: off)',
    },
    interactive: {
      type: 'boolean',
      description: 'its stdin is a pipe the daemon keeps open, fed through attach (default false: /dev/null)',
    },
    start: { type: 'boolean', description: 'start it once created (run -d)' },
  },
} as const

export const stopBody = {
  type: 'object',
  additionalProperties: false,
  properties: { timeout: { ...MS, description: 'grace period in ms (default: the container\'s stopTimeout)' } },
} as const

export const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const

export const pullBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', minLength: 1, maxLength: 8192 },
    name: NAME,
    force: { type: 'boolean' },
    sha256: { type: 'string', pattern: '^(sha256:)?[0-9a-fA-F]{64}$' },
    maxBytes: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
  },
} as const

/** Query strings arrive as strings: booleans are `true`/`false`/`1`/`0`. */
const BOOL_Q = { type: 'string', enum: ['true', 'false', '1', '0'] } as const

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { all: BOOL_Q },
} as const

export const removeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { force: BOOL_Q },
} as const

export const logsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    follow: BOOL_Q,
    tail: { type: 'string', pattern: '^(all|\\d{1,9})$' },
    since: { type: 'string', minLength: 1, maxLength: 64, description: 'ISO time or Unix seconds' },
  },
} as const

export const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { since: logsQuery.properties.since },
} as const

export const attachQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { stdin: { ...BOOL_Q, description: "feed the request body to the container's stdin (interactive containers)" } },
} as const

export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const

export const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string', pattern: '^ERR_OCRE_' }, message: { type: 'string' } },
} as const

const EXIT = {
  type: 'object',
  properties: {
    exitCode: { type: 'integer' },
    reason: { enum: ['exit', 'killed', 'trap'] },
    message: { type: 'string' },
    time: { type: 'string' },
  },
} as const

export const exitSchema = EXIT

/** One line of an attach stream: output, or the end of the run. */
export const attachFrameSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['stream', 'data'],
      properties: { stream: { enum: ['stdout', 'stderr'] }, data: { type: 'string', description: 'UTF-8 text' } },
    },
    { type: 'object', required: ['exit'], properties: { exit: EXIT } },
  ],
} as const

export const containerSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    image: { type: 'string' },
    status: { enum: ['created', 'running', 'paused', 'restarting', 'stopped', 'error'] },
    args: { type: 'array', items: { type: 'string' } },
    env: { type: 'object', additionalProperties: { type: 'string' } },
    capabilities: { type: 'array', items: { type: 'string' } },
    mounts: createBody.properties.mounts,
    memoryLimit: { type: 'integer' },
    maxOpenFiles: { type: 'integer' },
    stackSize: { type: 'integer' },
    tier: { type: 'string' },
    restart: createBody.properties.restart,
    restartPolicy: { type: 'string', example: 'on-failure:3' },
    restartCount: { type: 'integer' },
    stopTimeout: { type: 'integer' },
    liveness: { type: 'integer' },
    interactive: { type: 'boolean' },
    created: { type: 'string' },
    startedAt: { type: ['string', 'null'] },
    lastExit: { oneOf: [EXIT, { type: 'null' }] },
    desiredRunning: { type: 'boolean' },
    runtimeName: { type: ['string', 'null'] },
    tierUsed: { type: ['string', 'null'] },
    error: { type: ['string', 'null'] },
    logPath: { type: 'string' },
  },
} as const

export const summarySchema = {
  type: 'object',
  properties: Object.fromEntries(
    ['id', 'image', 'args', 'status', 'created', 'startedAt', 'lastExit', 'restartPolicy', 'restartCount', 'error'].map(
      (k) => [k, containerSchema.properties[k as keyof typeof containerSchema.properties]],
    ),
  ),
} as const

export const logRecordSchema = {
  type: 'object',
  properties: { time: { type: 'string' }, stream: { enum: ['stdout', 'stderr'] }, line: { type: 'string' } },
} as const

export const eventSchema = {
  type: 'object',
  properties: {
    time: { type: 'string' },
    id: { type: 'string' },
    image: { type: 'string' },
    action: { enum: ['create', 'start', 'restart', 'die', 'stop', 'kill', 'pause', 'unpause', 'destroy', 'unhealthy'] },
    exitCode: { type: 'integer' },
    reason: { type: 'string' },
  },
} as const

export const imageSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    size: { type: 'integer' },
    sha256: { type: 'string' },
    modified: { type: 'string' },
    aot: { type: ['object', 'null'] },
  },
} as const

// The OpenAPI 3.1 description of the daemon's API, built from the route
// table and its JSON Schemas (served at GET /v1/openapi.json; a copy is
// committed as docs/openapi.json and checked by the tests).
import { routes } from './routes'
import { errorSchema } from './schemas'

export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routes) {
    const p = r.path.replace(/:([a-z]+)/g, '{$1}')
    const parameters: unknown[] = []
    for (const m of r.path.matchAll(/:([a-z]+)/g))
      parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })
    const q = r.query as { properties?: Record<string, unknown> }
    for (const [name, schema] of Object.entries(q.properties ?? {}))
      parameters.push({ name, in: 'query', required: false, schema })
    const ok: Record<string, unknown> = { description: r.summary }
    if (r.response.schema)
      ok.content = { [r.response.stream ? 'application/x-ndjson' : 'application/json']: { schema: r.response.schema } }
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      parameters,
      responses: {
        [String(r.response.status)]: ok,
        '4XX': { $ref: '#/components/responses/Error' },
        '5XX': { $ref: '#/components/responses/Error' },
      },
    }
    if (r.body) op.requestBody = { required: false, content: { 'application/json': { schema: r.body } } }
    if (r.rawBody) op.requestBody = { required: false, content: { [r.rawBody]: { schema: { type: 'string', format: 'binary' } } } }
    ;(paths[p] ??= {})[r.method.toLowerCase()] = op
  }
  paths['/v1/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This description',
      responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } },
    },
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ocre daemon API',
      version: '1',
      description:
        'JSON over HTTP/1.1 on a Unix socket (default <workdir>/ocre.sock), or TCP with a bearer token. ' +
        'Errors are JSON { code: ERR_OCRE_*, message } with a 4xx status for bad requests.',
    },
    paths,
    components: {
      responses: {
        Error: { description: 'An error', content: { 'application/json': { schema: errorSchema } } },
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'TCP listeners only' } },
    },
  }
}

#!/usr/bin/env node
// Writes docs/openapi.json, the daemon API's OpenAPI description, from the
// route table (lib/daemon/routes.ts, built to dist/). Run after `npm run build:ts`.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { buildOpenApi } = createRequire(import.meta.url)(path.join(root, 'dist', 'daemon', 'openapi.js'))
fs.writeFileSync(path.join(root, 'docs', 'openapi.json'), JSON.stringify(buildOpenApi(), null, 2) + '\n')

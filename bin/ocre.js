#!/usr/bin/env node
// The `ocre` command: runs the compiled command line (lib/cli/main.ts -> dist/cli/main.js).
'use strict'
let cli
try {
  cli = require('../dist/cli/main.js')
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('ocre: dist/ is missing: run `npm run build:ts` (or `npx tsc -p tsconfig.json`) first\n')
    process.exit(125)
  }
  throw err
}
cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`ocre: ${err && err.message ? err.message : err}\n`)
    process.exit(125)
  },
)

#!/usr/bin/env node
// The `ocre` command: runs the compiled command line (lib/cli/main.ts -> dist/cli/main.js),
// or for `ocre ps` its fast path (lib/cli/fast.ts), which does not load commander.
'use strict'
let fast, exit
try {
  fast = require('../dist/cli/fast.js')
  exit = require('../dist/cli/exit.js')
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && /dist\/cli\/(fast|exit)\.js/.test(String(err.message))) {
    process.stderr.write('ocre: dist/ is missing: run `npm run build:ts` (or `npx tsc -p tsconfig.json`) first\n')
    process.exit(125)
  }
  throw err
}
const argv = process.argv.slice(2)
const running = fast.fastCommand(argv) ?? require('../dist/cli/main.js').main(argv)
running.then(
  (code) => exit.exitAfterOutput(code),
  (err) => {
    process.stderr.write(`ocre: ${err && err.message ? err.message : err}\n`)
    exit.exitAfterOutput(125)
  },
)

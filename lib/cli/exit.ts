// How the `ocre` process ends (bin/ocre.js, and dist/cli/main.js run directly).

/**
 * Exit with `code` once stdout and stderr have taken what was written:
 * process.exit() alone drops what a pipe has not yet accepted (`ocre ps -a |
 * wc -l` lost the lines past the pipe's 64 KB). A reader that went away
 * (EPIPE: `ocre ps | head -1`) ends the command quietly.
 */
export function exitAfterOutput(code: number): void {
  let pending = 2
  const done = () => {
    if (--pending === 0) process.exit(code)
  }
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', () => process.exit(code))
    s.write('', done)
  }
}

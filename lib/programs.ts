// The native programs the build puts next to the addon (ocre-aotc, ocre-oci).
import fs from 'node:fs'
import path from 'node:path'

/** The package root (lib/ and dist/ both sit one level below it). */
const root = path.resolve(__dirname, '..')

/** Absolute path of build/Release/NAME (else build/Debug/NAME) if executable, else null. */
export function builtProgram(name: string): string | null {
  for (const type of ['Release', 'Debug']) {
    const file = path.join(root, 'build', type, name)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      return file
    } catch {
      // not built
    }
  }
  return null
}

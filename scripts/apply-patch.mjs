// Apply a unified diff (`diff -u` / `git diff` output, paths a/... b/...) to a
// source tree, strictly: every hunk's context and removed lines must match
// the file exactly (at the stated line, or shifted by a constant offset as
// earlier hunks moved it); otherwise nothing of that file is written and an
// Error names the patch, the file and the hunk. Text before the first `--- `
// line is the patch's description and is ignored. Used by fetch-wamr.mjs for
// the WAMR patch series (native/runtime/wamr/patches/); no `patch` or `git`
// needed on the machine.
import fs from 'node:fs'
import path from 'node:path'

function parse(text, name) {
  const lines = text.split('\n')
  const files = []
  let file = null
  let hunk = null
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const strip = (s) => s.slice(4).split('\t')[0].trim()
      const from = strip(line)
      const to = strip(lines[i + 1])
      const rel = (to === '/dev/null' ? from : to).replace(/^[ab]\//, '')
      file = { path: rel, create: from === '/dev/null', remove: to === '/dev/null', hunks: [] }
      files.push(file)
      hunk = null
      i++
      continue
    }
    const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line)
    if (m) {
      if (!file) throw new Error(`${name}: hunk before any file header (line ${i + 1})`)
      hunk = { at: Number(m[1]), oldCount: m[2] === undefined ? 1 : Number(m[2]), old: [], new: [], line: i + 1 }
      file.hunks.push(hunk)
      continue
    }
    if (!hunk) continue
    if (line.startsWith('\\')) continue // "\ No newline at end of file"
    const body = line.slice(1)
    if (line.startsWith(' ')) {
      hunk.old.push(body)
      hunk.new.push(body)
    } else if (line.startsWith('-')) hunk.old.push(body)
    else if (line.startsWith('+')) hunk.new.push(body)
    else if (line === '' && hunk.old.length < hunk.oldCount) {
      hunk.old.push('') // an empty context line whose leading space was lost
      hunk.new.push('')
    } else hunk = null
  }
  if (!files.length) throw new Error(`${name}: no file in the patch`)
  for (const f of files) {
    if (path.isAbsolute(f.path) || f.path.split('/').includes('..')) throw new Error(`${name}: bad path ${f.path}`)
    for (const h of f.hunks)
      if (h.old.length !== h.oldCount)
        throw new Error(`${name}: hunk at line ${h.line} of ${f.path} is malformed (${h.old.length} old lines, header says ${h.oldCount})`)
  }
  return files
}

function matches(lines, at, want) {
  if (at < 0 || at + want.length > lines.length) return false
  for (let k = 0; k < want.length; k++) if (lines[at + k] !== want[k]) return false
  return true
}

/** Apply patch `text` (called `name` in errors) to the tree at `dir`. */
export function applyPatch(dir, text, name) {
  const files = parse(text, name)
  const results = []
  for (const f of files) {
    const target = path.join(dir, f.path)
    if (f.create) {
      if (fs.existsSync(target)) throw new Error(`${name}: ${f.path} already exists`)
      results.push([target, f.hunks.flatMap((h) => h.new).join('\n') + '\n'])
      continue
    }
    if (!fs.existsSync(target)) throw new Error(`${name}: ${f.path} does not exist in the tree`)
    const lines = fs.readFileSync(target, 'utf8').split('\n')
    let shift = 0
    f.hunks.forEach((h, n) => {
      const at = (h.oldCount === 0 ? h.at : h.at - 1) + shift
      let found = -1
      for (let d = 0; d <= lines.length && found < 0; d++) {
        if (matches(lines, at + d, h.old)) found = at + d
        else if (d && matches(lines, at - d, h.old)) found = at - d
      }
      if (found < 0) throw new Error(`${name}: hunk ${n + 1} (line ${h.line} of the patch) does not apply to ${f.path}`)
      lines.splice(found, h.old.length, ...h.new)
      shift = found - (h.at - 1) + h.new.length - h.old.length
    })
    results.push([target, f.remove ? null : lines.join('\n')])
  }
  for (const [target, content] of results) {
    if (content === null) fs.rmSync(target)
    else {
      fs.mkdirSync(path.dirname(target), { recursive: true })
      fs.writeFileSync(target, content)
    }
  }
  return files.map((f) => f.path)
}

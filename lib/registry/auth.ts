// Registry credentials and authentication challenges: the docker
// `config.json` credentials file (`auths.<host>.auth` = base64 "user:pass",
// or `username`/`password`), and the `WWW-Authenticate` header of a 401
// (Basic, or Bearer with realm/service/scope for a token server).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { OcreError } from '../errors'

export interface Credentials {
  username: string
  password: string
}

export interface Challenge {
  scheme: 'basic' | 'bearer'
  params: Record<string, string>
}

/**
 * The credentials file to read: `file` if given, else `$REGISTRY_AUTH_FILE`,
 * `$DOCKER_CONFIG/config.json`, `~/.docker/config.json` (the first that is set).
 */
export function authFilePath(file?: string): string {
  if (file) return file
  if (process.env.REGISTRY_AUTH_FILE) return process.env.REGISTRY_AUTH_FILE
  if (process.env.DOCKER_CONFIG) return path.join(process.env.DOCKER_CONFIG, 'config.json')
  return path.join(os.homedir(), '.docker', 'config.json')
}

/**
 * Credentials for `registry` (host[:port]) from a docker config.json, or null
 * if it has none. A file given explicitly must exist and parse; the default
 * one may be absent.
 */
export function readCredentials(registry: string, file: string, explicit: boolean): Credentials | null {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new OcreError('ERR_OCRE_AUTH', `cannot read the credentials file ${file}: ${(err as Error).message}`)
  }
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> }
  try {
    config = JSON.parse(text)
  } catch (err) {
    throw new OcreError('ERR_OCRE_AUTH', `the credentials file ${file} is not JSON: ${(err as Error).message}`)
  }
  const auths = config && typeof config === 'object' ? config.auths : undefined
  if (!auths || typeof auths !== 'object') return null
  const entry =
    auths[registry] ??
    auths[`https://${registry}`] ??
    auths[`http://${registry}`] ??
    (registry === 'docker.io' ? auths['https://index.docker.io/v1/'] : undefined)
  if (!entry || typeof entry !== 'object') return null
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw new OcreError('ERR_OCRE_AUTH', `auths["${registry}"].auth in ${file} is not base64 of "user:password"`)
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string')
    return { username: entry.username, password: entry.password }
  return null
}

export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
}

/** The first Basic or Bearer challenge of a `WWW-Authenticate` header, or null. */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null
  const m = /^\s*(basic|bearer)\b\s*(.*)$/i.exec(header)
  if (!m) return null
  const params: Record<string, string> = {}
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g
  let p: RegExpExecArray | null
  while ((p = re.exec(m[2])) !== null && p[0] !== '')
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]
  return { scheme: m[1].toLowerCase() as 'basic' | 'bearer', params }
}

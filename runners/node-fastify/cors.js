// CORS (the Fetch standard) as an onRequest hook. @fastify/cors is not used: it answers a
// preflight from an origin it refuses with 204 (and Access-Control-Allow-Methods and -Headers),
// never checks the requested method and headers, and sends `*` with credentials; the
// vocabulary wants such preflights refused with 403 and no Access-Control-* header at all.

import { addVary } from './vary.js'

/** The onRequest hook of a route whose handler has `cors`: preflights, then actual requests. */
export function corsHook (cors) {
  const anyOrigin = cors.allow_origins.includes('*')
  const origins = new Set(cors.allow_origins)
  const methods = new Set(cors.allow_methods ?? [])
  const headers = new Set(cors.allow_headers ?? []) // lower-case, as the schema has them
  const credentials = cors.allow_credentials === true

  const allows = (origin) => origin !== undefined && (anyOrigin || origins.has(origin))
  const allowOrigin = (origin) => (anyOrigin && !credentials ? '*' : origin)

  const shared = credentials ? { 'access-control-allow-credentials': 'true' } : {}
  const actual = { ...shared }
  if (cors.expose_headers?.length) actual['access-control-expose-headers'] = cors.expose_headers.join(', ')
  const preflight = { ...shared, 'access-control-allow-methods': [...methods].join(', ') }
  if (headers.size) preflight['access-control-allow-headers'] = [...headers].join(', ')
  if (cors.max_age !== undefined) preflight['access-control-max-age'] = String(cors.max_age)

  /** Whether a preflight asks only for what the route allows. */
  function grants (request) {
    if (!methods.has(request.headers['access-control-request-method'])) return false
    const asked = (request.headers['access-control-request-headers'] ?? '').split(',')
      .map((name) => name.trim().toLowerCase()).filter(Boolean)
    return asked.every((name) => headers.has(name))
  }

  return async function onRequest (request, reply) {
    const { origin } = request.headers
    if (request.method === 'OPTIONS' && origin !== undefined && request.headers['access-control-request-method'] !== undefined) {
      if (!allows(origin) || !grants(request)) return reply.code(403).send()
      addVary(reply, 'origin')
      return reply.code(204).headers({ 'access-control-allow-origin': allowOrigin(origin), ...preflight }).send()
    }
    if (allows(origin)) {
      addVary(reply, 'origin')
      reply.headers({ 'access-control-allow-origin': allowOrigin(origin), ...actual })
    }
  }
}

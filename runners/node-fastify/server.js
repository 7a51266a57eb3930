// node-fastify runner: serves the handler of every fixture in FIXTURES_DIR on 127.0.0.1:$PORT.

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify from 'fastify'
import websocket from '@fastify/websocket'
import { errorHandler, validationProblem } from './validation.js'
import { parseBody } from './body.js'
import { corsHook } from './cors.js'
import { parseRoute, restPlugin, restRoute } from './rest.js'
import { handleProtocols, wsRoute } from './ws.js'
import { sseHandler } from './sse.js'

const PROTOCOLS = new Set(['rest', 'websocket', 'sse'])
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

const started = performance.now()
const { PORT, FIXTURES_DIR, TLS_CERT_FILE, TLS_KEY_FILE } = process.env
if (!PORT || !FIXTURES_DIR) {
  console.error('node-fastify: PORT and FIXTURES_DIR are required')
  process.exit(2)
}

/**
 * Fastify's server options for TLS when TLS_CERT_FILE and TLS_KEY_FILE name PEM files: HTTP/2
 * (ALPN h2) beside HTTP/1.1 (`allowHTTP1`, which WebSocket upgrades and HTTP/1.1 clients use).
 */
function tlsOptions () {
  if (!TLS_CERT_FILE || !TLS_KEY_FILE) return {}
  try {
    const https = { allowHTTP1: true, cert: readFileSync(TLS_CERT_FILE), key: readFileSync(TLS_KEY_FILE) }
    return { http2: true, https }
  } catch (error) {
    console.error(`node-fastify: TLS: ${error.message}`)
    process.exit(2)
  }
}

/** Every handler to serve (scenario steps' too), once per (protocol, method, route), in file order. */
function loadHandlers (dir) {
  const handlers = new Map()
  const files = readdirSync(dir, { recursive: true })
    .filter((file) => file.endsWith('.json') && !file.endsWith('.schema.json'))
    .sort()
  for (const file of files) {
    let fixture
    try {
      fixture = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    } catch (error) {
      console.error(`node-fastify: ${file}: ${error.message}`)
      process.exit(2)
    }
    const { protocol } = fixture
    if (!PROTOCOLS.has(protocol)) continue
    for (const handler of fixtureHandlers(fixture)) {
      const method = protocol === 'rest' ? handler.method.toUpperCase() : 'GET'
      const key = `${protocol} ${method} ${handler.route}`
      if (!handlers.has(key)) handlers.set(key, { protocol, handler })
    }
  }
  return [...handlers.values()]
}

/** A fixture's handlers: its own `handler`, and for a REST scenario each step's `handler`. */
function fixtureHandlers (fixture) {
  const steps = fixture.protocol === 'rest' && Array.isArray(fixture.steps) ? fixture.steps : []
  return [fixture.handler, ...steps.map((step) => step.handler)].filter(Boolean)
}

const app = Fastify({
  logger: { level: 'warn', stream: process.stderr },
  bodyLimit: 16 * 1024 * 1024, // for bodies without max_bytes
  routerOptions: { maxParamLength: 2048 },
  forceCloseConnections: true, // open SSE streams end on close
  schemaErrorFormatter: validationProblem,
  ...tlsOptions()
})
app.setErrorHandler(errorHandler)
// Every body is read by one parser (413 within bodyLimit), which checks the media (415) and
// decodes (400); the route's body schema then validates it (422).
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', { parseAs: 'buffer' }, parseBody)
app.decorateRequest('cookies', null)
await app.register(websocket, {
  options: { handleProtocols },
  errorHandler: (error, socket) => socket.terminate(), // a broken connection is not worth a log line
  preClose (done) {
    for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down')
    this.websocketServer.close(done)
  }
})

app.get('/__ready', () => 'ready')

// The methods each path pattern answers; the others get 405 (or, with CORS, a preflight's reply).
const claimed = new Map()
const corsByUrl = new Map()
const claim = (url, ...methods) => {
  if (!claimed.has(url)) claimed.set(url, new Set())
  for (const method of methods) claimed.get(url).add(method)
}

for (const { protocol, handler } of loadHandlers(FIXTURES_DIR)) {
  const { url } = parseRoute(handler.route)
  if (protocol === 'rest') {
    const route = restRoute(handler)
    // Fastify answers HEAD for a GET route, unless HEAD has its own handler.
    route.exposeHeadRoute = handler.method === 'GET' && !claimed.get(url)?.has('HEAD')
    app.register(restPlugin(handler, route))
    claim(url, route.method, ...(route.exposeHeadRoute ? ['HEAD'] : []))
    if (handler.cors && !corsByUrl.has(url)) corsByUrl.set(url, handler.cors)
  } else if (protocol === 'websocket') {
    app.route(wsRoute(handler, url))
    claim(url, 'GET')
  } else {
    app.get(url, { exposeHeadRoute: false }, sseHandler(handler))
    claim(url, 'GET')
  }
}

for (const [url, methods] of claimed) {
  const allow = METHODS.filter((method) => methods.has(method)).join(', ')
  const others = METHODS.filter((method) => !methods.has(method))
  if (others.length) {
    app.route({
      method: others,
      url,
      exposeHeadRoute: false,
      onRequest: corsByUrl.has(url) ? [corsHook(corsByUrl.get(url))] : [],
      handler: (request, reply) => reply.code(405).header('allow', allow).send()
    })
  }
}

const shutdown = () => {
  setTimeout(() => process.exit(0), 1500).unref()
  app.close().then(() => process.exit(0), () => process.exit(1))
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

try {
  await app.listen({ host: '127.0.0.1', port: Number(PORT) })
} catch (error) {
  console.error(`node-fastify: ${error.message}`)
  process.exit(1)
}
console.error(`node-fastify: serving ${claimed.size} routes on ${TLS_CERT_FILE ? 'https' : 'http'}://127.0.0.1:${PORT} (${Math.round(performance.now() - started)} ms)`)

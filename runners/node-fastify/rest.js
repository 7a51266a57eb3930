// REST handlers: Fastify route options (schemas, validators, hooks, reply) built from a fixture's
// handler, each registered as a plugin of its own with the plugins it needs.

import compress from '@fastify/compress'
import multipart from '@fastify/multipart'
import { bodyRule, bodyValidator } from './body.js'
import { compressOptions, compressedSend, decompressOptions } from './compression.js'
import { corsHook } from './cors.js'
import { readMultipart } from './multipart.js'
import { fieldsObject, paramValidator } from './params.js'
import { streamReply } from './stream.js'
import { validationProblem } from './validation.js'

const CAPTURE = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::(str|int|float|bool|uuid))?\}$/
const CAPTURE_SCHEMAS = {
  str: { type: 'string' },
  int: { type: 'integer' },
  float: { type: 'number' },
  bool: { type: 'boolean' },
  uuid: { type: 'string', format: 'uuid' }
}

/** `/items/{id:int}/tags/{tag}` -> Fastify's `/items/:id/tags/:tag`, and the typed captures. */
export function parseRoute (route) {
  const captures = []
  const url = route.split('/').map((segment) => {
    const match = CAPTURE.exec(segment)
    if (!match) return segment.replaceAll(':', '::') // a literal colon, escaped for find-my-way
    captures.push({ name: match[1], type: match[2] ?? 'str' })
    return ':' + match[1]
  }).join('/')
  return { url, captures }
}

/** The schema of the path location: one property per capture, typed, plus `params.path`. */
function pathSchema (captures, declared) {
  const properties = {}
  for (const { name, type } of captures) {
    const extra = declared?.properties?.[name]
    if (!extra) properties[name] = CAPTURE_SCHEMAS[type]
    else if (type === 'str') properties[name] = extra // an untyped capture takes the declared type
    else properties[name] = { allOf: [CAPTURE_SCHEMAS[type], extra] }
  }
  return { type: 'object', properties, required: captures.map((c) => c.name) }
}

/** `Cookie: a=1; b="2"` as an object (first occurrence of each name). */
function parseCookies (header) {
  const pairs = []
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=')
    if (at < 0) continue
    let value = pair.slice(at + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    pairs.push([pair.slice(0, at).trim(), value])
  }
  return fieldsObject(pairs, null)
}

function setCookie (cookie) {
  let header = `${cookie.name}=${cookie.value}`
  if (cookie.path !== undefined) header += `; Path=${cookie.path}`
  if (cookie.domain !== undefined) header += `; Domain=${cookie.domain}`
  if (cookie.max_age !== undefined) header += `; Max-Age=${cookie.max_age}`
  if (cookie.http_only) header += '; HttpOnly'
  if (cookie.secure) header += '; Secure'
  if (cookie.same_site !== undefined) header += `; SameSite=${cookie.same_site}`
  return header
}

/** The declared properties of `object` that are present. */
function pick (object, names) {
  const picked = {}
  for (const name of names) if (object?.[name] !== undefined) picked[name] = object[name]
  return picked
}

const names = (schema) => Object.keys(schema?.properties ?? {})

/** The reply of a handler: a stream, or one body (JSON, text, the echo), maybe compressed. */
function replyHandler (handler, captures) {
  const params = handler.params ?? {}
  const response = handler.response ?? {}
  const status = response.status ?? 200
  const headers = response.headers ?? {}
  const setCookies = (response.cookies ?? []).map(setCookie)
  const respond = (reply) => {
    reply.code(status).headers(headers)
    if (setCookies.length) reply.header('set-cookie', setCookies)
    return reply
  }
  if (response.stream) {
    const stream = streamReply(response.stream)
    return { onRequest: [], handler: (request, reply) => stream(request, respond(reply)) }
  }

  const { onRequest, send } = compressedSend(response.compress)
  let contentType, payload
  if (response.json !== undefined) [contentType, payload] = ['application/json', JSON.stringify(response.json)]
  else if (response.text !== undefined) [contentType, payload] = ['text/plain; charset=utf-8', response.text]
  else if (response.echo) contentType = 'application/json; charset=utf-8'

  const captureNames = captures.map((c) => c.name)
  const [queryNames, headerNames, cookieNames] = [params.query, params.headers, params.cookies].map(names)
  const echoDocument = (request) => {
    const doc = {}
    if (captures.length) doc.path = pick(request.params, captureNames)
    if (params.query) doc.query = pick(request.query, queryNames)
    if (params.headers) doc.headers = pick(request.headers, headerNames)
    if (params.cookies) doc.cookies = pick(request.cookies, cookieNames)
    if (handler.body) doc.body = request.body ?? null
    return doc
  }
  return {
    onRequest,
    handler (request, reply) {
      respond(reply)
      if (contentType) reply.type(contentType)
      return send(reply, response.echo ? echoDocument(request) : payload)
    }
  }
}

/** Fastify route options for one REST handler. */
export function restRoute (handler) {
  const { url, captures } = parseRoute(handler.route)
  const params = handler.params ?? {}
  const schema = {}
  if (captures.length) schema.params = pathSchema(captures, params.path)
  if (params.query) schema.querystring = params.query
  if (params.headers) schema.headers = params.headers
  const body = handler.body && bodyRule(handler.body)
  if (body) schema.body = body.schema ?? {}

  // A multipart body is read before the other checks (Fastify has read the other media by now).
  const preValidation = body?.media === 'multipart' ? [readMultipart] : []
  // Cookies are not a Fastify request part: they are checked before the others.
  let cookies
  if (params.cookies) {
    cookies = paramValidator(params.cookies)
    preValidation.push(async (request) => {
      request.cookies = parseCookies(request.headers.cookie)
      if (!cookies(request.cookies)) throw validationProblem(cookies.errors, 'cookies')
    })
  }

  const { onRequest, handler: reply } = replyHandler(handler, captures)
  return {
    method: handler.method,
    url,
    schema,
    config: { body, cookies },
    ...(handler.body?.max_bytes !== undefined && { bodyLimit: handler.body.max_bytes }),
    ...(body && { decompress: decompressOptions(handler.body) }), // by the scope's @fastify/compress
    validatorCompiler: ({ schema, httpPart }) => httpPart === 'body' ? bodyValidator(body) : paramValidator(schema),
    onRequest: [...(handler.cors ? [corsHook(handler.cors)] : []), ...onRequest],
    preValidation,
    handler: reply
  }
}

/**
 * A REST route as a Fastify plugin: its own scope holds @fastify/compress with the handler's
 * options (request decoding, reply encoding) and @fastify/multipart (whose content-type parser
 * then serves this route only: elsewhere a multipart body is a 415 like any other media).
 */
export function restPlugin (handler, route) {
  return async function (scope) {
    const options = compressOptions(handler)
    if (options) await scope.register(compress, options)
    if (handler.body?.media === 'multipart') await scope.register(multipart)
    scope.route(route)
  }
}

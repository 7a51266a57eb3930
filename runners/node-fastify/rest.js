// REST handlers: Fastify route options (schemas, validators, body parser rule, reply) built from a
// fixture's handler.

import {
  coercing, strict, malformedBody, unsupportedMediaType, validationProblem
} from './validation.js'

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

const isArrayType = (schema) => schema?.type === 'array' || (Array.isArray(schema?.type) && schema.type.includes('array'))

/**
 * A validator for string parameters (query, headers, cookies, form fields): a scalar property
 * given several times takes its first occurrence, then Ajv coerces, applies defaults and validates.
 */
function paramValidator (schema) {
  const validate = coercing.compile(schema)
  const scalars = Object.entries(schema.properties ?? {}).filter(([, s]) => !isArrayType(s)).map(([name]) => name)
  const validator = (data) => {
    if (data !== null && typeof data === 'object') {
      for (const name of scalars) if (Array.isArray(data[name])) data[name] = data[name][0]
    }
    const valid = validate(data)
    validator.errors = validate.errors
    return valid
  }
  return validator
}

/** The body validator: a missing body (Fastify passes `null`) is an error only when required. */
function bodyValidator (body) {
  const validate = body.schema === undefined
    ? () => true
    : body.media === 'form' ? paramValidator(body.schema) : strict.compile(body.schema)
  const validator = (data) => {
    if (data === null) {
      validator.errors = body.required ? [{ instancePath: '', message: 'a request body is required' }] : null
      return !body.required
    }
    const valid = validate(data)
    validator.errors = validate.errors
    return valid
  }
  return validator
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

/** Whether a content type fits a body media. */
function fits (media, contentType) {
  const essence = (contentType ?? '').split(';')[0].trim().toLowerCase()
  const [kind, subtype, rest] = essence.split('/')
  if (!kind || !subtype || rest !== undefined) return false
  switch (media) {
    case 'json': return essence === 'application/json' || (subtype.endsWith('+json') && subtype.length > 5)
    case 'form': return essence === 'application/x-www-form-urlencoded'
    case 'text': return kind === 'text'
  }
  return false
}

/** Repeated keys as arrays, like Fastify's query string parser; only `names` when given. */
function fieldsObject (pairs, names) {
  const object = {}
  for (const [key, value] of pairs) {
    if (names && !names.has(key)) continue
    if (!Object.hasOwn(object, key)) object[key] = value
    else if (names) object[key] = [].concat(object[key], value)
    // Without declared properties every field is kept, as a string: its first occurrence.
  }
  return object
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Fastify's content-type parser for every content type: Fastify has read the body within the
 * route's `bodyLimit` (413); here come the media check (415) and the decoding (400).
 */
export function parseBody (request, raw, done) {
  const body = request.routeOptions.config.body
  if (!body || raw.length === 0) return done(null, undefined) // an empty body counts as absent
  if (!fits(body.media, request.headers['content-type'])) return done(unsupportedMediaType())
  let text
  try {
    text = utf8.decode(raw)
  } catch {
    return done(malformedBody())
  }
  switch (body.media) {
    case 'json':
      try {
        return done(null, JSON.parse(text))
      } catch {
        return done(malformedBody())
      }
    case 'form': return done(null, fieldsObject(new URLSearchParams(text), body.fields))
    default: return done(null, text)
  }
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

/** Fastify route options for one REST handler. */
export function restRoute (handler) {
  const { url, captures } = parseRoute(handler.route)
  const params = handler.params ?? {}
  const schema = {}
  if (captures.length) schema.params = pathSchema(captures, params.path)
  if (params.query) schema.querystring = params.query
  if (params.headers) schema.headers = params.headers
  let body
  if (handler.body) {
    const declared = handler.body.schema?.properties
    body = {
      media: handler.body.media,
      schema: handler.body.schema,
      required: handler.body.required ?? true,
      fields: declared ? new Set(Object.keys(declared)) : null
    }
    schema.body = handler.body.schema ?? {}
  }

  // Cookies are not a Fastify request part: they are checked before the others.
  let cookies, preValidation
  if (params.cookies) {
    cookies = paramValidator(params.cookies)
    preValidation = async (request) => {
      request.cookies = parseCookies(request.headers.cookie)
      if (!cookies(request.cookies)) throw validationProblem(cookies.errors, 'cookies')
    }
  }

  const response = handler.response ?? {}
  const status = response.status ?? 200
  const headers = response.headers ?? {}
  const setCookies = (response.cookies ?? []).map(setCookie)
  let contentType, payload
  if (response.json !== undefined) [contentType, payload] = ['application/json', JSON.stringify(response.json)]
  else if (response.text !== undefined) [contentType, payload] = ['text/plain; charset=utf-8', response.text]

  const echo = response.echo === true && payload === undefined
  const captureNames = captures.map((c) => c.name)
  const [queryNames, headerNames, cookieNames] = [params.query, params.headers, params.cookies].map(names)
  const echoDocument = (request) => {
    const doc = {}
    if (captures.length) doc.path = pick(request.params, captureNames)
    if (params.query) doc.query = pick(request.query, queryNames)
    if (params.headers) doc.headers = pick(request.headers, headerNames)
    if (params.cookies) doc.cookies = pick(request.cookies, cookieNames)
    if (body) doc.body = request.body ?? null
    return doc
  }

  return {
    method: handler.method,
    url,
    schema,
    config: { body, cookies },
    ...(handler.body?.max_bytes !== undefined && { bodyLimit: handler.body.max_bytes }),
    validatorCompiler: ({ schema, httpPart }) => httpPart === 'body' ? bodyValidator(body) : paramValidator(schema),
    preValidation,
    handler (request, reply) {
      reply.code(status)
      if (contentType) reply.type(contentType)
      reply.headers(headers)
      if (setCookies.length) reply.header('set-cookie', setCookies)
      return reply.send(echo ? echoDocument(request) : payload)
    }
  }
}

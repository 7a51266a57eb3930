// JSON Schema validation (Ajv, as Fastify uses it) and the canonical problem+json replies.

import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'

function ajv (options) {
  const instance = new Ajv2020({ allErrors: true, strict: false, removeAdditional: false, ...options })
  addFormats(instance)
  return instance
}

// Parameters (path, query, headers, cookies, form fields) arrive as strings: Ajv coerces them
// by the schema's `type` and fills in defaults. JSON bodies and WebSocket messages are
// validated as they are.
export const coercing = ajv({ coerceTypes: 'array', useDefaults: true })
export const strict = ajv({ coerceTypes: false })

/** An error reply: an RFC 9457 problem document. */
export class Problem extends Error {
  constructor (status, type, title, errors, headers) {
    super(title)
    this.statusCode = status
    this.body = { type: `urn:benchmark-harness:${type}`, title, status }
    if (errors) this.body.errors = errors
    this.headers = headers ?? {}
  }
}

export const payloadTooLarge = () => new Problem(413, 'payload-too-large', 'Payload too large')
export const unsupportedMediaType = () => new Problem(415, 'unsupported-media-type', 'Unsupported media type')
export const malformedBody = () => new Problem(400, 'malformed-body', 'Malformed request body')

const escapeToken = (token) => String(token).replaceAll('~', '~0').replaceAll('/', '~1')

/** Ajv errors as `{pointer, message}`, sorted by pointer, one per pointer. */
export function fieldErrors (errors) {
  const byPointer = new Map()
  for (const error of errors ?? []) {
    let pointer = error.instancePath
    // A missing property is reported where it should be.
    if (error.params?.missingProperty !== undefined) pointer += '/' + escapeToken(error.params.missingProperty)
    if (!byPointer.has(pointer)) byPointer.set(pointer, error.message ?? 'invalid')
  }
  return [...byPointer].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([pointer, message]) => ({ pointer, message }))
}

// Fastify's names for request parts, and the README's.
const LOCATIONS = { params: 'path', querystring: 'query', headers: 'headers', cookies: 'cookies', body: 'body' }

const located = (location, errors) => fieldErrors(errors).map(({ pointer, message }) => ({ in: location, pointer, message }))

/** Fastify's `schemaErrorFormatter`: a failed validation becomes the canonical 422. */
export function validationProblem (errors, part) {
  return new Problem(422, 'validation-error', 'Request validation failed', located(LOCATIONS[part] ?? part, errors))
}

/**
 * Fastify stops at the first request part that fails; the README wants every fault, by location
 * (path, query, headers, cookies, body). The route's own validators check every part again
 * (coercion is idempotent).
 */
function everyFault (request) {
  const errors = []
  const check = (validate, data, location) => {
    if (validate && !validate(data)) errors.push(...located(location, validate.errors))
  }
  check(request.getValidationFunction('params'), request.params, 'path')
  check(request.getValidationFunction('querystring'), request.query, 'query')
  check(request.getValidationFunction('headers'), request.headers, 'headers')
  check(request.routeOptions.config.cookies, request.cookies, 'cookies')
  check(request.getValidationFunction('body'), request.body ?? null, 'body')
  return errors
}

/** Fastify's error handler: problems as problem+json, Fastify's own body errors mapped. */
export function errorHandler (error, request, reply) {
  // Fastify answers a body it could not parse with `Connection: close`, a header HTTP/2
  // forbids (Node drops it with a warning); an HTTP/2 stream needs no such thing.
  if (request.raw.httpVersionMajor === 2) reply.removeHeader('connection')
  let problem = error
  if (!(error instanceof Problem)) {
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE': problem = payloadTooLarge(); break
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': problem = unsupportedMediaType(); break
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': problem = malformedBody(); break
      case 'FST_CP_ERR_INVALID_CONTENT': problem = malformedBody(); break // @fastify/compress: does not decode
      default:
        if (!(error.statusCode < 500)) request.log.error(error)
        return reply.send(error)
    }
  } else if (problem.statusCode === 422) {
    problem.body.errors = everyFault(request)
  }
  return reply.code(problem.statusCode).headers(problem.headers).type('application/problem+json')
    .send(JSON.stringify(problem.body))
}

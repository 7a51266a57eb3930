// Request bodies: Fastify's content-type parser for every media but multipart (413, 415, 400)
// and the body validator (422).

import { multipartValidator } from './multipart.js'
import { fieldsObject, paramValidator } from './params.js'
import { strict, malformedBody, unsupportedMediaType } from './validation.js'

/** A handler's `body` as the route keeps it (`config.body`). */
export function bodyRule (body) {
  const declared = body.schema?.properties
  return {
    media: body.media,
    schema: body.schema,
    required: body.required ?? true,
    fieldNames: declared ? new Set(Object.keys(declared)) : null, // form and multipart fields
    files: body.files ?? {}
  }
}

/** The validator of one body media (after parsing). */
function mediaValidator (body) {
  if (body.media === 'multipart') return multipartValidator(body)
  if (body.schema === undefined) return () => true
  return body.media === 'form' ? paramValidator(body.schema) : strict.compile(body.schema)
}

/** The body validator: a missing body (Fastify passes `null`) is an error only when required. */
export function bodyValidator (body) {
  const validate = mediaValidator(body)
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

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Fastify's content-type parser for every content type but `multipart/form-data` (on the
 * routes that take multipart bodies, @fastify/multipart's): Fastify has read the body within
 * the route's `bodyLimit` (413); here come the media check (415) and the decoding (400).
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
    case 'form': return done(null, fieldsObject(new URLSearchParams(text), body.fieldNames))
    default: return done(null, text)
  }
}


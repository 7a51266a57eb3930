// Multipart bodies with @fastify/multipart (on busboy): a preValidation hook reads the parts,
// hashing files as they stream in (never buffered), and the body validator checks the fields
// (coerced like form fields) and the declared files.

import { createHash } from 'node:crypto'
import { fieldsObject, paramValidator } from './params.js'
import { malformedBody, payloadTooLarge } from './validation.js'

/** busboy options: a part is a file when it has a filename (busboy's default also takes any
 * `application/octet-stream` part for a file), and file names are kept as sent. */
const partsOptions = (limit) => ({
  isPartAFile: (name, contentType, filename) => filename !== undefined,
  preservePath: true,
  limits: { fileSize: limit, fieldSize: limit }
})

/** A file part read to its end: what the echo shows of it. */
async function describe (part) {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of part.file) {
    hash.update(chunk)
    size += chunk.length
  }
  return { filename: part.filename, content_type: part.mimetype, size, sha256: hash.digest('hex') }
}

/** A field part's value as text: @fastify/multipart parses a part labelled application/json. */
const text = (value) => (typeof value === 'string' ? value : JSON.stringify(value))

/**
 * Every part of the body: `[fields, files]` as `[name, value]` pairs. @fastify/multipart bounds
 * each part but not the whole body, so the bytes are counted here against the route's limit.
 */
async function readParts (request, limit) {
  const raw = request.raw
  let received = 0
  raw.pause() // so that counting does not start the flow before busboy is piped
  raw.on('data', (chunk) => { received += chunk.length })
  const fields = []
  const files = []
  let failure = null
  try {
    for await (const part of request.parts(partsOptions(limit))) {
      if (part.type === 'file') files.push([part.fieldname, await describe(part)])
      else fields.push([part.fieldname, text(part.value)])
      if (received > limit) break
    }
  } catch (error) {
    failure = error
  }
  if (failure || received > limit) {
    raw.unpipe()
    raw.resume() // the rest of the body is discarded
    // The plugin's own limits (parts, file and field sizes) are 413s; anything else is a broken body.
    throw received > limit || failure.statusCode === 413 ? payloadTooLarge() : malformedBody()
  }
  return received === 0 ? null : [fields, files]
}

/**
 * The route's preValidation hook: a multipart body (over the limit: 413, broken: 400) becomes
 * `{fields, files}` for the body validator; an empty body counts as absent.
 */
export async function readMultipart (request) {
  if (!request.isMultipart()) return // another media was refused by the catch-all parser
  const limit = request.routeOptions.bodyLimit
  if (Number(request.headers['content-length']) > limit) throw payloadTooLarge()
  const parts = await readParts(request, limit)
  if (!parts) return
  const { fieldNames, files: rules } = request.routeOptions.config.body
  const files = {}
  for (const [name, rule] of Object.entries(rules)) {
    const sent = parts[1].filter(([fieldname]) => fieldname === name).map(([, file]) => file)
    if (rule.multiple) files[name] = sent
    else if (sent.length) files[name] = sent[0]
  }
  request.body = { fields: fieldsObject(parts[0], fieldNames), files }
}

/** Ajv-like errors of the declared files: missing, too large, of a type not listed. */
function fileErrors (rules, files) {
  const errors = []
  for (const [name, rule] of Object.entries(rules)) {
    const sent = [].concat(files[name] ?? [])
    if (sent.length === 0) {
      if (rule.required ?? true) errors.push({ instancePath: `/${name}`, message: 'a file is required' })
      continue
    }
    sent.forEach((file, index) => {
      const instancePath = rule.multiple ? `/${name}/${index}` : `/${name}`
      if (rule.max_bytes !== undefined && file.size > rule.max_bytes) {
        errors.push({ instancePath, message: `must be at most ${rule.max_bytes} bytes` })
      } else if (rule.content_types && !rule.content_types.some((type) => type.toLowerCase() === file.content_type)) {
        errors.push({ instancePath, message: `must be one of ${rule.content_types.join(', ')}` })
      }
    })
  }
  return errors
}

/** The validator of a `{fields, files}` body: field errors and file errors in one list. */
export function multipartValidator (body) {
  const validateFields = body.schema === undefined ? () => true : paramValidator(body.schema)
  const validator = (data) => {
    const errors = validateFields(data.fields) ? [] : [...validateFields.errors]
    errors.push(...fileErrors(body.files, data.files))
    validator.errors = errors.length ? errors : null
    return errors.length === 0
  }
  return validator
}

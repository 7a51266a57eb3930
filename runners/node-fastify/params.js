// String parameters (query, headers, cookies, form and multipart fields): repeated keys, the
// first occurrence of a scalar, Ajv's coercion and defaults.

import { coercing } from './validation.js'

const isArrayType = (schema) => schema?.type === 'array' || (Array.isArray(schema?.type) && schema.type.includes('array'))

/**
 * A validator for string parameters: a scalar property given several times takes its first
 * occurrence, then Ajv coerces, applies defaults and validates.
 */
export function paramValidator (schema) {
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

/** Repeated keys as arrays, like Fastify's query string parser; only `names` when given. */
export function fieldsObject (pairs, names) {
  const object = {}
  for (const [key, value] of pairs) {
    if (names && !names.has(key)) continue
    if (!Object.hasOwn(object, key)) object[key] = value
    else if (names) object[key] = [].concat(object[key], value)
    // Without declared properties every field is kept, as a string: its first occurrence.
  }
  return object
}

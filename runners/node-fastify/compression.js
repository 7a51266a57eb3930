// Compressed request bodies and replies with @fastify/compress, registered in the handler's own
// scope with the handler's options.

import { addVary } from './vary.js'
import { Problem } from './validation.js'

/** The 415 of a request body in a coding the handler does not decode (RFC 9110 section 15.5.16). */
const unsupportedEncoding = (codings) => new Problem(415, 'unsupported-media-type', 'Unsupported media type',
  undefined, { 'accept-encoding': codings.length ? codings.join(', ') : 'identity' })

/**
 * @fastify/compress's options for the handler's scope, or null when it needs none (no body to
 * decode, no reply to encode). `global: false`: nothing is decoded or encoded unless the route
 * asks (`decompress`) or the handler calls `reply.compress`. A reply is encoded when it is at
 * least `min_bytes` long, in a coding the client accepts.
 */
export function compressOptions (handler) {
  const compress = handler.response?.compress
  if (!handler.body && !compress) return null
  return { global: false, threshold: compress?.min_bytes ?? 0, encodings: compress?.encodings ?? ['gzip'] }
}

/**
 * The route's `decompress` option (@fastify/compress) for a body: `identity` is always accepted,
 * another coding is refused with the codings the handler decodes. A body that does not decode
 * is the plugin's 400, and Fastify bounds the decoded size by the route's bodyLimit (413).
 */
export function decompressOptions (body) {
  const codings = body.content_encodings ?? []
  return {
    requestEncodings: [...codings, 'identity'],
    onUnsupportedRequestEncoding: () => unsupportedEncoding(codings)
  }
}

/**
 * The send of a handler with `response.compress`: `reply.compress` (the plugin's) encodes the
 * reply; error replies, sent by the error handler, are never encoded. Every reply says that it
 * varies with Accept-Encoding, encoded or not (the plugin adds Vary only when it encodes).
 */
export function compressedSend (compress) {
  if (!compress) return { onRequest: [], send: (reply, payload) => reply.send(payload) }
  return {
    onRequest: [async (request, reply) => { addVary(reply, 'accept-encoding') }],
    send: (reply, payload) => payload === undefined ? reply.send() : reply.compress(payload)
  }
}

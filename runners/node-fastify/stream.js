// Streamed replies: the items as a Node Readable that Fastify pipes to the connection, each
// item written (and flushed) as it comes, `interval_ms` apart; chunked on HTTP/1.1.

import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'

/** A CSV field (RFC 4180): numbers and booleans as their JSON text, quoted when needed. */
function csvField (value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

const FORMATS = {
  ndjson: { type: 'application/x-ndjson', render: (item) => JSON.stringify(item) + '\n' },
  csv: { type: 'text/csv; charset=utf-8', render: (row) => row.map(csvField).join(',') + '\r\n' },
  text: { type: 'text/plain; charset=utf-8', render: (item) => item }
}

/** The items one by one, pausing between them; ends quietly when the client leaves. */
async function * pieces (rendered, interval, signal) {
  try {
    for (const [index, piece] of rendered.entries()) {
      if (index > 0 && interval > 0) await sleep(interval, undefined, { signal })
      yield piece
    }
  } catch (error) {
    if (error.name !== 'AbortError') throw error
  }
}

/** The reply of a handler with `response.stream`. */
export function streamReply (stream) {
  const { type, render } = FORMATS[stream.format]
  const rendered = stream.items.map(render)
  const interval = stream.interval_ms ?? 0
  return (request, reply) => {
    const left = new AbortController()
    reply.raw.once('close', () => left.abort())
    reply.type(type)
    // Node sends `Content-Length: 0` for a body that ends before its first byte; a stream
    // is chunked even then. (HTTP/2 frames the body without either header.)
    if (request.raw.httpVersionMajor === 1) reply.header('transfer-encoding', 'chunked')
    return reply.send(Readable.from(pieces(rendered, interval, left.signal), { objectMode: false }))
  }
}

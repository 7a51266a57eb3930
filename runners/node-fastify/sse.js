// SSE handlers: the listed items, then the counter, written on the raw (hijacked) reply.

import { once } from 'node:events'
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises'

/** The wire text of one listed item. */
function render (item) {
  if (item.comment !== undefined) return `: ${item.comment}\n\n`
  let out = ''
  if (item.id !== undefined) out += `id: ${item.id}\n`
  if (item.event !== undefined) out += `event: ${item.event}\n`
  if (item.retry !== undefined) out += `retry: ${item.retry}\n`
  if (item.data !== undefined) {
    for (const line of item.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  } else if (item.json !== undefined) {
    out += `data: ${JSON.stringify(item.json)}\n`
  }
  return out + '\n'
}

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000)

/** A Fastify handler for one SSE handler. */
export function sseHandler (handler) {
  const items = (handler.events ?? []).map((item) => ({
    id: item.comment === undefined ? item.id : undefined,
    wire: render(item)
  }))
  const counter = handler.counter
  const eventLine = counter?.event !== undefined ? `event: ${counter.event}\n` : ''
  const timestampKey = counter?.timestamp_field !== undefined ? `,${JSON.stringify(counter.timestamp_field)}:` : ''
  const hasCount = (n) => counter && (counter.count == null || n <= counter.count)
  const interval = handler.interval_ms ?? 0

  /** Where the stream starts: after the item `Last-Event-ID` names (listed ids, then counter ids). */
  function start (lastEventId) {
    if (!handler.resume || lastEventId === undefined) return [0, 1]
    const index = items.findIndex((item) => item.id === lastEventId)
    if (index >= 0) return [index + 1, 1]
    if (/^[1-9][0-9]*$/.test(lastEventId) && hasCount(Number(lastEventId))) return [items.length, Number(lastEventId) + 1]
    return [0, 1]
  }

  /** The items to write, each rendered when its turn comes (after the pause). */
  function * stream ([index, n]) {
    for (const item of items.slice(index)) yield () => item.wire
    for (; hasCount(n); n++) {
      const count = n
      yield () => `id: ${count}\n${eventLine}data: {"n":${count}${timestampKey && timestampKey + nowMicros()}}\n\n`
    }
  }

  return async function (request, reply) {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.flushHeaders()
    const left = new AbortController()
    res.once('close', () => left.abort())
    const { signal } = left
    try {
      let written = 0
      for (const next of stream(start(request.headers['last-event-id']))) {
        if (written > 0 && interval > 0) await sleep(interval, undefined, { signal })
        else if (written > 0 && written % 32 === 0) await turn() // an endless stream shares the loop
        written += 1
        if (signal.aborted) return
        if (!res.write(next())) await once(res, 'drain', { signal })
      }
      // `hold`: leave the reply open until the client leaves (or the server stops).
      if (handler.end !== 'hold') res.end()
    } catch (error) {
      if (error.name !== 'AbortError') throw error
    }
  }
}

// WebSocket handlers (@fastify/websocket, on `ws`): auth, subprotocols, greeting,
// echo/validate/silent/rpc, server close and drop.

import { strict, fieldErrors } from './validation.js'
import { rpcSession } from './rpc.js'

const kSubprotocols = Symbol('subprotocols')

/** `ws`'s `handleProtocols`: the first subprotocol the client offers that the route speaks. */
export function handleProtocols (offered, rawRequest) {
  const spoken = rawRequest[kSubprotocols] ?? []
  for (const protocol of offered) if (spoken.includes(protocol)) return protocol
  return false
}

/** A fixture message as `[data, {binary}]` for `socket.send`. */
function message (spec) {
  if (spec.binary_base64 !== undefined) return [Buffer.from(spec.binary_base64, 'base64'), { binary: true }]
  if (spec.text !== undefined) return [spec.text, { binary: false }]
  return [JSON.stringify(spec.json), { binary: false }]
}

const first = (value) => (Array.isArray(value) ? value[0] : value)

/** Fastify route options for one WebSocket handler. */
export function wsRoute (handler, url) {
  const validate = handler.schema !== undefined ? strict.compile(handler.schema) : () => true
  const greeting = handler.greeting && message(handler.greeting)
  const { auth, close, drop } = handler

  const allowed = (request) =>
    Object.entries(auth.query ?? {}).every(([name, value]) => first(request.query[name]) === value) &&
    Object.entries(auth.headers ?? {}).every(([name, value]) => request.headers[name.toLowerCase()] === value)

  /** The reply to one data message, per behaviour. */
  function answer (data, isBinary) {
    switch (handler.behavior) {
      case 'echo': return [data, { binary: isBinary }]
      case 'silent': return undefined
    }
    let reply
    if (isBinary) {
      reply = { type: 'error', title: 'Unsupported message type' }
    } else {
      let value
      try {
        value = JSON.parse(data.toString('utf8'))
      } catch {
        return [JSON.stringify({ type: 'error', title: 'Malformed message' }), { binary: false }]
      }
      reply = validate(value)
        ? { type: 'ack', message: value }
        : { type: 'error', title: 'Message validation failed', errors: fieldErrors(validate.errors) }
    }
    return [JSON.stringify(reply), { binary: false }]
  }

  return {
    method: 'GET',
    url,
    websocket: true,
    exposeHeadRoute: false,
    // Runs before the upgrade: a reply here refuses it.
    async preValidation (request, reply) {
      if (auth && !allowed(request)) return reply.code(auth.reject_status).send()
      request.raw[kSubprotocols] = handler.subprotocols
    },
    handler (socket) {
      if (handler.behavior === 'rpc') return void socket.on('message', rpcSession(handler, socket))
      let answered = 0
      let ending = false
      // Sends a reply; after the `after`-th answer (0: the greeting) closes, which wins over
      // drop, or drops the connection once the reply is written.
      const respond = (reply) => {
        let end
        if (close && close.after === answered) end = () => socket.close(close.code, close.reason ?? '')
        else if (drop && drop.after === answered) end = () => socket.terminate()
        if (end) ending = true
        if (reply) socket.send(reply[0], reply[1], end)
        else end?.()
      }
      socket.on('message', (data, isBinary) => {
        if (ending) return
        answered += 1
        respond(answer(data, isBinary))
      })
      respond(greeting)
    }
  }
}

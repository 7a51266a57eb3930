// The `rpc` WebSocket behaviour: JSON-RPC 2.0 over text messages with the methods a fixture
// declares (fixtures/README.md, "RPC handlers"). The pure rules (what a valid request is, the
// sum, the canonical errors) are exported; `rpcSession` serves one connection.
//
// Concurrency is the event loop's: every request is handled as it arrives, a `delay_ms` reply
// waits on a timer of its own, and `ws` queues sends in call order (one writer per socket).
// Every timer of a connection (delayed replies, subscription items, heartbeats) is cleared
// when it closes.

const MAX_I64 = 2n ** 63n - 1n
const MIN_I64 = -(2n ** 63n)

/** JSON-RPC 2.0's error codes, with the messages the vocabulary sends. */
export const ERRORS = Object.freeze({
  parse: { code: -32700, message: 'Parse error' },
  invalidRequest: { code: -32600, message: 'Invalid Request' },
  methodNotFound: { code: -32601, message: 'Method not found' },
  invalidParams: { code: -32602, message: 'Invalid params' }
})

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value)

/** An error reply for a request with this id. */
export const errorReply = (id, error) => ({ jsonrpc: '2.0', id, error })

/**
 * Checks one request (a whole message or a batch element): `{request}` when valid (`hasId`
 * false for a notification), else `{invalid: id}`, the id an Invalid Request reply carries.
 */
export function parseRequest (value) {
  if (!isObject(value)) return { invalid: null }
  const hasId = Object.hasOwn(value, 'id')
  const { id, params, method } = value
  const replyId = typeof id === 'string' || typeof id === 'number' ? id : null
  const idOk = !hasId || id === null || typeof id === 'string' || typeof id === 'number'
  const paramsOk = !Object.hasOwn(value, 'params') || Array.isArray(params) || isObject(params)
  if (value.jsonrpc !== '2.0' || typeof method !== 'string' || !idOk || !paramsOk) return { invalid: replyId }
  return { request: { hasId, id, method, params } }
}

/**
 * The sum of the integers in params (an array, or an object's values); `undefined` when params
 * are absent or hold anything else (a boolean is not an integer), or the sum leaves the range of
 * a signed 64-bit integer. JSON.parse reads `1` and `1.0` alike, and integers past 2^53 lose
 * precision: the vocabulary keeps integers within that range.
 */
export function sumParams (params) {
  let values
  if (Array.isArray(params)) values = params
  else if (isObject(params)) values = Object.values(params)
  else return undefined
  let sum = 0n
  for (const value of values) {
    if (!Number.isInteger(value)) return undefined
    sum += BigInt(value)
  }
  return sum > MAX_I64 || sum < MIN_I64 ? undefined : Number(sum)
}

/** The params of an `unsubscribe` call (an array of one string): the subscription id, or undefined. */
export function unsubscribeTarget (params) {
  return Array.isArray(params) && params.length === 1 && typeof params[0] === 'string' ? params[0] : undefined
}

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000)

/** One connection of an `rpc` handler: its counters, subscriptions and timers. */
class RpcSession {
  constructor (handler, socket) {
    this.methods = new Map(Object.entries(handler.methods ?? {}))
    this.socket = socket
    this.counters = new Map()
    this.subscriptions = new Map() // id -> the timer of its next item, null before the first
    this.delays = new Set()
    this.subscriptionsStarted = 0
    this.closed = false
    if (handler.heartbeat_ms) {
      this.heartbeat = setInterval(() => this.send({ jsonrpc: '2.0', method: 'heartbeat' }), handler.heartbeat_ms)
    }
    socket.once('close', () => this.close())
  }

  /** Sends one message (compact JSON) while the connection is open; `ws` queues them in order. */
  send (value) {
    if (!this.closed && this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(value))
  }

  /** Stops every timer of the connection: heartbeats, delayed replies, subscription items. */
  close () {
    this.closed = true
    clearInterval(this.heartbeat)
    for (const timer of this.delays) clearTimeout(timer)
    for (const timer of this.subscriptions.values()) clearTimeout(timer)
    this.delays.clear()
    this.subscriptions.clear()
  }

  /** The socket's `message` listener. */
  onMessage (data, isBinary) {
    if (this.closed) return
    if (isBinary) return this.send(errorReply(null, ERRORS.parse))
    let value
    try {
      value = JSON.parse(data.toString('utf8'))
    } catch {
      return this.send(errorReply(null, ERRORS.parse))
    }
    if (!Array.isArray(value)) {
      return void this.serve(value).then(({ reply, after }) => {
        if (reply !== undefined) this.send(reply)
        after?.()
      })
    }
    if (value.length === 0) return this.send(errorReply(null, ERRORS.invalidRequest))
    this.serveBatch(value)
  }

  /** A batch: every element served at once, the replies sent as one array in batch order. */
  async serveBatch (elements) {
    const served = await Promise.all(elements.map((element) => this.serve(element)))
    const replies = served.map(({ reply }) => reply).filter((reply) => reply !== undefined)
    if (replies.length > 0) this.send(replies)
    for (const { after } of served) after?.()
  }

  /**
   * Serves one request (a message or a batch element): its effect happens now; resolves to
   * `{reply, after}` (`reply` undefined for a notification, `after` what starts once the reply
   * is out) when its delay, if any, is over.
   */
  serve (value) {
    const parsed = parseRequest(value)
    if (parsed.invalid !== undefined) {
      return Promise.resolve({ reply: errorReply(parsed.invalid, ERRORS.invalidRequest) })
    }
    const { request } = parsed
    const outcome = this.call(request)
    let reply
    if (request.hasId) {
      reply = outcome.error !== undefined
        ? errorReply(request.id, outcome.error)
        : { jsonrpc: '2.0', id: request.id, result: outcome.result }
    }
    const done = { reply, after: outcome.after }
    if (!outcome.delayMs) return Promise.resolve(done)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.delays.delete(timer)
        resolve(done)
      }, outcome.delayMs)
      this.delays.add(timer)
    })
  }

  /** Runs one valid request's method: `{result}` or `{error}`, with `delayMs` and `after`. */
  call ({ method: name, params }) {
    const method = this.methods.get(name)
    if (method === undefined) return { error: ERRORS.methodNotFound }
    if (method.reply !== undefined) return { ...this.replyOutcome(method.reply, params), delayMs: method.delay_ms ?? 0 }
    if (method.notify !== undefined) {
      const value = (this.counters.get(method.notify) ?? 0) + 1
      this.counters.set(method.notify, value)
      return { result: value }
    }
    if (method.subscribe !== undefined) {
      this.subscriptionsStarted += 1
      const id = `sub-${this.subscriptionsStarted}`
      this.subscriptions.set(id, null)
      return { result: id, after: () => this.startItems(id, method.subscribe) }
    }
    if (method.unsubscribe) return this.unsubscribe(params)
    const { code, message } = method.fail
    const error = { code, message }
    if (Object.hasOwn(method.fail, 'data')) error.data = method.fail.data
    return { error }
  }

  /** The outcome of a `reply` method. */
  replyOutcome (reply, params) {
    if (reply === 'params') return { result: params ?? null }
    if (reply === 'sum') {
      const sum = sumParams(params)
      return sum === undefined ? { error: ERRORS.invalidParams } : { result: sum }
    }
    if (Object.hasOwn(reply, 'counter')) return { result: this.counters.get(reply.counter) ?? 0 }
    return { result: reply.value }
  }

  /** Stops the subscription `params` names: no item of it is sent after this. */
  unsubscribe (params) {
    const id = unsubscribeTarget(params)
    if (id === undefined) return { error: ERRORS.invalidParams }
    if (!this.subscriptions.has(id)) return { result: false }
    clearTimeout(this.subscriptions.get(id))
    this.subscriptions.delete(id)
    return { result: true }
  }

  /** Starts the items of subscription `id`, the first `interval_ms` from now (after its reply). */
  startItems (id, spec) {
    if (this.closed || !this.subscriptions.has(id)) return // stopped before its reply went out
    let n = 0
    const item = () => {
      n += 1
      const params = { subscription: id, n }
      if (spec.timestamp_field != null) params[spec.timestamp_field] = nowMicros()
      this.send({ jsonrpc: '2.0', method: spec.notification, params })
      this.schedule(id, n, spec, item)
    }
    this.schedule(id, n, spec, item)
  }

  /** Sets the timer of the item after the `n`-th, or ends the subscription after its last. */
  schedule (id, n, spec, item) {
    if (spec.count == null || n < spec.count) this.subscriptions.set(id, setTimeout(item, spec.interval_ms))
    else this.subscriptions.delete(id)
  }
}

/** Serves one connection of an `rpc` handler: returns the socket's `message` listener. */
export function rpcSession (handler, socket) {
  const session = new RpcSession(handler, socket)
  return (data, isBinary) => session.onMessage(data, isBinary)
}

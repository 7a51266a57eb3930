package main

// One connection of an `rpc` handler. The read loop runs each request's effect as it arrives,
// in message order (so a batch's `notify` counts before a later element reads the counter);
// a reply that waits (`delay_ms`, or a batch waiting for its slowest element) waits in a
// goroutine of its own, as do subscription items and heartbeats. Every write holds one mutex
// (gorilla allows one writer at a time). When the read loop ends, the connection's context is
// cancelled and serveRpc waits for every goroutine it started: none outlives the connection.

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// How long one write may take before the connection is given up.
const rpcWriteTimeout = 10 * time.Second

var heartbeatMessage = []byte(`{"jsonrpc":"2.0","method":"heartbeat"}`)

// rpcConn is the state of one connection: its counters, subscriptions and goroutines.
type rpcConn struct {
	conn    *websocket.Conn
	methods map[string]*rpcMethod
	ctx     context.Context
	tasks   sync.WaitGroup
	writeMu sync.Mutex // one writer at a time

	mu            sync.Mutex // guards what follows
	counters      map[string]int64
	subscriptions map[string]context.CancelFunc // running subscriptions by id
	subscribed    int                           // subscriptions started so far
}

// rpcOutcome is what serving one request leaves to do.
type rpcOutcome struct {
	reply *rpcReply     // nil for a notification
	delay time.Duration // how long after its arrival the reply is due
	start func()        // starts subscription items once the reply is out, or nil
}

// serveRpc holds an `rpc` conversation until the client closes or the connection breaks.
func serveRpc(conn *websocket.Conn, methods map[string]*rpcMethod, heartbeatMs int64) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &rpcConn{conn: conn, methods: methods, ctx: ctx,
		counters: map[string]int64{}, subscriptions: map[string]context.CancelFunc{}}
	defer c.tasks.Wait()
	defer cancel()
	if heartbeatMs > 0 {
		c.spawn(func() { c.heartbeats(time.Duration(heartbeatMs) * time.Millisecond) })
	}
	for {
		// Pings are answered by gorilla's default ping handler, a client's close frame by its
		// default close handler (with the same code); ReadMessage then fails.
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		c.handle(kind, data)
	}
}

// spawn runs task in a goroutine serveRpc waits for.
func (c *rpcConn) spawn(task func()) {
	c.tasks.Add(1)
	go func() {
		defer c.tasks.Done()
		task()
	}()
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// send writes one text message unless ctx has ended; a failed write ends the connection.
func (c *rpcConn) send(ctx context.Context, message []byte) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if ctx.Err() != nil {
		return
	}
	c.conn.SetWriteDeadline(time.Now().Add(rpcWriteTimeout))
	if err := c.conn.WriteMessage(websocket.TextMessage, message); err != nil {
		c.conn.Close() // the read loop fails next, and the connection ends
	}
}

func (c *rpcConn) heartbeats(period time.Duration) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			c.send(c.ctx, heartbeatMessage)
		case <-c.ctx.Done():
			return
		}
	}
}

// handle serves one data message: a request, or a batch answered by one array.
func (c *rpcConn) handle(kind int, data []byte) {
	if kind != websocket.TextMessage {
		c.send(c.ctx, marshal(errorReply(jsonNull, errParse)))
		return
	}
	message, failed := parseMessage(data)
	if failed != nil {
		c.send(c.ctx, marshal(failed))
		return
	}
	if message.batch == nil {
		c.finish([]rpcOutcome{c.serve(message.single)}, false)
		return
	}
	outcomes := make([]rpcOutcome, len(message.batch))
	for i, element := range message.batch {
		outcomes[i] = c.serve(element)
	}
	c.finish(outcomes, true)
}

// finish sends the replies of a message's requests once the last is due (at once when none
// waits), then starts the subscriptions they opened.
func (c *rpcConn) finish(outcomes []rpcOutcome, batch bool) {
	var due time.Duration
	for _, o := range outcomes {
		due = max(due, o.delay)
	}
	deliver := func() {
		replies := make([]*rpcReply, 0, len(outcomes))
		for _, o := range outcomes {
			if o.reply != nil {
				replies = append(replies, o.reply)
			}
		}
		switch {
		case len(replies) == 0:
		case batch:
			c.send(c.ctx, marshal(replies))
		default:
			c.send(c.ctx, marshal(replies[0]))
		}
		for _, o := range outcomes {
			if o.start != nil {
				o.start()
			}
		}
	}
	if due == 0 {
		deliver()
		return
	}
	c.spawn(func() {
		if sleep(c.ctx, due) {
			deliver()
		}
	})
}

// serve checks one request and runs its method's effect now; a notification gets no reply.
func (c *rpcConn) serve(raw json.RawMessage) rpcOutcome {
	request, replyID, ok := parseRequest(raw)
	if !ok {
		return rpcOutcome{reply: errorReply(replyID, errInvalidRequest)}
	}
	result, failed, outcome := c.call(request)
	if request.ID != nil {
		if failed != nil {
			outcome.reply = errorReply(request.ID, failed)
		} else {
			outcome.reply = &rpcReply{JSONRPC: "2.0", ID: request.ID, Result: result}
		}
	}
	return outcome
}

// call runs one valid request's method: its result or its error, and what is left to do.
func (c *rpcConn) call(request rpcRequest) (json.RawMessage, *rpcError, rpcOutcome) {
	m, ok := c.methods[request.Method]
	if !ok {
		return nil, errMethodNotFound, rpcOutcome{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m.kind {
	case kindReply:
		result, failed := c.replyResult(m, request.Params)
		return result, failed, rpcOutcome{delay: time.Duration(m.delay) * time.Millisecond}
	case kindNotify:
		c.counters[m.name]++
		return marshal(c.counters[m.name]), nil, rpcOutcome{}
	case kindSubscribe:
		c.subscribed++
		id := "sub-" + strconv.Itoa(c.subscribed)
		ctx, cancel := context.WithCancel(c.ctx)
		c.subscriptions[id] = cancel
		start := func() { c.spawn(func() { c.items(ctx, cancel, id, m.subscribe) }) }
		return marshal(id), nil, rpcOutcome{start: start}
	case kindUnsubscribe:
		id, ok := unsubscribeTarget(request.Params)
		if !ok {
			return nil, errInvalidParams, rpcOutcome{}
		}
		cancel, running := c.subscriptions[id]
		if running {
			cancel() // before the reply is written: no item follows it
			delete(c.subscriptions, id)
		}
		return marshal(running), nil, rpcOutcome{}
	default:
		return nil, m.fail, rpcOutcome{}
	}
}

// replyResult is a `reply` method's result (c.mu held).
func (c *rpcConn) replyResult(m *rpcMethod, params json.RawMessage) (json.RawMessage, *rpcError) {
	switch m.reply {
	case replyParams:
		if params == nil {
			return jsonNull, nil
		}
		return params, nil
	case replySum:
		sum, ok := sumParams(params)
		if !ok {
			return nil, errInvalidParams
		}
		return marshal(sum), nil
	case replyCounter:
		return marshal(c.counters[m.name]), nil
	default:
		return m.value, nil
	}
}

// items sends a subscription's items, each interval_ms after the previous (the first after
// the reply), until its count, its unsubscribe or the connection's end.
func (c *rpcConn) items(ctx context.Context, cancel context.CancelFunc, id string, spec *rpcSubscribe) {
	defer cancel()
	defer c.forget(id)
	interval := time.Duration(spec.IntervalMs) * time.Millisecond
	for n := int64(1); spec.Count == nil || n <= *spec.Count; n++ {
		if !sleep(ctx, interval) {
			return
		}
		if spec.Count != nil && n == *spec.Count {
			c.forget(id) // the last item: an unsubscribe from now on answers false
		}
		c.send(ctx, itemMessage(spec, id, n, time.Now().UnixMicro()))
	}
}

// forget drops a subscription from the running ones.
func (c *rpcConn) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.subscriptions, id)
}

// itemMessage is one subscription item: {"jsonrpc":"2.0","method":...,"params":{...}}.
func itemMessage(spec *rpcSubscribe, id string, n, micros int64) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","method":`)
	b.Write(marshal(spec.Notification))
	b.WriteString(`,"params":{"subscription":`)
	b.Write(marshal(id))
	b.WriteString(`,"n":`)
	b.WriteString(strconv.FormatInt(n, 10))
	if spec.TimestampField != nil {
		b.WriteByte(',')
		b.Write(marshal(*spec.TimestampField))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(micros, 10))
	}
	b.WriteString("}}")
	return b.Bytes()
}

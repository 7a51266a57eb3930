package main

// The `rpc` WebSocket behaviour (JSON-RPC 2.0, fixtures/README.md "RPC handlers"): the declared
// methods and the pure rules every server of the vocabulary follows (what a valid request is,
// the sum, the canonical errors). rpc_conn.go serves a connection with them.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The longest `delay_ms` of a `reply` method.
const maxRpcDelayMs = 10_000

// rpcError is an error object of a reply.
type rpcError struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// The canonical errors, with the messages the vocabulary sends.
var (
	errParse          = &rpcError{Code: -32700, Message: "Parse error"}
	errInvalidRequest = &rpcError{Code: -32600, Message: "Invalid Request"}
	errMethodNotFound = &rpcError{Code: -32601, Message: "Method not found"}
	errInvalidParams  = &rpcError{Code: -32602, Message: "Invalid params"}
)

var jsonNull = json.RawMessage("null")

// rpcReply is one reply: a result or an error for an id.
type rpcReply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

func errorReply(id json.RawMessage, err *rpcError) *rpcReply {
	return &rpcReply{JSONRPC: "2.0", ID: id, Error: err}
}

// rpcMethodSpec is a method as the fixture declares it: exactly one of its kinds.
type rpcMethodSpec struct {
	Reply       json.RawMessage `json:"reply"`
	DelayMs     *int64          `json:"delay_ms"`
	Notify      *string         `json:"notify"`
	Subscribe   *rpcSubscribe   `json:"subscribe"`
	Unsubscribe *bool           `json:"unsubscribe"`
	Fail        *rpcError       `json:"fail"`
}

// rpcSubscribe describes a subscription's items.
type rpcSubscribe struct {
	Count          *int64  `json:"count"`
	IntervalMs     int64   `json:"interval_ms"`
	Notification   string  `json:"notification"`
	TimestampField *string `json:"timestamp_field"`
}

// The kinds of method.
const (
	kindReply = iota
	kindNotify
	kindSubscribe
	kindUnsubscribe
	kindFail
)

// What a `reply` method answers.
const (
	replyParams = iota
	replySum
	replyCounter
	replyValue
)

// rpcMethod is one declared method, ready to serve.
type rpcMethod struct {
	kind      int
	reply     int             // kindReply: what it answers
	delay     int64           // kindReply: milliseconds before the reply
	name      string          // replyCounter, kindNotify: the counter
	value     json.RawMessage // replyValue: the result
	subscribe *rpcSubscribe
	fail      *rpcError
}

// newRpcMethod checks a declared method and prepares it.
func newRpcMethod(spec rpcMethodSpec) (*rpcMethod, error) {
	m := &rpcMethod{subscribe: spec.Subscribe, fail: spec.Fail}
	kinds := 0
	if spec.Reply != nil {
		kinds, m.kind = kinds+1, kindReply
		if err := m.parseReply(spec.Reply); err != nil {
			return nil, err
		}
	}
	if spec.Notify != nil {
		kinds, m.kind, m.name = kinds+1, kindNotify, *spec.Notify
	}
	if spec.Subscribe != nil {
		kinds, m.kind = kinds+1, kindSubscribe
	}
	if spec.Unsubscribe != nil {
		if !*spec.Unsubscribe {
			return nil, errors.New("`unsubscribe` is `true`")
		}
		kinds, m.kind = kinds+1, kindUnsubscribe
	}
	if spec.Fail != nil {
		kinds, m.kind = kinds+1, kindFail
	}
	if kinds != 1 {
		return nil, errors.New("a method has exactly one of `reply`, `notify`, `subscribe`, `unsubscribe`, `fail`")
	}
	if spec.DelayMs != nil {
		if m.kind != kindReply || *spec.DelayMs < 0 || *spec.DelayMs > maxRpcDelayMs {
			return nil, errors.New("`delay_ms` (0 to 10000) goes with `reply` only")
		}
		m.delay = *spec.DelayMs
	}
	return m, nil
}

// parseReply reads `"params"`, `"sum"`, `{"counter": NAME}` or `{"value": V}`.
func (m *rpcMethod) parseReply(raw json.RawMessage) error {
	var word string
	if json.Unmarshal(raw, &word) == nil {
		switch word {
		case "params":
			m.reply = replyParams
		case "sum":
			m.reply = replySum
		default:
			return fmt.Errorf("reply %q unknown", word)
		}
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) != 1 {
		return errors.New("reply is \"params\", \"sum\", {\"counter\": NAME} or {\"value\": V}")
	}
	if counter, ok := fields["counter"]; ok {
		m.reply = replyCounter
		return json.Unmarshal(counter, &m.name)
	}
	value, ok := fields["value"]
	if !ok {
		return errors.New("reply is \"params\", \"sum\", {\"counter\": NAME} or {\"value\": V}")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, value); err != nil {
		return err
	}
	m.reply, m.value = replyValue, b.Bytes()
	return nil
}

// newRpcMethods prepares every declared method, by name.
func newRpcMethods(specs map[string]rpcMethodSpec) (map[string]*rpcMethod, error) {
	methods := make(map[string]*rpcMethod, len(specs))
	for name, spec := range specs {
		m, err := newRpcMethod(spec)
		if err != nil {
			return nil, fmt.Errorf("method %q: %w", name, err)
		}
		methods[name] = m
	}
	return methods, nil
}

// rpcRequest is a request that passed parseRequest.
type rpcRequest struct {
	ID     json.RawMessage // nil for a notification
	Method string
	Params json.RawMessage // nil when absent
}

// jsonKind is the first byte of a JSON value: '{', '[', '"', 'n' (null), 't', 'f', or a number's.
func jsonKind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func isJSONNumber(kind byte) bool { return kind == '-' || (kind >= '0' && kind <= '9') }

// parseRequest checks one request object (a batch's element or a whole message). On an
// invalid request, ok is false and replyID is the id its error reply carries.
func parseRequest(raw json.RawMessage) (request rpcRequest, replyID json.RawMessage, ok bool) {
	replyID = jsonNull
	var fields map[string]json.RawMessage
	if jsonKind(raw) != '{' || json.Unmarshal(raw, &fields) != nil {
		return request, replyID, false
	}
	id, hasID := fields["id"]
	idKind := jsonKind(id)
	if idKind == '"' || isJSONNumber(idKind) {
		replyID = id
	}
	idOk := !hasID || idKind == '"' || idKind == 'n' || isJSONNumber(idKind)
	params, hasParams := fields["params"]
	paramsOk := !hasParams || jsonKind(params) == '[' || jsonKind(params) == '{'
	var version, method string
	versionOk := json.Unmarshal(fields["jsonrpc"], &version) == nil && jsonKind(fields["jsonrpc"]) == '"' && version == "2.0"
	methodOk := jsonKind(fields["method"]) == '"' && json.Unmarshal(fields["method"], &method) == nil
	if !versionOk || !methodOk || !idOk || !paramsOk {
		return request, replyID, false
	}
	if hasID {
		request.ID = id
	}
	if hasParams {
		request.Params = params
	}
	request.Method = method
	return request, replyID, true
}

// sumParams adds the integers in params (an array, or an object's values). ok is false when
// params are absent or hold anything else (a fraction, an exponent, a boolean), or the sum
// leaves the range of an int64.
func sumParams(params json.RawMessage) (sum int64, ok bool) {
	var values []json.RawMessage
	switch jsonKind(params) {
	case '[':
		if json.Unmarshal(params, &values) != nil {
			return 0, false
		}
	case '{':
		var fields map[string]json.RawMessage
		if json.Unmarshal(params, &fields) != nil {
			return 0, false
		}
		for _, v := range fields {
			values = append(values, v)
		}
	default:
		return 0, false
	}
	for _, v := range values {
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil || (n > 0 && sum > math.MaxInt64-n) || (n < 0 && sum < math.MinInt64-n) {
			return 0, false
		}
		sum += n
	}
	return sum, true
}

// unsubscribeTarget is the subscription id `unsubscribe` params name: an array of one string.
func unsubscribeTarget(params json.RawMessage) (id string, ok bool) {
	var values []json.RawMessage
	if jsonKind(params) != '[' || json.Unmarshal(params, &values) != nil || len(values) != 1 {
		return "", false
	}
	if jsonKind(values[0]) != '"' || json.Unmarshal(values[0], &id) != nil {
		return "", false
	}
	return id, true
}

// rpcMessage is what one text message holds: a single request, or a batch of them.
type rpcMessage struct {
	single json.RawMessage   // the whole message when it is not an array
	batch  []json.RawMessage // the elements when it is
}

// parseMessage splits a text message into a single request or a batch's elements; the error
// reply when it is not JSON (-32700) or an empty array (-32600).
func parseMessage(data []byte) (rpcMessage, *rpcReply) {
	if !json.Valid(data) {
		return rpcMessage{}, errorReply(jsonNull, errParse)
	}
	if jsonKind(data) != '[' {
		return rpcMessage{single: data}, nil
	}
	var batch []json.RawMessage
	if json.Unmarshal(data, &batch) != nil {
		return rpcMessage{}, errorReply(jsonNull, errParse)
	}
	if len(batch) == 0 {
		return rpcMessage{}, errorReply(jsonNull, errInvalidRequest)
	}
	return rpcMessage{batch: batch}, nil
}

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/gorilla/websocket"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

type wsHandler struct {
	Route        string          `json:"route"`
	Behavior     string          `json:"behavior"`
	Schema       json.RawMessage `json:"schema"`
	Greeting     *wsMessage      `json:"greeting"`
	Subprotocols []string        `json:"subprotocols"`
	Auth         *struct {
		Query        map[string]string `json:"query"`
		Headers      map[string]string `json:"headers"`
		RejectStatus int               `json:"reject_status"`
	} `json:"auth"`
	Close *struct {
		After  int    `json:"after"`
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"close"`
	Drop *struct {
		After int `json:"after"`
	} `json:"drop"`
	Methods     map[string]rpcMethodSpec `json:"methods"`      // rpc
	HeartbeatMs int64                    `json:"heartbeat_ms"` // rpc
}

type wsMessage struct {
	Text         *string         `json:"text"`
	JSON         json.RawMessage `json:"json"`
	BinaryBase64 *string         `json:"binary_base64"`
}

// How long the server waits for the client's close frame after sending its own.
const closeGrace = time.Second

var upgrader = websocket.Upgrader{
	// The harness is the only client; any origin is fine.
	CheckOrigin: func(*http.Request) bool { return true },
}

// wsEndpoint is one WebSocket handler, ready to serve.
type wsEndpoint struct {
	h            *wsHandler
	schema       *jsonschema.Schema
	greetingType int
	greeting     []byte
	rpcMethods   map[string]*rpcMethod // the rpc behaviour's
}

func newWsEndpoint(h *wsHandler, schemas *schemaCompiler) (*wsEndpoint, error) {
	e := &wsEndpoint{h: h}
	switch h.Behavior {
	case "echo", "silent":
	case "rpc":
		methods, err := newRpcMethods(h.Methods)
		if err != nil {
			return nil, fmt.Errorf("methods: %w", err)
		}
		e.rpcMethods = methods
	case "validate":
		doc, err := parseSchema(h.Schema)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		if e.schema, err = schemas.compile(doc); err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
	default:
		return nil, fmt.Errorf("behavior %q unknown", h.Behavior)
	}
	if g := h.Greeting; g != nil {
		switch {
		case g.Text != nil:
			e.greetingType, e.greeting = websocket.TextMessage, []byte(*g.Text)
		case len(g.JSON) > 0:
			var b bytes.Buffer
			if err := json.Compact(&b, g.JSON); err != nil {
				return nil, fmt.Errorf("greeting: %w", err)
			}
			e.greetingType, e.greeting = websocket.TextMessage, b.Bytes()
		case g.BinaryBase64 != nil:
			data, err := base64.StdEncoding.DecodeString(*g.BinaryBase64)
			if err != nil {
				return nil, fmt.Errorf("greeting: %w", err)
			}
			e.greetingType, e.greeting = websocket.BinaryMessage, data
		}
	}
	return e, nil
}

// allowed tells whether every named query parameter and header has its value.
func (e *wsEndpoint) allowed(r *http.Request) bool {
	query := r.URL.Query()
	for name, want := range e.h.Auth.Query {
		if got, ok := query[name]; !ok || got[0] != want {
			return false
		}
	}
	for name, want := range e.h.Auth.Headers {
		if got := r.Header.Values(name); len(got) == 0 || got[0] != want {
			return false
		}
	}
	return true
}

// ServeHTTP checks auth, upgrades with the first subprotocol the client offers that the
// server speaks, then holds the conversation.
func (e *wsEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.h.Auth != nil && !e.allowed(r) {
		w.WriteHeader(e.h.Auth.RejectStatus)
		return
	}
	header := http.Header{}
	for _, offered := range websocket.Subprotocols(r) {
		if contains(e.h.Subprotocols, offered) {
			header.Set("Sec-WebSocket-Protocol", offered)
			break
		}
	}
	conn, err := upgrader.Upgrade(w, r, header)
	if err != nil {
		return // The upgrader has answered the request.
	}
	// Returning closes the TCP connection: without a close frame, that is a drop.
	defer conn.Close()
	// On shutdown, say so and end the connection.
	stop := context.AfterFunc(r.Context(), func() {
		deadline := time.Now().Add(100 * time.Millisecond)
		conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), deadline)
		conn.Close()
	})
	defer stop()
	e.converse(conn)
}

func (e *wsEndpoint) converse(conn *websocket.Conn) {
	if e.h.Behavior == "rpc" {
		serveRpc(conn, e.rpcMethods, e.h.HeartbeatMs)
		return
	}
	if e.greeting != nil {
		if err := conn.WriteMessage(e.greetingType, e.greeting); err != nil {
			return
		}
	}
	for answered := 0; ; answered++ {
		if c := e.h.Close; c != nil && c.After == answered {
			closeWith(conn, c.Code, c.Reason)
			return
		}
		if d := e.h.Drop; d != nil && d.After == answered {
			return
		}
		// Pings are answered by gorilla's default ping handler, a client's close frame by its
		// default close handler (with the same code); ReadMessage then fails.
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		switch e.h.Behavior {
		case "echo":
			err = conn.WriteMessage(kind, data)
		case "validate":
			err = conn.WriteMessage(websocket.TextMessage, marshal(e.validate(kind, data)))
		}
		if err != nil {
			return
		}
	}
}

type wsError struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// validate answers one message of the validate behaviour.
func (e *wsEndpoint) validate(kind int, data []byte) any {
	if kind != websocket.TextMessage {
		return map[string]any{"type": "error", "title": "Unsupported message type"}
	}
	value, err := parseSchema(data)
	if err != nil {
		return map[string]any{"type": "error", "title": "Malformed message"}
	}
	var errs []wsError
	schemaErrors(e.schema, value, func(pointer, message string) {
		errs = append(errs, wsError{pointer, message})
	})
	if len(errs) == 0 {
		return struct {
			Type    string          `json:"type"`
			Message json.RawMessage `json:"message"`
		}{"ack", data}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Pointer < errs[j].Pointer })
	unique := errs[:0]
	for i, x := range errs {
		if i == 0 || x.Pointer != errs[i-1].Pointer {
			unique = append(unique, x)
		}
	}
	return struct {
		Type   string    `json:"type"`
		Title  string    `json:"title"`
		Errors []wsError `json:"errors"`
	}{"error", "Message validation failed", unique}
}

// closeWith sends a close frame, then waits (bounded) for the client's.
func closeWith(conn *websocket.Conn, code int, reason string) {
	deadline := time.Now().Add(closeGrace)
	if err := conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline); err != nil {
		return
	}
	conn.SetReadDeadline(deadline)
	for {
		if _, _, err := conn.NextReader(); err != nil {
			return
		}
	}
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}

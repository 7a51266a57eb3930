package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type sseHandler struct {
	Route   string    `json:"route"`
	Events  []sseItem `json:"events"`
	Counter *struct {
		Count          *uint64 `json:"count"`
		Event          string  `json:"event"`
		TimestampField string  `json:"timestamp_field"`
	} `json:"counter"`
	IntervalMS int64  `json:"interval_ms"`
	Resume     bool   `json:"resume"`
	End        string `json:"end"`
}

type sseItem struct {
	ID      *string         `json:"id"`
	Event   string          `json:"event"`
	Retry   *int64          `json:"retry"`
	Data    *string         `json:"data"`
	JSON    json.RawMessage `json:"json"`
	Comment *string         `json:"comment"`
}

// sseEndpoint is one SSE handler, its listed items pre-rendered in the wire format.
type sseEndpoint struct {
	items    []renderedItem
	counter  bool
	count    *uint64 // nil: without end
	prefix   string  // "event: <event>\n" of counter events, or empty
	tsKey    string  // `,"<timestamp_field>":`, or empty
	interval time.Duration
	resume   bool
	hold     bool
}

type renderedItem struct {
	id   *string // comments have none
	wire []byte
}

func newSseEndpoint(h *sseHandler) (*sseEndpoint, error) {
	e := &sseEndpoint{
		interval: time.Duration(h.IntervalMS) * time.Millisecond,
		resume:   h.Resume,
		hold:     h.End == "hold",
	}
	for i, item := range h.Events {
		wire, err := renderItem(&item)
		if err != nil {
			return nil, fmt.Errorf("events/%d: %w", i, err)
		}
		id := item.ID
		if item.Comment != nil {
			id = nil
		}
		e.items = append(e.items, renderedItem{id, wire})
	}
	if c := h.Counter; c != nil {
		e.counter, e.count = true, c.Count
		if c.Event != "" {
			e.prefix = "event: " + c.Event + "\n"
		}
		if c.TimestampField != "" {
			e.tsKey = "," + string(marshal(c.TimestampField)) + ":"
		}
	}
	return e, nil
}

// renderItem writes an event (id, event, retry, data lines or compact JSON) or a comment.
func renderItem(item *sseItem) ([]byte, error) {
	var b bytes.Buffer
	if item.Comment != nil {
		b.WriteString(": " + *item.Comment + "\n\n")
		return b.Bytes(), nil
	}
	if item.ID != nil {
		b.WriteString("id: " + *item.ID + "\n")
	}
	if item.Event != "" {
		b.WriteString("event: " + item.Event + "\n")
	}
	if item.Retry != nil {
		b.WriteString("retry: " + strconv.FormatInt(*item.Retry, 10) + "\n")
	}
	if item.Data != nil {
		data := strings.ReplaceAll(*item.Data, "\r\n", "\n")
		data = strings.ReplaceAll(data, "\r", "\n")
		for _, line := range strings.Split(data, "\n") {
			b.WriteString("data: " + line + "\n")
		}
	} else if len(item.JSON) > 0 {
		b.WriteString("data: ")
		if err := json.Compact(&b, item.JSON); err != nil {
			return nil, err
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func (e *sseEndpoint) counts(n uint64) bool {
	return e.counter && (e.count == nil || n <= *e.count)
}

func (e *sseEndpoint) renderCount(n uint64) []byte {
	s := "id: " + strconv.FormatUint(n, 10) + "\n" + e.prefix + `data: {"n":` + strconv.FormatUint(n, 10)
	if e.tsKey != "" {
		s += e.tsKey + strconv.FormatInt(time.Now().UnixMicro(), 10)
	}
	return []byte(s + "}\n\n")
}

// start is where the stream begins: after the item Last-Event-ID names (listed ids first, then
// counter ids), when resuming; from the beginning otherwise.
func (e *sseEndpoint) start(r *http.Request) (index int, n uint64) {
	lastIDs, ok := r.Header["Last-Event-Id"]
	if !e.resume || !ok || len(lastIDs) == 0 {
		return 0, 1
	}
	last := lastIDs[0]
	for i, item := range e.items {
		if item.id != nil && *item.id == last {
			return i + 1, 1
		}
	}
	if n, err := strconv.ParseUint(last, 10, 64); err == nil && n >= 1 &&
		strconv.FormatUint(n, 10) == last && e.counts(n) {
		return len(e.items), n + 1
	}
	return 0, 1
}

// ServeHTTP streams the items, pausing interval before each but the first, until the last
// one (then closes or holds) or until the client leaves or the server stops.
func (e *sseEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	header := w.Header()
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	index, n := e.start(r)
	var timer *time.Timer
	for first := true; ; first = false {
		listed := index < len(e.items)
		if !listed && !e.counts(n) {
			break
		}
		if !first && e.interval > 0 {
			if timer == nil {
				timer = time.NewTimer(e.interval)
				defer timer.Stop()
			} else {
				timer.Reset(e.interval)
			}
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		var wire []byte
		if listed {
			wire = e.items[index].wire
			index++
		} else {
			wire = e.renderCount(n)
			n++
		}
		if _, err := w.Write(wire); err != nil {
			return
		}
		flusher.Flush()
	}
	if e.hold {
		<-ctx.Done()
	}
}

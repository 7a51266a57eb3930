package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type streamSpec struct {
	Format     string            `json:"format"`
	Items      []json.RawMessage `json:"items"`
	IntervalMS int64             `json:"interval_ms"`
}

// streamReply is response.stream: its items rendered once, written and flushed one by one.
type streamReply struct {
	contentType string
	items       [][]byte
	interval    time.Duration
}

func newStreamReply(spec *streamSpec) (*streamReply, error) {
	s := &streamReply{interval: time.Duration(spec.IntervalMS) * time.Millisecond}
	var render func(json.RawMessage) ([]byte, error)
	switch spec.Format {
	case "ndjson":
		s.contentType, render = "application/x-ndjson", ndjsonLine
	case "csv":
		s.contentType, render = "text/csv; charset=utf-8", csvLine
	case "text":
		s.contentType = "text/plain; charset=utf-8"
		render = func(item json.RawMessage) ([]byte, error) {
			var text string
			err := json.Unmarshal(item, &text)
			return []byte(text), err
		}
	default:
		return nil, fmt.Errorf("response.stream.format %q unknown", spec.Format)
	}
	for i, item := range spec.Items {
		line, err := render(item)
		if err != nil {
			return nil, fmt.Errorf("response.stream.items/%d: %w", i, err)
		}
		s.items = append(s.items, line)
	}
	return s, nil
}

// ndjsonLine is an item as compact JSON and LF.
func ndjsonLine(item json.RawMessage) ([]byte, error) {
	var line bytes.Buffer
	if err := json.Compact(&line, item); err != nil {
		return nil, err
	}
	line.WriteByte('\n')
	return line.Bytes(), nil
}

// csvLine is an array of strings, numbers and booleans as one RFC 4180 line ending in CRLF.
// encoding/csv is not used: it also quotes a field that starts with a space, and its UseCRLF
// turns an LF inside a quoted field into CRLF; the vocabulary quotes only fields holding a
// comma, a quote, CR or LF, and keeps them as they are.
func csvLine(item json.RawMessage) ([]byte, error) {
	var fields []json.RawMessage
	if err := json.Unmarshal(item, &fields); err != nil {
		return nil, err
	}
	var line bytes.Buffer
	for i, raw := range fields {
		if i > 0 {
			line.WriteByte(',')
		}
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			// A number or boolean: its JSON text, as written in the fixture.
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				return nil, err
			}
			text = compact.String()
		}
		if strings.ContainsAny(text, ",\"\r\n") {
			text = `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
		}
		line.WriteString(text)
	}
	line.WriteString("\r\n")
	return line.Bytes(), nil
}

// write sends the head at once (so the reply has no Content-Length and is chunked on HTTP/1.1,
// even when empty), then each item flushed with http.ResponseController, interval apart. A
// client that leaves cancels the request context and ends the stream.
func (s *streamReply) write(w http.ResponseWriter, r *http.Request, status int) {
	flusher := http.NewResponseController(w)
	w.WriteHeader(status)
	if err := flusher.Flush(); err != nil {
		return
	}
	timer := time.NewTimer(s.interval)
	defer timer.Stop()
	for i, item := range s.items {
		if i > 0 && s.interval > 0 {
			timer.Reset(s.interval)
			select {
			case <-r.Context().Done():
				return
			case <-timer.C:
			}
		}
		if _, err := w.Write(item); err != nil {
			return
		}
		if err := flusher.Flush(); err != nil {
			return
		}
	}
}

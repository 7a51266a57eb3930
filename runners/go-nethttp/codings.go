package main

// Content codings of request bodies (body.content_encodings) and of replies (response.compress),
// with compress/gzip, compress/zlib and andybalholm/brotli.
//
// Written here rather than taken from a middleware: net/http decodes no request body and encodes
// no reply, and the well-kept middleware for it, klauspost/compress/gzhttp, codes gzip and zstd
// only (not deflate or br), encodes error replies too, and decodes gzip uploads without refusing
// other codings. The vocabulary wants gzip, deflate and br negotiated per handler, 4xx replies
// never encoded, and an unlisted upload coding refused with 415 and Accept-Encoding.

import (
	"bufio"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// knownCodings are the codings the vocabulary names, in a handler's lists.
var knownCodings = map[string]bool{"gzip": true, "deflate": true, "br": true}

// canonicalCoding lower-cases a coding name and maps the alias x-gzip to gzip (RFC 9110
// section 8.4.1.3).
func canonicalCoding(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "x-gzip" {
		return "gzip"
	}
	return name
}

// codingRule is what a handler decodes: body.content_encodings.
type codingRule struct {
	listed map[string]bool
	accept string // the Accept-Encoding of a 415 reply
}

func newCodingRule(names []string) (codingRule, error) {
	rule := codingRule{listed: map[string]bool{}, accept: "identity"}
	for _, name := range names {
		if !knownCodings[name] {
			return rule, fmt.Errorf("body.content_encodings: unknown coding %q", name)
		}
		rule.listed[name] = true
	}
	if len(names) > 0 {
		rule.accept = strings.Join(names, ", ")
	}
	return rule, nil
}

// check reads the request's Content-Encoding, in the order the codings were applied. A coding
// the handler does not list is 415 with Accept-Encoding naming the ones it does (RFC 9110
// section 15.5.16); identity is always accepted.
func (c codingRule) check(w http.ResponseWriter, header http.Header) ([]string, *problem) {
	var codings []string
	for _, value := range header.Values("Content-Encoding") {
		for _, name := range strings.Split(value, ",") {
			name = canonicalCoding(name)
			if name == "" || name == "identity" {
				continue
			}
			if !c.listed[name] {
				w.Header().Set("Accept-Encoding", c.accept)
				return nil, errMediaType
			}
			codings = append(codings, name)
		}
	}
	return codings, nil
}

// decodeBody undoes codings (listed in the order they were applied), the last one first. An
// empty body gives io.EOF: it is no body, whatever its Content-Encoding says.
func decodeBody(body io.Reader, codings []string) (io.Reader, error) {
	if len(codings) == 0 {
		return body, nil
	}
	buffered := bufio.NewReader(body)
	if _, err := buffered.Peek(1); err != nil {
		return nil, err
	}
	var reader io.Reader = buffered
	for i := len(codings) - 1; i >= 0; i-- {
		var err error
		switch codings[i] {
		case "gzip":
			reader, err = gzip.NewReader(reader)
		case "deflate":
			reader, err = zlib.NewReader(reader)
		case "br":
			reader = brotli.NewReader(reader)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", codings[i], noEOF(err))
		}
	}
	return reader, nil
}

// noEOF turns an io.EOF met inside a coded body into an unexpected end.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

type compressSpec struct {
	MinBytes  int      `json:"min_bytes"`
	Encodings []string `json:"encodings"`
}

// compressRule is response.compress: which codings a reply may be sent in, from what size.
type compressRule struct {
	minBytes  int
	encodings []string // in the handler's order of preference
}

func newCompressRule(spec *compressSpec) (*compressRule, error) {
	rule := &compressRule{minBytes: spec.MinBytes, encodings: spec.Encodings}
	if len(rule.encodings) == 0 {
		rule.encodings = []string{"gzip"}
	}
	for _, name := range rule.encodings {
		if !knownCodings[name] {
			return nil, fmt.Errorf("response.compress: unknown coding %q", name)
		}
	}
	return rule, nil
}

// choose returns the coding of a reply, or "" to send it as is: none for a 4xx reply, an empty
// body or one shorter than min_bytes, else the handler's coding with the highest q-value in
// Accept-Encoding (RFC 9110 section 12.5.3: q=0 refuses, "*" stands for codings not named), ties
// going to the handler's order.
func (c *compressRule) choose(acceptEncoding []string, status, size int) string {
	if status >= 400 && status < 500 || size == 0 || size < c.minBytes {
		return ""
	}
	named, star, hasStar := parseAcceptEncoding(acceptEncoding)
	best, bestQ := "", 0.0
	for _, coding := range c.encodings {
		q, ok := named[coding]
		if !ok && hasStar {
			q = star
		}
		if q > bestQ {
			best, bestQ = coding, q
		}
	}
	return best
}

// parseAcceptEncoding reads Accept-Encoding lines into each named coding's q-value (the first
// mention counts) and the q-value of "*". An element with an invalid q-value is ignored.
func parseAcceptEncoding(values []string) (named map[string]float64, star float64, hasStar bool) {
	named = map[string]float64{}
	for _, value := range values {
		for _, element := range strings.Split(value, ",") {
			name, params, _ := strings.Cut(element, ";")
			name = canonicalCoding(name)
			q, ok := qValue(params)
			switch {
			case !ok || name == "":
			case name == "*":
				if !hasStar {
					star, hasStar = q, true
				}
			default:
				if _, seen := named[name]; !seen {
					named[name] = q
				}
			}
		}
	}
	return named, star, hasStar
}

// qValue reads the weight of an Accept-Encoding element's parameters: 1 when absent.
func qValue(params string) (float64, bool) {
	for _, param := range strings.Split(params, ";") {
		key, value, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(key), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		return q, err == nil && q >= 0 && q <= 1
	}
	return 1, true
}

// encoder is a compressing writer that can be reused for another reply.
type encoder interface {
	io.WriteCloser
	Reset(io.Writer)
}

// encoders pools a writer per coding, as compression middleware does: a gzip writer holds
// hundreds of kilobytes of state.
var encoders = map[string]*sync.Pool{
	"gzip":    {New: func() any { return gzip.NewWriter(nil) }},
	"deflate": {New: func() any { return zlib.NewWriter(nil) }},
	"br":      {New: func() any { return brotli.NewWriter(nil) }},
}

// writeEncoded writes body to w in a coding that choose returned.
func writeEncoded(w io.Writer, coding string, body []byte) error {
	pool := encoders[coding]
	enc := pool.Get().(encoder)
	defer pool.Put(enc)
	enc.Reset(w)
	if _, err := enc.Write(body); err != nil {
		return err
	}
	return enc.Close()
}

// addVary adds a field name to the reply's Vary, on one line, once.
func addVary(header http.Header, name string) {
	current := header.Get("Vary")
	for _, field := range strings.Split(current, ",") {
		if strings.EqualFold(strings.TrimSpace(field), name) {
			return
		}
	}
	if current == "" {
		header.Set("Vary", name)
	} else {
		header.Set("Vary", current+", "+name)
	}
}

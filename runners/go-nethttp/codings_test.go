package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestChooseNegotiatesAcceptEncoding(t *testing.T) {
	gzipOnly := &compressRule{minBytes: 10, encodings: []string{"gzip"}}
	both := &compressRule{encodings: []string{"br", "gzip"}}
	cases := []struct {
		rule   *compressRule
		accept string
		status int
		size   int
		want   string
	}{
		{gzipOnly, "gzip", 200, 10, "gzip"},
		{gzipOnly, "gzip", 200, 9, ""},          // below min_bytes
		{gzipOnly, "gzip", 422, 100, ""},        // 4xx never encoded
		{gzipOnly, "", 200, 100, ""},            // no header
		{gzipOnly, "identity", 200, 100, ""},    // only identity
		{gzipOnly, "br", 200, 100, ""},          // not offered
		{gzipOnly, "*", 200, 100, "gzip"},       // any coding
		{gzipOnly, "gzip;q=0, *", 200, 100, ""}, // named q=0 beats "*"
		{gzipOnly, "gzip;q=0, identity", 200, 100, ""},
		{gzipOnly, "GZIP", 200, 100, "gzip"},
		{gzipOnly, "x-gzip", 200, 100, "gzip"},
		{gzipOnly, "gzip;q=2", 200, 100, ""}, // invalid q: element ignored
		{both, "br;q=1.0, gzip;q=0.5", 200, 1, "br"},
		{both, "br;q=0.4, gzip;q=0.5", 200, 1, "gzip"},
		{both, "gzip, br", 200, 1, "br"}, // tie: the handler's order
		{both, "*;q=0.3, gzip", 200, 1, "gzip"},
	}
	for _, c := range cases {
		got := c.rule.choose([]string{c.accept}, c.status, c.size)
		if got != c.want {
			t.Errorf("choose(%q, %d, %d) = %q, want %q", c.accept, c.status, c.size, got, c.want)
		}
	}
}

func TestWriteEncodedRoundTrips(t *testing.T) {
	body := []byte(strings.Repeat("the quick brown fox ", 50))
	readers := map[string]func(io.Reader) (io.Reader, error){
		"gzip":    func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
		"deflate": func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) },
		"br":      func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	}
	for coding, open := range readers {
		for round := 0; round < 2; round++ { // the second round reuses a pooled writer
			var encoded bytes.Buffer
			if err := writeEncoded(&encoded, coding, body); err != nil {
				t.Fatalf("%s: %v", coding, err)
			}
			reader, err := open(&encoded)
			if err != nil {
				t.Fatalf("%s: %v", coding, err)
			}
			decoded, err := io.ReadAll(reader)
			if err != nil || !bytes.Equal(decoded, body) {
				t.Fatalf("%s: decoded %d bytes (%v), want the %d sent", coding, len(decoded), err, len(body))
			}
		}
	}
}

func TestCodingRuleRefusesUnlistedCodings(t *testing.T) {
	gzipRule, _ := newCodingRule([]string{"gzip"})
	none, _ := newCodingRule(nil)
	cases := []struct {
		rule     codingRule
		encoding string
		refused  bool
		accept   string
	}{
		{gzipRule, "gzip", false, ""},
		{gzipRule, "identity", false, ""},
		{gzipRule, "br", true, "gzip"},
		{gzipRule, "gzip, br", true, "gzip"},
		{none, "gzip", true, "identity"},
		{none, "identity", false, ""},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		_, p := c.rule.check(w, http.Header{"Content-Encoding": {c.encoding}})
		if (p != nil) != c.refused || w.Header().Get("Accept-Encoding") != c.accept {
			t.Errorf("%q: refused %v with Accept-Encoding %q, want %v and %q",
				c.encoding, p != nil, w.Header().Get("Accept-Encoding"), c.refused, c.accept)
		}
	}
}

func TestReadDecodedBoundsTheDecodedSize(t *testing.T) {
	var packed bytes.Buffer
	zw := gzip.NewWriter(&packed)
	zw.Write(bytes.Repeat([]byte("a"), 5000))
	zw.Close()
	w := httptest.NewRecorder()
	if _, p := readDecoded(w, io.NopCloser(bytes.NewReader(packed.Bytes())), []string{"gzip"}, 1024); p != errTooLarge {
		t.Errorf("a body inflating past max_bytes: %v, want 413", p)
	}
	if data, p := readDecoded(w, io.NopCloser(bytes.NewReader(packed.Bytes())), []string{"gzip"}, 8192); p != nil || len(data) != 5000 {
		t.Errorf("a body within max_bytes: %d bytes, %v", len(data), p)
	}
	if _, p := readDecoded(w, io.NopCloser(strings.NewReader(`{"n":1}`)), []string{"gzip"}, 1024); p != errMalformed {
		t.Errorf("plain JSON claimed as gzip: %v, want 400", p)
	}
	if data, p := readDecoded(w, io.NopCloser(strings.NewReader("")), []string{"gzip"}, 1024); p != nil || data != nil {
		t.Errorf("an empty body claimed as gzip: %q, %v, want no body", data, p)
	}
}

func TestAddVaryKeepsOneLine(t *testing.T) {
	header := http.Header{}
	addVary(header, "Origin")
	addVary(header, "Accept-Encoding")
	addVary(header, "origin")
	if got := header.Values("Vary"); len(got) != 1 || got[0] != "Origin, Accept-Encoding" {
		t.Errorf("Vary = %q", got)
	}
}

package main

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestCsvLineQuotesOnlyWhatRFC4180Needs(t *testing.T) {
	cases := map[string]string{
		`["id", "name", "note"]`:       "id,name,note\r\n",
		`[2, "smith, john", 1.5]`:      "2,\"smith, john\",1.5\r\n",
		`[3, "say \"hi\"", false]`:     "3,\"say \"\"hi\"\"\",false\r\n",
		`[4, "two\nlines", true]`:      "4,\"two\nlines\",true\r\n",
		`[" leading space", "", "\r"]`: " leading space,,\"\r\"\r\n",
	}
	for item, want := range cases {
		got, err := csvLine(json.RawMessage(item))
		if err != nil || string(got) != want {
			t.Errorf("csvLine(%s) = %q (%v), want %q", item, got, err, want)
		}
	}
	if _, err := csvLine(json.RawMessage(`{"not": "an array"}`)); err == nil {
		t.Error("csvLine accepted an object")
	}
}

func TestStreamWritesEveryItemWithoutContentLength(t *testing.T) {
	s, err := newStreamReply(&streamSpec{Format: "ndjson",
		Items: []json.RawMessage{json.RawMessage(`{ "n": 1 }`), json.RawMessage(`[1, "é"]`)}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.write(w, httptest.NewRequest("GET", "/", nil), 200)
	if got := w.Body.String(); got != "{\"n\":1}\n[1,\"é\"]\n" {
		t.Errorf("body %q", got)
	}
	if !w.Flushed || w.Header().Get("Content-Length") != "" {
		t.Errorf("flushed %v, Content-Length %q", w.Flushed, w.Header().Get("Content-Length"))
	}
	empty, _ := newStreamReply(&streamSpec{Format: "text"})
	w = httptest.NewRecorder()
	empty.write(w, httptest.NewRequest("GET", "/", nil), 200)
	if !w.Flushed || w.Body.Len() != 0 {
		t.Errorf("an empty stream: flushed %v, %d bytes", w.Flushed, w.Body.Len())
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/textproto"
	"sort"
	"testing"
)

// uploadRule is the body of fixtures/rest/multipart: a title field, a required avatar image of
// at most 64 bytes, optional attachments.
func uploadRule(t *testing.T) *bodyRule {
	t.Helper()
	var spec bodySpec
	err := json.Unmarshal([]byte(`{"media": "multipart", "max_bytes": 8192,
		"schema": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"},
			"rating": {"type": "integer", "maximum": 5}}},
		"files": {"avatar": {"max_bytes": 64, "content_types": ["image/png"]},
			"attachments": {"required": false, "multiple": true}}}`), &spec)
	if err != nil {
		t.Fatal(err)
	}
	rule, err := newBodyRule(&spec, newSchemaCompiler())
	if err != nil {
		t.Fatal(err)
	}
	return rule
}

type part struct{ name, filename, contentType, data string }

func multipartBody(t *testing.T, parts ...part) ([]byte, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range parts {
		header := textproto.MIMEHeader{}
		disposition := `form-data; name="` + p.name + `"`
		if p.filename != "" {
			disposition += `; filename="` + p.filename + `"`
		}
		header.Set("Content-Disposition", disposition)
		if p.contentType != "" {
			header.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(header)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(p.data))
	}
	mw.Close()
	return body.Bytes(), mw.FormDataContentType()
}

func TestMultipartEcho(t *testing.T) {
	body, contentType := multipartBody(t, part{"title", "", "", "holiday"}, part{"rating", "", "", "4"},
		part{"avatar", "dir/a.png", "image/png", "png"}, part{"attachments", "n.txt", "", "x"})
	var errs []fieldError
	echo, p := uploadRule(t).readMultipart(body, contentType, &errs)
	if p != nil || len(errs) > 0 {
		t.Fatalf("problem %v, errors %v", p, errs)
	}
	want := `{"fields":{"rating":4,"title":"holiday"},"files":{"attachments":[{"filename":"n.txt",` +
		`"content_type":null,"size":1,"sha256":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"}],` +
		`"avatar":{"filename":"dir/a.png","content_type":"image/png","size":3,` +
		`"sha256":"8f8cbb7dcf46e0bc7d53265749a6c17d116093a6ba95e442764060c76fd4a86c"}}}`
	if got := string(marshal(echo)); got != want {
		t.Errorf("echo\n got %s\nwant %s", got, want)
	}
}

func TestMultipartErrors(t *testing.T) {
	big := string(bytes.Repeat([]byte("a"), 65))
	body, contentType := multipartBody(t, part{"rating", "", "", "five"},
		part{"attachments", "a", "text/plain", "1"}, part{"avatar", "a.gif", "image/gif", "gif"})
	var errs []fieldError
	if _, p := uploadRule(t).readMultipart(body, contentType, &errs); p != nil {
		t.Fatal(p)
	}
	pointers := []string{}
	for _, e := range errs {
		pointers = append(pointers, e.Pointer)
	}
	sort.Strings(pointers)
	if got := string(marshal(pointers)); got != `["/avatar","/rating","/title"]` {
		t.Errorf("pointers %s", got)
	}

	body, contentType = multipartBody(t, part{"title", "", "", "x"}, part{"avatar", "a.png", "image/png", big})
	errs = nil
	uploadRule(t).readMultipart(body, contentType, &errs)
	if len(errs) != 1 || errs[0].Pointer != "/avatar" {
		t.Errorf("a file over max_bytes: %v", errs)
	}

	errs = nil
	if _, p := uploadRule(t).readMultipart([]byte("not multipart"), "multipart/form-data; boundary=x", &errs); p != errMalformed {
		t.Errorf("a broken body: %v, want 400", p)
	}
	if _, p := uploadRule(t).readMultipart(body, "multipart/form-data", &errs); p != errMalformed {
		t.Errorf("no boundary: %v, want 400", p)
	}
}

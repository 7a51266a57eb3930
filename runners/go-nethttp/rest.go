package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"unicode/utf8"
)

type restHandler struct {
	Method string `json:"method"`
	Route  string `json:"route"`
	Params struct {
		Path    json.RawMessage `json:"path"`
		Query   json.RawMessage `json:"query"`
		Headers json.RawMessage `json:"headers"`
		Cookies json.RawMessage `json:"cookies"`
	} `json:"params"`
	Body     *bodySpec    `json:"body"`
	Response responseSpec `json:"response"`
	CORS     *corsSpec    `json:"cors"`
}

type responseSpec struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Cookies []cookieSpec      `json:"cookies"`
	JSON    json.RawMessage   `json:"json"`
	Text    *string           `json:"text"`
	Echo    bool              `json:"echo"`
	// Compress and Stream exclude each other; Stream excludes JSON, Text and Echo.
	Compress *compressSpec `json:"compress"`
	Stream   *streamSpec   `json:"stream"`
}

type cookieSpec struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path"`
	Domain   string `json:"domain"`
	MaxAge   *int   `json:"max_age"`
	HTTPOnly bool   `json:"http_only"`
	Secure   bool   `json:"secure"`
	SameSite string `json:"same_site"`
}

// restEndpoint is one REST handler with its schemas compiled and its reply pre-rendered.
type restEndpoint struct {
	path     *paramSet
	echoPath bool // the echo document has a "path" key: the route has captures
	query    *paramSet
	headers  *paramSet
	cookies  *paramSet
	body     *bodyRule

	status   int
	header   http.Header
	static   []byte // the reply body, unless echo or stream
	echo     bool
	stream   *streamReply
	compress *compressRule // nil: replies are never encoded
}

func newRestEndpoint(h *restHandler, r *route, schemas *schemaCompiler) (*restEndpoint, error) {
	e := &restEndpoint{echoPath: len(r.captures) > 0}
	var err error
	if e.path, err = newPathSet(r, h.Params.Path, schemas); err != nil {
		return nil, err
	}
	if e.query, err = newParamSet(inQuery, h.Params.Query, schemas); err != nil {
		return nil, err
	}
	if e.headers, err = newParamSet(inHeaders, h.Params.Headers, schemas); err != nil {
		return nil, err
	}
	if e.cookies, err = newParamSet(inCookies, h.Params.Cookies, schemas); err != nil {
		return nil, err
	}
	if h.Body != nil {
		if e.body, err = newBodyRule(h.Body, schemas); err != nil {
			return nil, err
		}
	}
	return e, e.prepareReply(&h.Response)
}

func (e *restEndpoint) prepareReply(spec *responseSpec) error {
	e.status = spec.Status
	if e.status == 0 {
		e.status = http.StatusOK
	}
	e.header = http.Header{}
	switch {
	case !isAbsent(spec.JSON):
		var compact bytes.Buffer
		if err := json.Compact(&compact, spec.JSON); err != nil {
			return fmt.Errorf("response.json: %w", err)
		}
		e.header.Set("Content-Type", "application/json")
		e.static = compact.Bytes()
	case spec.Text != nil:
		e.header.Set("Content-Type", "text/plain; charset=utf-8")
		e.static = []byte(*spec.Text)
	case spec.Echo:
		e.header.Set("Content-Type", "application/json")
		e.echo = true
	case spec.Stream != nil:
		var err error
		if e.stream, err = newStreamReply(spec.Stream); err != nil {
			return err
		}
		e.header.Set("Content-Type", e.stream.contentType)
	}
	if spec.Compress != nil {
		var err error
		if e.compress, err = newCompressRule(spec.Compress); err != nil {
			return err
		}
	}
	for name, value := range spec.Headers {
		e.header.Set(name, value)
	}
	for _, c := range spec.Cookies {
		cookie := &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain,
			HttpOnly: c.HTTPOnly, Secure: c.Secure}
		if c.MaxAge != nil {
			cookie.MaxAge = *c.MaxAge
			if cookie.MaxAge <= 0 {
				cookie.MaxAge = -1 // net/http writes Max-Age=0 for a negative MaxAge
			}
		}
		switch c.SameSite {
		case "Strict":
			cookie.SameSite = http.SameSiteStrictMode
		case "Lax":
			cookie.SameSite = http.SameSiteLaxMode
		case "None":
			cookie.SameSite = http.SameSiteNoneMode
		}
		if err := cookie.Valid(); err != nil {
			log.Printf("cookie %q: %v", c.Name, err)
		}
		if v := cookie.String(); v != "" {
			e.header.Add("Set-Cookie", v)
		}
	}
	return nil
}

// ServeHTTP checks the body (413, 415, 400), then every parameter (422), then replies.
func (e *restEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.compress != nil {
		addVary(w.Header(), "Accept-Encoding") // on every reply, errors included
	}
	var errs []fieldError
	var body any
	if e.body != nil {
		var p *problem
		if body, p = e.body.read(w, r, &errs); p != nil {
			writeProblem(w, p)
			return
		}
	}

	var doc map[string]any
	if e.echo {
		doc = make(map[string]any, 5)
	}
	add := func(set *paramSet, key string, values func(string) []string) {
		if set == nil {
			return
		}
		object := set.collect(values)
		set.validate(object, &errs)
		if doc != nil && key != "" {
			doc[key] = object
		}
	}
	pathKey := ""
	if e.echoPath {
		pathKey = "path"
	}
	add(e.path, pathKey, func(name string) []string {
		// A capture that does not decode to UTF-8 is left out: a 422 at its pointer.
		if v := r.PathValue(name); utf8.ValidString(v) {
			return []string{v}
		}
		return nil
	})
	if e.query != nil {
		query := parsePairs(r.URL.RawQuery)
		add(e.query, "query", func(name string) []string { return query[name] })
	}
	add(e.headers, "headers", r.Header.Values)
	if e.cookies != nil {
		cookies := map[string][]string{}
		for _, c := range r.Cookies() {
			cookies[c.Name] = append(cookies[c.Name], c.Value)
		}
		add(e.cookies, "cookies", func(name string) []string { return cookies[name] })
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}

	if e.echo && e.body != nil {
		doc["body"] = body
	}
	e.reply(w, r, doc)
}

// reply writes the handler's response: its headers, then the stream, or the body encoded as
// response.compress and Accept-Encoding choose.
func (e *restEndpoint) reply(w http.ResponseWriter, r *http.Request, doc map[string]any) {
	header := w.Header()
	for name, values := range e.header {
		if name == "Vary" {
			addVary(header, values[0])
			continue
		}
		header[name] = values[:len(values):len(values)]
	}
	if e.stream != nil {
		e.stream.write(w, r, e.status)
		return
	}
	payload := e.static
	if e.echo {
		payload = marshal(doc)
	}
	if e.compress != nil {
		if coding := e.compress.choose(r.Header.Values("Accept-Encoding"), e.status, len(payload)); coding != "" {
			header.Set("Content-Encoding", coding)
			w.WriteHeader(e.status)
			if err := writeEncoded(w, coding, payload); err != nil {
				log.Printf("%s %s: %s reply: %v", r.Method, r.URL.Path, coding, err)
			}
			return
		}
	}
	w.WriteHeader(e.status)
	if len(payload) > 0 {
		w.Write(payload)
	}
}

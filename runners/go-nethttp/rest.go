package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Bodies of handlers without max_bytes are still bounded.
const defaultMaxBodyBytes = 16 << 20

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
}

type bodySpec struct {
	Media    string          `json:"media"`
	Schema   json.RawMessage `json:"schema"`
	Required *bool           `json:"required"`
	MaxBytes int64           `json:"max_bytes"`
}

type responseSpec struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Cookies []cookieSpec      `json:"cookies"`
	JSON    json.RawMessage   `json:"json"`
	Text    *string           `json:"text"`
	Echo    bool              `json:"echo"`
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

	status int
	header http.Header
	static []byte // the reply body, unless echo
	echo   bool
}

type bodyRule struct {
	media    string
	required bool
	maxBytes int64
	schema   *jsonschema.Schema
	form     *paramSet // how form fields are coerced
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

func newBodyRule(spec *bodySpec, schemas *schemaCompiler) (*bodyRule, error) {
	rule := &bodyRule{media: spec.Media, required: spec.Required == nil || *spec.Required, maxBytes: spec.MaxBytes}
	if rule.maxBytes <= 0 {
		rule.maxBytes = defaultMaxBodyBytes
	}
	switch rule.media {
	case "json", "form", "text":
	default:
		return nil, fmt.Errorf("body.media %q unknown", rule.media)
	}
	var doc any
	if !isAbsent(spec.Schema) {
		var err error
		if doc, err = parseSchema(spec.Schema); err != nil {
			return nil, err
		}
		if rule.schema, err = schemas.compile(doc); err != nil {
			return nil, fmt.Errorf("body.schema: %w", err)
		}
	}
	if rule.media == "form" {
		object, _ := doc.(map[string]any)
		_, declared := object["properties"]
		rule.form = &paramSet{loc: inBody, props: propertiesOf(doc), keepAll: !declared}
	}
	return rule, nil
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

	header := w.Header()
	for name, values := range e.header {
		header[name] = values[:len(values):len(values)]
	}
	w.WriteHeader(e.status)
	if e.echo {
		if e.body != nil {
			doc["body"] = body
		}
		w.Write(marshal(doc))
	} else if len(e.static) > 0 {
		w.Write(e.static)
	}
}

// read reads and decodes the body: its value (nil when absent), or the problem to answer. A
// missing required body or a schema violation is added to errs.
func (rule *bodyRule) read(w http.ResponseWriter, r *http.Request, errs *[]fieldError) (any, *problem) {
	if r.ContentLength > rule.maxBytes {
		return nil, errTooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rule.maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		return nil, errMalformed
	}
	if len(data) == 0 {
		if rule.required {
			*errs = append(*errs, fieldError{In: inBody, Pointer: "", Message: "a request body is required"})
		}
		return nil, nil
	}
	if !accepts(rule.media, r.Header.Get("Content-Type")) {
		return nil, errMediaType
	}
	if !utf8.Valid(data) {
		return nil, errMalformed
	}
	var value, echo any
	switch rule.media {
	case "json":
		parsed, err := parseSchema(data)
		if err != nil {
			return nil, errMalformed
		}
		value, echo = parsed, parsed
	case "text":
		value = string(data)
		echo = value
	case "form":
		value = rule.form.collectPairs(parsePairs(string(data)))
		echo = value
	}
	if rule.schema != nil {
		schemaErrors(rule.schema, value, func(pointer, message string) {
			*errs = append(*errs, fieldError{In: inBody, Pointer: pointer, Message: message})
		})
	}
	return echo, nil
}

// accepts tells whether a content type fits a media: application/json or */*+json, the
// urlencoded form type, or any text/*. Parameters are ignored, names are case-insensitive.
func accepts(media, contentType string) bool {
	essence, _, _ := strings.Cut(contentType, ";")
	kind, subtype, ok := strings.Cut(strings.ToLower(strings.TrimSpace(essence)), "/")
	if !ok || kind == "" || subtype == "" {
		return false
	}
	switch media {
	case "json":
		return (kind == "application" && subtype == "json") ||
			(len(subtype) > len("+json") && strings.HasSuffix(subtype, "+json"))
	case "form":
		return kind == "application" && subtype == "x-www-form-urlencoded"
	case "text":
		return kind == "text"
	}
	return false
}

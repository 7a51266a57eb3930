package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Bodies of handlers without max_bytes are still bounded.
const defaultMaxBodyBytes = 16 << 20

type bodySpec struct {
	Media            string              `json:"media"`
	Schema           json.RawMessage     `json:"schema"`
	Required         *bool               `json:"required"`
	MaxBytes         int64               `json:"max_bytes"`
	Files            map[string]fileSpec `json:"files"`
	ContentEncodings []string            `json:"content_encodings"`
}

// bodyRule is a handler's body declaration, its schema compiled.
type bodyRule struct {
	media    string
	required bool
	maxBytes int64 // of the body as decoded
	schema   *jsonschema.Schema
	form     *paramSet  // how form (and multipart) fields are coerced
	files    []fileRule // multipart only, by name
	codings  codingRule // the Content-Encodings it decodes
}

func newBodyRule(spec *bodySpec, schemas *schemaCompiler) (*bodyRule, error) {
	rule := &bodyRule{media: spec.Media, required: spec.Required == nil || *spec.Required, maxBytes: spec.MaxBytes}
	if rule.maxBytes <= 0 {
		rule.maxBytes = defaultMaxBodyBytes
	}
	switch rule.media {
	case "json", "form", "text", "multipart":
	default:
		return nil, fmt.Errorf("body.media %q unknown", rule.media)
	}
	var err error
	if rule.codings, err = newCodingRule(spec.ContentEncodings); err != nil {
		return nil, err
	}
	var doc any
	if !isAbsent(spec.Schema) {
		if doc, err = parseSchema(spec.Schema); err != nil {
			return nil, err
		}
		if rule.schema, err = schemas.compile(doc); err != nil {
			return nil, fmt.Errorf("body.schema: %w", err)
		}
	}
	if rule.media == "form" || rule.media == "multipart" {
		object, _ := doc.(map[string]any)
		_, declared := object["properties"]
		rule.form = &paramSet{loc: inBody, props: propertiesOf(doc), keepAll: !declared}
	}
	rule.files = newFileRules(spec.Files)
	return rule, nil
}

// read reads, decodes and checks the body: its value for the echo document (nil when absent),
// or the problem to answer. A missing required body or a schema violation is added to errs.
//
// The checks run in the vocabulary's order on the decoded body: size (413), media type (415),
// syntax (400), then the schema (422). An unlisted Content-Encoding is 415 before all of them.
func (rule *bodyRule) read(w http.ResponseWriter, r *http.Request, errs *[]fieldError) (any, *problem) {
	codings, p := rule.codings.check(w, r.Header)
	if p != nil {
		return nil, p
	}
	if len(codings) == 0 && r.ContentLength > rule.maxBytes {
		return nil, errTooLarge
	}
	data, p := readDecoded(w, r.Body, codings, rule.maxBytes)
	if p != nil {
		return nil, p
	}
	if len(data) == 0 {
		if rule.required {
			*errs = append(*errs, fieldError{In: inBody, Pointer: "", Message: "a request body is required"})
		}
		return nil, nil
	}
	contentType := r.Header.Get("Content-Type")
	if !accepts(rule.media, contentType) {
		return nil, errMediaType
	}
	var value, echo any
	switch rule.media {
	case "multipart":
		return rule.readMultipart(data, contentType, errs)
	case "json":
		if !utf8.Valid(data) {
			return nil, errMalformed
		}
		parsed, err := parseSchema(data)
		if err != nil {
			return nil, errMalformed
		}
		value, echo = parsed, parsed
	case "text":
		if !utf8.Valid(data) {
			return nil, errMalformed
		}
		value = string(data)
		echo = value
	case "form":
		if !utf8.Valid(data) {
			return nil, errMalformed
		}
		value = rule.form.collectPairs(parsePairs(string(data)))
		echo = value
	}
	rule.validate(value, errs)
	return echo, nil
}

// validate checks a body value (or the fields of a multipart body) against body.schema.
func (rule *bodyRule) validate(value any, errs *[]fieldError) {
	if rule.schema == nil {
		return
	}
	schemaErrors(rule.schema, value, func(pointer, message string) {
		*errs = append(*errs, fieldError{In: inBody, Pointer: pointer, Message: message})
	})
}

// readDecoded reads the body through its content decoders, bounded by maxBytes of decoded bytes
// (so an upload cannot inflate past it): 413 past it, 400 when it does not decode.
func readDecoded(w http.ResponseWriter, body io.ReadCloser, codings []string, maxBytes int64) ([]byte, *problem) {
	decoded, err := decodeBody(body, codings)
	if errors.Is(err, io.EOF) {
		return nil, nil // an empty body with a Content-Encoding: still no body
	}
	if err != nil {
		return nil, errMalformed
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, io.NopCloser(decoded), maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		return nil, errMalformed
	}
	return data, nil
}

// accepts tells whether a content type fits a media: application/json or */*+json, the
// urlencoded form type, multipart/form-data, or any text/*. Parameters are ignored, names are
// case-insensitive.
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
	case "multipart":
		return kind == "multipart" && subtype == "form-data"
	case "text":
		return kind == "text"
	}
	return false
}

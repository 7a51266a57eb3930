package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The canonical error bodies of fixtures/README.md (RFC 9457 problem details).
var (
	payloadTooLarge      = []byte(`{"type":"urn:benchmark-harness:payload-too-large","title":"Payload too large","status":413}`)
	unsupportedMediaType = []byte(`{"type":"urn:benchmark-harness:unsupported-media-type","title":"Unsupported media type","status":415}`)
	malformedBody        = []byte(`{"type":"urn:benchmark-harness:malformed-body","title":"Malformed request body","status":400}`)
)

// problem is a canonical error reply: a status and its body.
type problem struct {
	status int
	body   []byte
}

var (
	errTooLarge  = &problem{http.StatusRequestEntityTooLarge, payloadTooLarge}
	errMediaType = &problem{http.StatusUnsupportedMediaType, unsupportedMediaType}
	errMalformed = &problem{http.StatusBadRequest, malformedBody}
)

func writeProblem(w http.ResponseWriter, p *problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.status)
	w.Write(p.body)
}

// fieldError is one entry of a 422 reply.
type fieldError struct {
	In      location `json:"in"`
	Pointer string   `json:"pointer"`
	Message string   `json:"message"`
}

type validationProblem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Errors []fieldError `json:"errors"`
}

// writeValidation answers 422: errors sorted by location then pointer, one per (location,
// pointer).
func writeValidation(w http.ResponseWriter, errs []fieldError) {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].In != errs[j].In {
			return errs[i].In < errs[j].In
		}
		return errs[i].Pointer < errs[j].Pointer
	})
	unique := errs[:0]
	for i, e := range errs {
		if i == 0 || e.In != errs[i-1].In || e.Pointer != errs[i-1].Pointer {
			unique = append(unique, e)
		}
	}
	writeProblem(w, &problem{http.StatusUnprocessableEntity, marshal(validationProblem{
		Type:   "urn:benchmark-harness:validation-error",
		Title:  "Request validation failed",
		Status: http.StatusUnprocessableEntity,
		Errors: unique,
	})})
}

var printer = message.NewPrinter(language.English)

// schemaErrors reports every error of v against schema as (pointer, message): a missing
// required property at the property's pointer, any other error at the value at fault.
func schemaErrors(schema *jsonschema.Schema, v any, report func(pointer, message string)) {
	err := schema.Validate(v)
	if err == nil {
		return
	}
	if ve, ok := err.(*jsonschema.ValidationError); ok {
		leaves(ve, report)
	} else {
		report("", err.Error())
	}
}

// leaves walks the error tree down through the groupings (the schema, $ref, allOf) to the
// keyword errors. anyOf, oneOf and the like are reported where they apply, not per branch.
func leaves(e *jsonschema.ValidationError, report func(pointer, message string)) {
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		if len(e.Causes) == 0 {
			report(pointer(e.InstanceLocation), e.ErrorKind.LocalizedString(printer))
		}
		for _, cause := range e.Causes {
			leaves(cause, report)
		}
	case *kind.Required:
		base := pointer(e.InstanceLocation)
		for _, name := range k.Missing {
			report(base+"/"+escapeToken(name), "missing required property "+name)
		}
	default:
		report(pointer(e.InstanceLocation), e.ErrorKind.LocalizedString(printer))
	}
}

func pointer(tokens []string) string {
	var b strings.Builder
	for _, token := range tokens {
		b.WriteByte('/')
		b.WriteString(escapeToken(token))
	}
	return b.String()
}

var tokenEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapeToken(token string) string { return tokenEscaper.Replace(token) }

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

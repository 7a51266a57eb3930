package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// location is where a parameter comes from, in the order 422 errors are sorted by.
type location int

const (
	inPath location = iota
	inQuery
	inHeaders
	inCookies
	inBody
)

var locationNames = [...]string{"path", "query", "headers", "cookies", "body"}

func (l location) MarshalJSON() ([]byte, error) { return json.Marshal(locationNames[l]) }

// types are the JSON types a raw string may be coerced to. A string that fits none stays a
// string, so that the schema's type check reports it at the property's pointer.
type types struct{ integer, number, boolean bool }

// typesOf reads a schema's "type": a name or a list of names.
func typesOf(schema any) types {
	var t types
	add := func(name any) {
		switch name {
		case "integer":
			t.integer = true
		case "number":
			t.number = true
		case "boolean":
			t.boolean = true
		}
	}
	if object, ok := schema.(map[string]any); ok {
		switch v := object["type"].(type) {
		case string:
			add(v)
		case []any:
			for _, name := range v {
				add(name)
			}
		}
	}
	return t
}

var (
	integerLiteral = regexp.MustCompile(`^-?[0-9]+$`)
	numberLiteral  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

// coerce turns one raw value into an integer (from -?[0-9]+), a number (a JSON number
// literal), a boolean (true or false) or leaves it a string.
func (t types) coerce(raw string) any {
	if t.integer && integerLiteral.MatchString(raw) {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return n
		}
		if n, err := strconv.ParseUint(raw, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(raw, 64); err == nil {
			return f
		}
	}
	if t.number && numberLiteral.MatchString(raw) {
		if _, err := strconv.ParseFloat(raw, 64); err == nil { // not out of range
			return json.Number(raw)
		}
	}
	if t.boolean {
		switch raw {
		case "true":
			return true
		case "false":
			return false
		}
	}
	return raw
}

// property is one declared parameter.
type property struct {
	name   string
	array  bool  // a repeated key collects every occurrence
	types  types // of the value, or of the items of an array
	def    any
	hasDef bool
}

func propertyOf(name string, schema any) property {
	p := property{name: name, types: typesOf(schema)}
	object, _ := schema.(map[string]any)
	switch t := object["type"].(type) {
	case string:
		p.array = t == "array"
	case []any:
		for _, name := range t {
			p.array = p.array || name == "array"
		}
	}
	if p.array {
		p.types = typesOf(object["items"])
	}
	p.def, p.hasDef = object["default"]
	return p
}

// paramSet is one location's declared properties and its compiled schema.
type paramSet struct {
	loc    location
	props  []property
	schema *jsonschema.Schema
	// keepAll keeps every key, first occurrence, as a string: a form schema without properties.
	keepAll bool
}

// propertiesOf lists the properties of an object schema.
func propertiesOf(schema any) []property {
	object, _ := schema.(map[string]any)
	declared, _ := object["properties"].(map[string]any)
	props := make([]property, 0, len(declared))
	for name, s := range declared {
		props = append(props, propertyOf(name, s))
	}
	return props
}

// newParamSet prepares a params.query|headers|cookies schema; nil when not declared.
func newParamSet(loc location, raw json.RawMessage, schemas *schemaCompiler) (*paramSet, error) {
	if isAbsent(raw) {
		return nil, nil
	}
	doc, err := parseSchema(raw)
	if err != nil {
		return nil, err
	}
	compiled, err := schemas.compile(doc)
	if err != nil {
		return nil, fmt.Errorf("params.%s: %w", locationNames[loc], err)
	}
	return &paramSet{loc: loc, props: propertiesOf(doc), schema: compiled}, nil
}

// newPathSet types the route's captures and adds the constraints of params.path. An untyped
// capture takes the type params.path declares for it, if any.
func newPathSet(r *route, raw json.RawMessage, schemas *schemaCompiler) (*paramSet, error) {
	if len(r.captures) == 0 && isAbsent(raw) {
		return nil, nil
	}
	var declared map[string]any
	if !isAbsent(raw) {
		doc, err := parseSchema(raw)
		if err != nil {
			return nil, err
		}
		declared, _ = doc.(map[string]any)
	}
	declaredProps, _ := declared["properties"].(map[string]any)
	set := &paramSet{loc: inPath}
	typeSchemas := map[string]any{}
	required := []any{}
	for _, c := range r.captures {
		if s, ok := declaredProps[c.name]; ok && c.kind == "str" {
			set.props = append(set.props, propertyOf(c.name, s))
			typeSchemas[c.name] = map[string]any{}
		} else {
			p := property{name: c.name}
			switch c.kind {
			case "int":
				p.types.integer = true
				typeSchemas[c.name] = map[string]any{"type": "integer"}
			case "float":
				p.types.number = true
				typeSchemas[c.name] = map[string]any{"type": "number"}
			case "bool":
				p.types.boolean = true
				typeSchemas[c.name] = map[string]any{"type": "boolean"}
			case "uuid":
				typeSchemas[c.name] = map[string]any{"type": "string", "format": "uuid"}
			default:
				typeSchemas[c.name] = map[string]any{"type": "string"}
			}
			set.props = append(set.props, p)
		}
		required = append(required, c.name)
	}
	doc := map[string]any{"type": "object", "properties": typeSchemas, "required": required}
	if declared != nil {
		doc["allOf"] = []any{declared}
	}
	compiled, err := schemas.compile(doc)
	if err != nil {
		return nil, fmt.Errorf("params.path: %w", err)
	}
	set.schema = compiled
	return set, nil
}

// collect coerces the declared properties; values gives every occurrence of a key.
func (s *paramSet) collect(values func(name string) []string) map[string]any {
	object := make(map[string]any, len(s.props))
	for _, p := range s.props {
		raw := values(p.name)
		switch {
		case len(raw) > 0 && p.array:
			items := make([]any, len(raw))
			for i, v := range raw {
				items[i] = p.types.coerce(v)
			}
			object[p.name] = items
		case len(raw) > 0:
			object[p.name] = p.types.coerce(raw[0])
		case p.hasDef:
			object[p.name] = p.def
		}
	}
	return object
}

// collectPairs coerces key/values pairs (a form); with keepAll every key is kept as a string.
func (s *paramSet) collectPairs(pairs map[string][]string) map[string]any {
	if s.keepAll {
		object := make(map[string]any, len(pairs))
		for key, values := range pairs {
			object[key] = values[0]
		}
		return object
	}
	return s.collect(func(name string) []string { return pairs[name] })
}

// validate adds one error per failing pointer.
func (s *paramSet) validate(object map[string]any, errs *[]fieldError) {
	if s.schema == nil {
		return
	}
	schemaErrors(s.schema, object, func(pointer, message string) {
		*errs = append(*errs, fieldError{In: s.loc, Pointer: pointer, Message: message})
	})
}

// schemaCompiler compiles the JSON Schemas found in fixtures (draft 2020-12, formats asserted).
type schemaCompiler struct {
	compiler *jsonschema.Compiler
	count    int
}

func newSchemaCompiler() *schemaCompiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	return &schemaCompiler{compiler: c}
}

func (s *schemaCompiler) compile(doc any) (*jsonschema.Schema, error) {
	s.count++
	url := fmt.Sprintf("urn:go-nethttp:schema:%d", s.count)
	if err := s.compiler.AddResource(url, doc); err != nil {
		return nil, err
	}
	return s.compiler.Compile(url)
}

// parseSchema decodes a schema (or any JSON) keeping numbers exact.
func parseSchema(raw json.RawMessage) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// parsePairs splits an application/x-www-form-urlencoded string (a query or a form body) into
// its keys' values, in order. Unlike url.ParseQuery it keeps what it cannot decode: a ';' is
// part of a value, and an invalid %-escape stays as written.
func parsePairs(s string) map[string][]string {
	pairs := map[string][]string{}
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		key, value, _ := strings.Cut(part, "=")
		key, value = formUnescape(key), formUnescape(value)
		pairs[key] = append(pairs[key], value)
	}
	return pairs
}

func formUnescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	s = strings.ReplaceAll(s, "+", " ")
	if decoded, err := url.QueryUnescape(s); err == nil {
		return decoded
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b = append(b, byte(n))
			i += 2
		} else {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

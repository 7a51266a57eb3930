package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"sort"
	"strings"
	"unicode/utf8"
)

type fileSpec struct {
	Required     *bool    `json:"required"`
	MaxBytes     *int64   `json:"max_bytes"`
	ContentTypes []string `json:"content_types"`
	Multiple     bool     `json:"multiple"`
}

// fileRule is one declared file part of a multipart body.
type fileRule struct {
	name         string
	required     bool
	maxBytes     int64 // -1: any size
	contentTypes map[string]bool
	multiple     bool
}

// newFileRules sorts the declared files by name, so their echo and errors do not depend on
// map order.
func newFileRules(specs map[string]fileSpec) []fileRule {
	rules := make([]fileRule, 0, len(specs))
	for name, spec := range specs {
		rule := fileRule{name: name, required: spec.Required == nil || *spec.Required, maxBytes: -1,
			multiple: spec.Multiple}
		if spec.MaxBytes != nil {
			rule.maxBytes = *spec.MaxBytes
		}
		if len(spec.ContentTypes) > 0 {
			rule.contentTypes = map[string]bool{}
			for _, t := range spec.ContentTypes {
				rule.contentTypes[strings.ToLower(t)] = true
			}
		}
		rules = append(rules, rule)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].name < rules[j].name })
	return rules
}

// uploadedFile is a file part as echoed.
type uploadedFile struct {
	Filename    string  `json:"filename"`
	ContentType *string `json:"content_type"`
	Size        int64   `json:"size"`
	SHA256      string  `json:"sha256"`
}

// readMultipart parses a multipart/form-data body with mime/multipart's ReadForm: 400 when it is
// not valid multipart, else its fields coerced and validated like a form and its declared files
// checked (422 at /<name> or /<name>/<index>). It returns the echo {"fields": ..., "files": ...}.
func (rule *bodyRule) readMultipart(data []byte, contentType string, errs *[]fieldError) (any, *problem) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, errMalformed
	}
	// The body is already bounded by max_bytes and in memory: keep every part in memory too.
	form, err := multipart.NewReader(bytes.NewReader(data), params["boundary"]).ReadForm(int64(len(data)) + 1)
	if err != nil {
		return nil, errMalformed
	}
	defer form.RemoveAll()
	for _, values := range form.Value {
		for _, v := range values {
			if !utf8.ValidString(v) {
				return nil, errMalformed
			}
		}
	}
	fields := rule.form.collectPairs(form.Value)
	rule.validate(fields, errs)
	files := make(map[string]any, len(rule.files))
	for _, f := range rule.files {
		if echo, present := f.check(form.File[f.name], errs); present {
			files[f.name] = echo
		}
	}
	return map[string]any{"fields": fields, "files": files}, nil
}

// check reports a missing required file, or files too large or of a type not listed; it returns
// the echo of the file (or the array of files) and whether it belongs in the echo.
func (f *fileRule) check(parts []*multipart.FileHeader, errs *[]fieldError) (any, bool) {
	pointer := "/" + escapeToken(f.name)
	if len(parts) == 0 && f.required {
		*errs = append(*errs, fieldError{In: inBody, Pointer: pointer, Message: "missing required file " + f.name})
	}
	if !f.multiple {
		if len(parts) == 0 {
			return nil, false
		}
		return f.describe(parts[0], pointer, errs), true
	}
	echo := make([]uploadedFile, len(parts))
	for i, part := range parts {
		echo[i] = f.describe(part, fmt.Sprintf("%s/%d", pointer, i), errs)
	}
	return echo, true
}

// describe checks one file part against the rule and gives its echo.
func (f *fileRule) describe(part *multipart.FileHeader, pointer string, errs *[]fieldError) uploadedFile {
	echo := uploadedFile{Filename: sentFilename(part), Size: part.Size, SHA256: digest(part)}
	// The part's Content-Type as sent, null when it had none.
	if values, ok := part.Header[textproto.CanonicalMIMEHeaderKey("Content-Type")]; ok && len(values) > 0 {
		echo.ContentType = &values[0]
	}
	switch {
	case f.maxBytes >= 0 && part.Size > f.maxBytes:
		*errs = append(*errs, fieldError{In: inBody, Pointer: pointer,
			Message: fmt.Sprintf("file of %d bytes, larger than %d", part.Size, f.maxBytes)})
	case f.contentTypes != nil && !f.contentTypes[mediaType(echo.ContentType)]:
		*errs = append(*errs, fieldError{In: inBody, Pointer: pointer, Message: "file type not accepted"})
	}
	return echo
}

// sentFilename is the filename parameter as sent. FileHeader.Filename is not used for it: Go
// keeps only its last path element (filepath.Base), for safety when saving the file.
func sentFilename(part *multipart.FileHeader) string {
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if name, ok := params["filename"]; err == nil && ok {
		return name
	}
	return part.Filename
}

// mediaType is a Content-Type without its parameters, lower-case; "" when absent or invalid.
func mediaType(contentType *string) string {
	if contentType == nil {
		return ""
	}
	media, _, err := mime.ParseMediaType(*contentType)
	if err != nil {
		return ""
	}
	return media
}

// digest is the lower-case hex SHA-256 of a file part's bytes.
func digest(part *multipart.FileHeader) string {
	hash := sha256.New()
	if file, err := part.Open(); err == nil {
		io.Copy(hash, file)
		file.Close()
	}
	return hex.EncodeToString(hash.Sum(nil))
}

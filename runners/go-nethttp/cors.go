package main

// CORS as the handler vocabulary describes it, as a small net/http middleware.
//
// rs/cors (the well-kept CORS middleware for net/http) is not used because it cannot honour the
// vocabulary: it answers a refused preflight with its OptionsSuccessStatus (204 by default) and
// no CORS headers, where a 403 is wanted; it sends back the requested method and headers instead
// of the allowed lists; and with AllowedOrigins ["*"] it sends "*" even when credentials are
// allowed, where the request's Origin is wanted.

import (
	"net/http"
	"strconv"
	"strings"
)

type corsSpec struct {
	AllowOrigins     []string `json:"allow_origins"`
	AllowMethods     []string `json:"allow_methods"`
	AllowHeaders     []string `json:"allow_headers"`
	ExposeHeaders    []string `json:"expose_headers"`
	MaxAge           *int     `json:"max_age"`
	AllowCredentials bool     `json:"allow_credentials"`
}

// corsPolicy is a handler's cors, with its header values joined once.
type corsPolicy struct {
	anyOrigin    bool
	origins      map[string]bool
	methods      map[string]bool
	headers      map[string]bool // lower-case
	allowMethods string
	allowHeaders string
	expose       string
	maxAge       string
	credentials  bool
}

func newCorsPolicy(spec *corsSpec) *corsPolicy {
	p := &corsPolicy{
		origins:      map[string]bool{},
		methods:      map[string]bool{},
		headers:      map[string]bool{},
		allowMethods: strings.Join(spec.AllowMethods, ", "),
		allowHeaders: strings.Join(spec.AllowHeaders, ", "),
		expose:       strings.Join(spec.ExposeHeaders, ", "),
		credentials:  spec.AllowCredentials,
	}
	for _, origin := range spec.AllowOrigins {
		p.anyOrigin = p.anyOrigin || origin == "*"
		p.origins[origin] = true
	}
	for _, method := range spec.AllowMethods {
		p.methods[method] = true
	}
	for _, name := range spec.AllowHeaders {
		p.headers[strings.ToLower(name)] = true
	}
	if spec.MaxAge != nil {
		p.maxAge = strconv.Itoa(*spec.MaxAge)
	}
	return p
}

// allowOrigin is the Access-Control-Allow-Origin for a request's Origin, or "" when the origin
// is not allowed: "*" for any origin without credentials, else the origin itself.
func (p *corsPolicy) allowOrigin(origin string) string {
	switch {
	case origin == "":
		return ""
	case p.anyOrigin && !p.credentials:
		return "*"
	case p.anyOrigin || p.origins[origin]:
		return origin
	}
	return ""
}

// wrap adds the CORS headers of an actual request to whatever reply next gives, errors included.
func (p *corsPolicy) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := w.Header()
		addVary(header, "Origin")
		if allowed := p.allowOrigin(r.Header.Get("Origin")); allowed != "" {
			header.Set("Access-Control-Allow-Origin", allowed)
			if p.credentials {
				header.Set("Access-Control-Allow-Credentials", "true")
			}
			if p.expose != "" {
				header.Set("Access-Control-Expose-Headers", p.expose)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isPreflight tells a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a preflight: 204 with the allowed lists, or 403 without CORS headers.
func (p *corsPolicy) preflight(w http.ResponseWriter, r *http.Request) {
	header := w.Header()
	addVary(header, "Origin")
	allowed := p.allowOrigin(r.Header.Get("Origin"))
	if allowed == "" || !p.methods[r.Header.Get("Access-Control-Request-Method")] || !p.allowsHeaders(r) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	header.Set("Access-Control-Allow-Origin", allowed)
	header.Set("Access-Control-Allow-Methods", p.allowMethods)
	if p.allowHeaders != "" {
		header.Set("Access-Control-Allow-Headers", p.allowHeaders)
	}
	if p.maxAge != "" {
		header.Set("Access-Control-Max-Age", p.maxAge)
	}
	if p.credentials {
		header.Set("Access-Control-Allow-Credentials", "true")
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowsHeaders tells whether every name in Access-Control-Request-Headers is allowed.
func (p *corsPolicy) allowsHeaders(r *http.Request) bool {
	for _, value := range r.Header.Values("Access-Control-Request-Headers") {
		for _, name := range strings.Split(value, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" && !p.headers[name] {
				return false
			}
		}
	}
	return true
}

// preflightRoute answers the preflights of one route pattern, with the policy of the handler
// for the requested method (else the first handler's of the route that has cors).
type preflightRoute struct {
	byMethod map[string]*corsPolicy
	first    *corsPolicy
}

func (pr *preflightRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	policy, ok := pr.byMethod[r.Header.Get("Access-Control-Request-Method")]
	if !ok {
		policy = pr.first
	}
	policy.preflight(w, r)
}

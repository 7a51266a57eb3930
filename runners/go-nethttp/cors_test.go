package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPreflight(t *testing.T) {
	maxAge := 600
	listed := newCorsPolicy(&corsSpec{AllowOrigins: []string{"https://app.example"},
		AllowMethods: []string{"GET", "PUT"}, AllowHeaders: []string{"content-type", "x-token"},
		MaxAge: &maxAge, AllowCredentials: true})
	anyOrigin := newCorsPolicy(&corsSpec{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET"}})
	cases := []struct {
		policy  *corsPolicy
		origin  string
		method  string
		headers string
		status  int
		allow   string
	}{
		{listed, "https://app.example", "PUT", "X-Token, Content-Type", 204, "https://app.example"},
		{listed, "https://app.example", "PUT", "", 204, "https://app.example"},
		{listed, "https://evil.example", "GET", "", 403, ""},
		{listed, "https://app.example", "DELETE", "", 403, ""},
		{listed, "https://app.example", "GET", "x-other", 403, ""},
		{anyOrigin, "https://any.example", "GET", "", 204, "*"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodOptions, "/", nil)
		r.Header.Set("Origin", c.origin)
		r.Header.Set("Access-Control-Request-Method", c.method)
		if c.headers != "" {
			r.Header.Set("Access-Control-Request-Headers", c.headers)
		}
		w := httptest.NewRecorder()
		c.policy.preflight(w, r)
		if w.Code != c.status || w.Header().Get("Access-Control-Allow-Origin") != c.allow {
			t.Errorf("%s %s [%s]: %d with origin %q, want %d and %q", c.origin, c.method, c.headers,
				w.Code, w.Header().Get("Access-Control-Allow-Origin"), c.status, c.allow)
		}
		if w.Code == 403 && (w.Header().Get("Access-Control-Allow-Methods") != "" ||
			w.Header().Get("Access-Control-Allow-Credentials") != "") {
			t.Errorf("a refused preflight carries CORS headers: %v", w.Header())
		}
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodOptions, "/", nil)
	r.Header.Set("Origin", "https://app.example")
	r.Header.Set("Access-Control-Request-Method", "GET")
	listed.preflight(w, r)
	want := map[string]string{"Access-Control-Allow-Methods": "GET, PUT",
		"Access-Control-Allow-Headers": "content-type, x-token", "Access-Control-Max-Age": "600",
		"Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
	for name, value := range want {
		if got := w.Header().Get(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
}

func TestActualRequestHeaders(t *testing.T) {
	spec := `{"allow_origins": ["*"], "allow_methods": ["GET"], "expose_headers": ["x-total"],
		"allow_credentials": true}`
	var parsed corsSpec
	if err := json.Unmarshal([]byte(spec), &parsed); err != nil {
		t.Fatal(err)
	}
	handler := newCorsPolicy(&parsed).wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
	}))
	for origin, allow := range map[string]string{"https://x.example": "https://x.example", "": ""} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		h := w.Header()
		if h.Get("Access-Control-Allow-Origin") != allow {
			t.Errorf("origin %q: Access-Control-Allow-Origin %q, want %q", origin, h.Get("Access-Control-Allow-Origin"), allow)
		}
		credentials, expose := "", ""
		if allow != "" {
			credentials, expose = "true", "x-total"
		}
		if h.Get("Access-Control-Allow-Credentials") != credentials || h.Get("Access-Control-Expose-Headers") != expose {
			t.Errorf("origin %q: headers %v", origin, h)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFixtures writes each named fixture text into a fresh directory and returns it.
func writeFixtures(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serve sends one request to the app and returns the recorded reply.
func serve(a *app, method, target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	return w
}

func TestScenarioStepsHandlersAreRegisteredOncePerRoute(t *testing.T) {
	login := `{"method": "POST", "route": "/scenario/login", "response": {"json": {"token": "t-1"}}}`
	dir := writeFixtures(t, map[string]string{
		"a-scenario.json": `{"name": "scenario-a", "protocol": "rest", "steps": [
			{"handler": ` + login + `, "request": {"method": "POST", "path": "/scenario/login"},
			 "expected": {"status": 200}},
			{"name": "who am I", "handler": {"method": "GET", "route": "/scenario/me/{id:int}",
			  "response": {"echo": true}},
			 "request": {"path": "/scenario/me/7"}, "expected": {"status": 200}},
			{"name": "again, no handler", "request": {"path": "/scenario/me/8"}, "expected": {"status": 200}}]}`,
		// Another scenario sharing the login handler: registered once, not a mux conflict.
		"b-scenario.json": `{"name": "scenario-b", "protocol": "rest", "connection": "new", "steps": [
			{"handler": ` + login + `, "request": {"method": "POST", "path": "/scenario/login"},
			 "expected": {"status": 200}}]}`,
		"plain.json": `{"name": "plain", "protocol": "rest",
			"handler": {"method": "GET", "route": "/plain", "response": {"text": "hi"}},
			"request": {"path": "/plain"}, "expected": {"status": 200}}`,
		"no-handler.json": `{"name": "no-handler", "protocol": "rest",
			"request": {"path": "/plain"}, "expected": {"status": 200}}`,
	})
	fixtures, err := loadFixtures(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fixtures) != 3 {
		t.Fatalf("%d fixtures with handlers loaded, want 3 (both scenarios and plain)", len(fixtures))
	}
	var logged bytes.Buffer
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	a := newApp(fixtures)
	if logged.Len() > 0 {
		t.Errorf("registering logged %q, want nothing (the shared login handler registered once)", logged.String())
	}
	if a.handlers != 3 {
		t.Errorf("%d handlers registered, want 3 (login once, me, plain)", a.handlers)
	}
	if w := serve(a, http.MethodPost, "/scenario/login", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"t-1"`) {
		t.Errorf("POST /scenario/login: %d %q, want 200 with the token", w.Code, w.Body)
	}
	if w := serve(a, http.MethodGet, "/scenario/me/7", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"id":7`) {
		t.Errorf("GET /scenario/me/7: %d %q, want 200 echoing the path", w.Code, w.Body)
	}
	if w := serve(a, http.MethodGet, "/plain", ""); w.Code != 200 || w.Body.String() != "hi" {
		t.Errorf("GET /plain: %d %q, want 200 hi", w.Code, w.Body)
	}
	if w := serve(a, http.MethodGet, "/scenario/other", ""); w.Code != 404 {
		t.Errorf("GET /scenario/other: %d, want 404 (no step has that route)", w.Code)
	}
	if w := serve(a, http.MethodGet, "/scenario/login", ""); w.Code != 405 {
		t.Errorf("GET /scenario/login: %d, want 405 (the step's handler is POST only)", w.Code)
	}
}

func TestStepsOfAFixtureOfAnotherProtocolAreNotHandlers(t *testing.T) {
	var f fixture
	if err := json.Unmarshal([]byte(`{"protocol": "sse", "steps": [{"handler": {"route": "/x"}}]}`), &f); err != nil {
		t.Fatal(err)
	}
	if got := f.handlers(); len(got) != 0 {
		t.Errorf("an sse fixture's steps gave %d handlers, want 0", len(got))
	}
	f.Protocol = "rest"
	got := f.handlers()
	if len(got) != 1 || got[0].pointer != "/steps/0/handler" {
		t.Errorf("a rest fixture's steps gave %+v, want one handler at /steps/0/handler", got)
	}
}

// Command app serves every fixture handler of a benchmark-harness corpus with net/http:
// ServeMux method and path patterns for routing, gorilla/websocket for WebSockets, http.Flusher
// for SSE and streamed replies, mime/multipart for uploads, compress/gzip (and zlib, brotli) for
// compressed bodies, and HTTPS (HTTP/2 by ALPN) when TLS_CERT_FILE and TLS_KEY_FILE are set.
// See fixtures/README.md for the handler vocabulary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// fixture is the part of a fixture file the app needs: its handler, and a REST scenario's
// (format 1.1) steps with theirs. Handlers are decoded per protocol.
type fixture struct {
	file     string
	Protocol string          `json:"protocol"`
	Handler  json.RawMessage `json:"handler"`
	Steps    []struct {
		Handler json.RawMessage `json:"handler"`
	} `json:"steps"`
}

// fixtureHandler is one handler of a fixture, with where it is ("" or "/steps/N/handler").
type fixtureHandler struct {
	pointer string
	raw     json.RawMessage
}

// handlers lists the fixture's handlers: its own, then each REST scenario step's, in order.
func (f *fixture) handlers() []fixtureHandler {
	var handlers []fixtureHandler
	if present(f.Handler) {
		handlers = append(handlers, fixtureHandler{raw: f.Handler})
	}
	if f.Protocol != "rest" {
		return handlers
	}
	for i, step := range f.Steps {
		if present(step.Handler) {
			handlers = append(handlers, fixtureHandler{fmt.Sprintf("/steps/%d/handler", i), step.Handler})
		}
	}
	return handlers
}

// present says whether a JSON value was given (neither absent nor null).
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("go-nethttp: ")
	port, dir := os.Getenv("PORT"), os.Getenv("FIXTURES_DIR")
	if port == "" || dir == "" {
		log.Print("PORT and FIXTURES_DIR must be set")
		os.Exit(2)
	}
	started := time.Now()
	fixtures, err := loadFixtures(dir)
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	app := newApp(fixtures)

	// SIGTERM (or Ctrl-C) cancels ctx, the base of every request context: open SSE streams and
	// WebSockets end, then the server shuts down.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	server := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		Protocols:         new(http.Protocols),
	}
	// HTTP/1.1 and, by ALPN, HTTP/2 over TLS; on the plain port HTTP/1.1 and HTTP/2 with prior
	// knowledge (h2c) side by side.
	server.Protocols.SetHTTP1(true)
	server.Protocols.SetHTTP2(true)
	server.Protocols.SetUnencryptedHTTP2(true)
	certFile, keyFile := os.Getenv("TLS_CERT_FILE"), os.Getenv("TLS_KEY_FILE")
	scheme := "http"
	if certFile != "" && keyFile != "" {
		scheme = "https"
	}
	go func() {
		var err error
		if scheme == "https" {
			err = server.ServeTLS(listener, certFile, keyFile)
		} else {
			err = server.Serve(listener)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
			os.Exit(1)
		}
	}()
	log.Printf("%d handlers from %d fixtures on %s://%s (ready in %s)",
		app.handlers, len(fixtures), scheme, listener.Addr(), time.Since(started).Round(time.Millisecond))

	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if err := server.Shutdown(shutdown); err != nil {
		server.Close()
	}
}

// loadFixtures reads every *.json under dir (but *.schema.json) that carries a handler (its
// own or a scenario step's).
func loadFixtures(dir string) ([]fixture, error) {
	var fixtures []fixture
	err := filepath.WalkDir(dir, func(file string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := entry.Name()
		if entry.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".schema.json") {
			return nil
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		f := fixture{file: file}
		if err := json.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if len(f.handlers()) > 0 {
			fixtures = append(fixtures, f)
		}
		return nil
	})
	return fixtures, err
}

// app is the ServeMux holding every handler, behind a guard against the mux's redirects, and a
// second ServeMux for the CORS preflights of the routes whose handler has cors.
type app struct {
	mux        *http.ServeMux
	preflights *http.ServeMux
	corsRoutes map[string]*preflightRoute // by path pattern
	handlers   int
	// Whether a pattern ends in "/{$}": only those can make the mux redirect /a to /a/.
	slashRoutes bool
}

func newApp(fixtures []fixture) *app {
	a := &app{mux: http.NewServeMux(), preflights: http.NewServeMux(), corsRoutes: map[string]*preflightRoute{}}
	a.mux.HandleFunc("GET /__ready", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ready"))
	})
	schemas := newSchemaCompiler()
	seen := map[string]bool{}
	for _, f := range fixtures {
		for _, h := range f.handlers() {
			// A handler that cannot be served is logged and left out: its fixtures fail visibly.
			if err := a.register(f.Protocol, h.raw, schemas, seen); err != nil {
				log.Printf("%s%s: handler not registered: %v", f.file, h.pointer, err)
			}
		}
	}
	return a
}

// register adds a handler of a fixture of the protocol, unless one with the same method and
// route is there.
func (a *app) register(protocol string, raw json.RawMessage, schemas *schemaCompiler, seen map[string]bool) error {
	var (
		method, spec string
		build        func(r *route) (http.Handler, error)
		cors         *corsPolicy
	)
	switch protocol {
	case "rest":
		var h restHandler
		if err := json.Unmarshal(raw, &h); err != nil {
			return err
		}
		method, spec = strings.ToUpper(h.Method), h.Route
		build = func(r *route) (http.Handler, error) {
			endpoint, err := newRestEndpoint(&h, r, schemas)
			if err != nil || h.CORS == nil {
				return endpoint, err
			}
			cors = newCorsPolicy(h.CORS)
			return cors.wrap(endpoint), nil
		}
	case "websocket":
		var h wsHandler
		if err := json.Unmarshal(raw, &h); err != nil {
			return err
		}
		method, spec = http.MethodGet, h.Route
		build = func(*route) (http.Handler, error) { return newWsEndpoint(&h, schemas) }
	case "sse":
		var h sseHandler
		if err := json.Unmarshal(raw, &h); err != nil {
			return err
		}
		method, spec = http.MethodGet, h.Route
		build = func(*route) (http.Handler, error) { return newSseEndpoint(&h) }
	default:
		return nil
	}
	key := method + " " + spec
	if seen[key] {
		return nil // Fixtures sharing a method and route carry the same handler.
	}
	seen[key] = true
	r, err := parseRoute(spec)
	if err != nil {
		return err
	}
	handler, err := build(r)
	if err != nil {
		return err
	}
	if err := a.handle(method+" "+r.pattern, handler); err != nil {
		return err
	}
	if cors != nil {
		a.addPreflight(method, r.pattern, cors)
	}
	a.slashRoutes = a.slashRoutes || strings.HasSuffix(r.pattern, "/{$}")
	a.handlers++
	return nil
}

// handle registers a pattern, turning the mux's panic on a conflict into an error.
func (a *app) handle(pattern string, handler http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	a.mux.Handle(pattern, handler)
	return nil
}

// addPreflight makes OPTIONS on a path pattern answer CORS preflights with a handler's policy.
func (a *app) addPreflight(method, pattern string, policy *corsPolicy) {
	route, ok := a.corsRoutes[pattern]
	if !ok {
		route = &preflightRoute{byMethod: map[string]*corsPolicy{}, first: policy}
		a.corsRoutes[pattern] = route
		a.preflights.Handle(http.MethodOptions+" "+pattern, route)
	}
	route.byMethod[method] = policy
}

// ServeHTTP answers 404 where the mux would redirect: a path that is not clean ("//", "..")
// matches no route, and neither does /a for a route /a/. A CORS preflight on a route whose
// handler has cors goes to that route's preflightRoute; other OPTIONS requests to the mux (405).
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.EscapedPath(); r.Method != http.MethodConnect && p != cleanPath(p) {
		http.NotFound(w, r)
		return
	}
	if a.slashRoutes && !strings.HasSuffix(r.URL.Path, "/") {
		if _, pattern := a.mux.Handler(r); strings.HasSuffix(pattern, "/{$}") {
			http.NotFound(w, r)
			return
		}
	}
	if len(a.corsRoutes) > 0 && isPreflight(r) {
		if route, ok := a.preflightFor(r); ok {
			route.ServeHTTP(w, r)
			return
		}
	}
	a.mux.ServeHTTP(w, r)
}

// preflightFor finds the preflightRoute whose pattern matches the request's path, if any.
func (a *app) preflightFor(r *http.Request) (*preflightRoute, bool) {
	handler, _ := a.preflights.Handler(r)
	route, ok := handler.(*preflightRoute)
	return route, ok
}

// cleanPath is the canonical form the mux redirects to: path.Clean, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// route is a fixture route turned into a ServeMux path pattern.
type route struct {
	pattern  string
	captures []capture
}

type capture struct {
	name string
	kind string // str, int, float, bool or uuid
}

// parseRoute turns "/items/{item_id:int}" into "/items/{item_id}" plus its typed captures. A
// trailing slash becomes "/{$}" so that the pattern matches that exact path only.
func parseRoute(pattern string) (*route, error) {
	if !strings.HasPrefix(pattern, "/") {
		return nil, fmt.Errorf("route %q must start with /", pattern)
	}
	r := &route{}
	var b strings.Builder
	for _, segment := range strings.Split(pattern[1:], "/") {
		b.WriteByte('/')
		if !strings.HasPrefix(segment, "{") {
			if strings.ContainsAny(segment, "{}") {
				return nil, fmt.Errorf("route %q: bad segment %q", pattern, segment)
			}
			b.WriteString(segment)
			continue
		}
		name, kind, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(segment, "{"), "}"), ":")
		if kind == "" {
			kind = "str"
		}
		switch kind {
		case "str", "int", "float", "bool", "uuid":
		default:
			return nil, fmt.Errorf("route %q: unknown capture type %q", pattern, kind)
		}
		r.captures = append(r.captures, capture{name, kind})
		b.WriteString("{" + name + "}")
	}
	r.pattern = b.String()
	if strings.HasSuffix(r.pattern, "/") {
		r.pattern += "{$}"
	}
	return r, nil
}

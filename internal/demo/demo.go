package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/metrics"
	threescale "github.com/threescale-go/threescale/nethttp"
)

// Environment variables read by Start.
const (
	EnvAddr         = "ADDR"
	EnvBackendURL   = "THREESCALE_BACKEND_URL"
	EnvServiceID    = "THREESCALE_SERVICE_ID"
	EnvServiceToken = "THREESCALE_SERVICE_TOKEN"
	EnvProviderKey  = "THREESCALE_PROVIDER_KEY"
	EnvProxyConfig  = "THREESCALE_PROXY_CONFIG"
	EnvMode         = "THREESCALE_MODE"
)

// DefaultAddr is where the examples listen without ADDR.
const DefaultAddr = "127.0.0.1:8080"

// Usage of the example routes (GET /hello uses the engine's default,
// hits=1).
var (
	ProductReads  = core.Usage{"product_reads": 1}  // GET /products/{id}
	ProductWrites = core.Usage{"product_writes": 2} // POST /products
)

// Modes maps THREESCALE_MODE values to strategies.
var Modes = map[string]threescale.Strategy{
	"authrep": threescale.AuthRep,
}

// RunFunc is the signature of every example's run function: serve until
// ctx is done, then shut down gracefully and return nil. ready, if not
// nil, is called once the listener is bound.
type RunFunc func(ctx context.Context, getenv func(string) string, stdout io.Writer, ready func(Listening)) error

// Run returns an example's RunFunc: start the demo (the embedded simulator,
// or the configured backend), build the example's router with routes, and
// serve it until ctx is done.
func Run(routes func(app *App) http.Handler) RunFunc {
	return func(ctx context.Context, getenv func(string) string, stdout io.Writer, ready func(Listening)) error {
		app, err := Start(getenv, stdout)
		if err != nil {
			return err
		}
		return app.Serve(ctx, routes(app), ready)
	}
}

// Main is every example's main: it runs run until SIGINT or SIGTERM and
// exits 1 on error (0 after a graceful shutdown).
func Main(run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second signal kills at once, without waiting for the shutdown
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		stop()
		os.Exit(1)
	}
}

// Listening tells a test where an example listens.
type Listening struct {
	// Addr is the bound address (host:port).
	Addr string
	// ShuttingDown is closed when the graceful shutdown starts.
	ShuttingDown <-chan struct{}
}

// App is a started demo: the engine, and whether the routes come from a
// proxy configuration.
type App struct {
	// Engine protects the routes.
	Engine *threescale.Engine
	// ProxyConfig is true with THREESCALE_PROXY_CONFIG: every path except
	// /healthz is protected by Engine (credentials and mapping rules from
	// the file); otherwise mount /hello, /products/{id} and /products.
	ProxyConfig bool

	addr   string
	stdout io.Writer
	banner func(addr string) string
	sim    *threescaletest.Server
	logger *slog.Logger
}

// Start reads the environment and builds the engine: against
// THREESCALE_BACKEND_URL when set, else against an embedded simulator
// seeded with the demo service.
func Start(getenv func(string) string, stdout io.Writer) (*App, error) {
	a := &App{addr: getenv(EnvAddr), stdout: stdout}
	if a.addr == "" {
		a.addr = DefaultAddr
	}
	a.logger = slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	mode := getenv(EnvMode)
	if mode == "" {
		mode = "authrep"
	}
	strategy, ok := Modes[mode]
	if !ok {
		return nil, fmt.Errorf("demo: unknown %s %q (supported: %s)", EnvMode, mode, strings.Join(modeNames(), ", "))
	}
	opts := []threescale.Option{
		threescale.WithLogger(a.logger),
		threescale.WithCredentials(credentials.Hybrid(credentials.Locations(credentials.InQuery, credentials.InHeaders))),
	}
	var pc *metrics.ProxyConfig
	if path := getenv(EnvProxyConfig); path != "" {
		var err error
		if pc, err = metrics.ParseProxyConfigFile(path); err != nil {
			return nil, err
		}
		a.ProxyConfig = true
		opts = append(opts, threescale.WithProxyConfig(pc))
	}

	if backend := getenv(EnvBackendURL); backend != "" {
		id := getenv(EnvServiceID)
		if id == "" && pc != nil {
			id = pc.ServiceID
		}
		opts = append(opts, threescale.WithBackendURL(backend), threescale.WithStrategy(strategy),
			threescale.WithClientOptions(core.WithExtensions(Extensions())))
		switch token, pk := getenv(EnvServiceToken), getenv(EnvProviderKey); {
		case token != "":
			if id == "" {
				return nil, fmt.Errorf("demo: %s is required with %s", EnvServiceID, EnvServiceToken)
			}
			opts = append(opts, threescale.WithServiceToken(id, token))
		case pk != "":
			opts = append(opts, threescale.WithProviderKey(pk, id))
		default:
			return nil, fmt.Errorf("demo: %s needs %s and %s (or %s)", EnvBackendURL, EnvServiceID, EnvServiceToken, EnvProviderKey)
		}
		shown := backend // without a password in its userinfo
		if u, err := url.Parse(backend); err == nil {
			shown = u.Redacted()
		}
		a.banner = func(addr string) string {
			return fmt.Sprintf("Listening on http://%s, 3scale backend %s (service %q, mode %s)\n", addr, shown, id, mode)
		}
	} else {
		sim := threescaletest.NewServer()
		var ruleMetrics []string
		if pc != nil {
			for _, r := range pc.Rules {
				ruleMetrics = append(ruleMetrics, r.Metric)
			}
		}
		if err := Seed(sim, ruleMetrics...); err != nil {
			sim.Close()
			return nil, err
		}
		d, err := simDecider(sim.URL, strategy)
		if err != nil {
			sim.Close()
			return nil, err
		}
		a.sim = sim
		opts = append(opts, threescale.WithDecider(d))
		a.banner = func(addr string) string { return Banner(addr, sim.URL, mode) }
		if pc != nil {
			path := getenv(EnvProxyConfig)
			a.banner = func(addr string) string { return ProxyConfigBanner(addr, sim.URL, mode, path, pc) }
		}
	}
	e, err := threescale.New(opts...)
	if err != nil {
		a.closeSim()
		return nil, err
	}
	a.Engine = e
	return a, nil
}

func modeNames() []string {
	names := make([]string, 0, len(Modes))
	for n := range Modes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a *App) closeSim() {
	if a.sim != nil {
		a.sim.Close()
	}
}

// ShutdownTimeout bounds the graceful shutdown (in-flight requests, then
// the engine's Close).
const ShutdownTimeout = 10 * time.Second

// Serve listens on the configured address, prints the banner, serves h
// until ctx is done, then stops accepting, waits for in-flight requests,
// closes the engine (flushing anything pending) and the simulator. It
// returns nil after a clean shutdown.
func (a *App) Serve(ctx context.Context, h http.Handler, ready func(Listening)) (err error) {
	defer a.closeSim()
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		_ = a.Engine.Close(context.Background())
		return err
	}
	shuttingDown := make(chan struct{})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(func() { close(shuttingDown) })
	fmt.Fprint(a.stdout, a.banner(ln.Addr().String()))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready(Listening{Addr: ln.Addr().String(), ShuttingDown: shuttingDown})
	}
	select {
	case err = <-served: // listener failed
		_ = a.Engine.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	a.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, a.Engine.Close(sctx))
}

// Healthz answers 200 "ok"; it is never protected.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// HealthzHandler is Healthz as an http.Handler.
var HealthzHandler http.Handler = http.HandlerFunc(Healthz)

// Extensions are the client's default extensions plus list_app_keys: with
// it 3scale names the application a user_key belongs to, so user_key
// callers show their application id instead of a redacted marker.
func Extensions() core.Extensions {
	ext := core.DefaultExtensions()
	ext.ListAppKeys = true
	return ext
}

// Reply is the JSON body of allowed requests.
type Reply struct {
	AppID string     `json:"app_id"`
	Plan  string     `json:"plan"`
	Usage core.Usage `json:"usage"`
}

// Hello answers allowed requests with the decision from the request
// context: {"app_id": ..., "plan": ..., "usage": {...}}. user_key callers
// show their application id (see Extensions), or threescale.RedactedUserKey
// if 3scale did not name it: the key itself is never echoed.
var Hello http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	d, ok := threescale.FromContext(r.Context())
	if !ok {
		http.Error(w, "no 3scale decision in the request context", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK) // explicit: gin's NoRoute pre-sets 404
	_ = json.NewEncoder(w).Encode(Reply{AppID: d.Identity(), Plan: d.Plan, Usage: d.Usage})
})

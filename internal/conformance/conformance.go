package conformance

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/internal/syncbuf"
	"github.com/threescale-go/threescale/metrics"
	threescale "github.com/threescale-go/threescale/nethttp"
)

// Builder mounts the suite's routes with the adapter under test and
// returns the resulting http.Handler (the framework's router):
//
//   - GET /hello and GET /healthz behind the adapter's middleware for e;
//   - GET /products/{id} (in the framework's syntax) behind the adapter's
//     middleware for e with productOpts (per-route options);
//
// each ending in app. The suite's engines exempt /healthz with WithExempt.
type Builder func(e *threescale.Engine, app http.Handler, productOpts ...threescale.Option) http.Handler

// Fixture data of the suite's simulator.
const (
	ServiceID    = "svc"
	ServiceToken = "svc-token-secret"
	AppID        = "app"
	AppKey       = "app-key-secret"
	LimitedID    = "limited"
	LimitedKey   = "limited-key-secret"
	ExhaustedID  = "exhausted"
	ExhaustedKey = "exhausted-key-secret"
	SuspendedID  = "suspended"
	SuspendedKey = "suspended-key-secret"
)

// now is the simulator's fixed clock: 30 s before the minute ends, so
// per-minute limits reset in exactly 30 s.
var now = time.Date(2026, 3, 14, 12, 0, 30, 0, time.UTC)

func newSim(t *testing.T) *threescaletest.Server {
	t.Helper()
	sim := threescaletest.NewServer(threescaletest.WithClock(func() time.Time { return now }))
	t.Cleanup(sim.Close)
	require.NoError(t, sim.AddService(threescaletest.Service{
		ID: ServiceID, Token: ServiceToken, BackendVersion: threescaletest.BackendVersionAppID,
		Metrics: []threescaletest.Metric{{Name: "hits"}, {Name: "product_reads", Parent: "hits"}, {Name: "disabled", Parent: "hits"}},
	}))
	basic := threescaletest.Plan{Name: "Basic", Limits: []threescaletest.Limit{
		{Metric: "hits", Period: core.PeriodMinute, Max: 100},
		{Metric: "disabled", Period: core.PeriodMinute, Max: 0},
	}}
	tiny := threescaletest.Plan{Name: "Tiny", Limits: []threescaletest.Limit{{Metric: "hits", Period: core.PeriodMinute, Max: 1}}}
	for _, app := range []threescaletest.Application{
		{ServiceID: ServiceID, ID: AppID, Keys: []string{AppKey}, Plan: basic},
		{ServiceID: ServiceID, ID: LimitedID, Keys: []string{LimitedKey}, Plan: tiny},
		{ServiceID: ServiceID, ID: ExhaustedID, Keys: []string{ExhaustedKey}, Plan: tiny},
		{ServiceID: ServiceID, ID: SuspendedID, Keys: []string{SuspendedKey}, Plan: basic, Suspended: true},
	} {
		require.NoError(t, sim.AddApplication(app))
	}
	sim.SetCounter(ServiceID, ExhaustedID, "hits", core.PeriodMinute, 1)
	return sim
}

type ctxKey struct{}

// body is what the suite's app handler answers.
type body struct {
	Decision bool       `json:"decision"`
	AppID    string     `json:"app_id"`
	Plan     string     `json:"plan"`
	Usage    core.Usage `json:"usage"`
	Source   string     `json:"source"`
	Service  string     `json:"service"`
	Outer    string     `json:"outer"`
	// Reports and Remaining: usage reports and rate-limit state.
	Reports   int   `json:"reports"`
	Remaining int64 `json:"remaining"`
}

// appHandler reports the decision it sees and a value an outer middleware
// put in the request's context (context propagation).
func appHandler(called *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called.Add(1)
		var b body
		b.Outer, _ = r.Context().Value(ctxKey{}).(string)
		if d, ok := threescale.FromContext(r.Context()); ok {
			b.Decision, b.AppID, b.Plan, b.Usage, b.Source, b.Service = true, d.Identity(), d.Plan, d.Usage, string(d.Source), d.ServiceID
			b.Reports, b.Remaining = len(d.UsageReports), d.RateLimit.Remaining
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK) // explicit, so that a write after a rejection is caught
		_ = json.NewEncoder(w).Encode(b)
	})
}

// signalTransport reports on started when a backend request is sent.
type signalTransport struct {
	base    http.RoundTripper
	started chan struct{}
	once    sync.Once
}

func (s *signalTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.once.Do(func() { close(s.started) })
	return s.base.RoundTrip(r)
}

// env is one test's simulator, engine and router.
type env struct {
	sim     *threescaletest.Server
	handler http.Handler
	called  atomic.Int32
	started chan struct{}
	t       *testing.T
}

func setup(t *testing.T, build Builder, sim *threescaletest.Server, opts []threescale.Option, productOpts []threescale.Option) *env {
	t.Helper()
	if sim == nil {
		sim = newSim(t)
	}
	tr := &signalTransport{base: http.DefaultTransport.(*http.Transport).Clone(), started: make(chan struct{})}
	hc := &http.Client{Transport: tr}
	t.Cleanup(hc.CloseIdleConnections)
	base := []threescale.Option{
		threescale.WithBackendURL(sim.URL),
		threescale.WithServiceToken(ServiceID, ServiceToken),
		threescale.WithClientOptions(core.WithHTTPClient(hc)),
		threescale.WithCredentials(credentials.AppIDMode()),
		threescale.WithExempt(func(r *http.Request) bool { return r.URL.Path == "/healthz" }),
		threescale.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	e, err := threescale.New(append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Close(context.Background())) })
	ev := &env{sim: sim, started: tr.started, t: t}
	inner := build(e, appHandler(&ev.called), productOpts...)
	ev.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "outer-value")))
	})
	return ev
}

func (ev *env) do(ctx context.Context, method, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, method, target, nil)
	rec := &strictRecorder{ResponseRecorder: httptest.NewRecorder(), t: ev.t}
	ev.handler.ServeHTTP(rec, req)
	return rec.ResponseRecorder
}

// strictRecorder fails the test when a response is started twice (a
// second WriteHeader, e.g. an adapter that lets the chain go on after the
// engine wrote a rejection), which httptest.ResponseRecorder ignores.
type strictRecorder struct {
	*httptest.ResponseRecorder
	t       *testing.T
	mu      sync.Mutex
	started bool
}

func (s *strictRecorder) start(code int, explicit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && explicit {
		s.t.Errorf("response started twice: WriteHeader(%d) after %d", code, s.Code)
	}
	s.started = true
}

func (s *strictRecorder) WriteHeader(code int) {
	s.start(code, true)
	s.ResponseRecorder.WriteHeader(code)
}

func (s *strictRecorder) Write(p []byte) (int, error) {
	s.start(http.StatusOK, false)
	return s.ResponseRecorder.Write(p)
}

func (s *strictRecorder) WriteString(str string) (int, error) {
	s.start(http.StatusOK, false)
	return s.ResponseRecorder.WriteString(str)
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) body {
	t.Helper()
	var b body
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b), "body %q", rec.Body.String())
	return b
}

func creds(id, key string) string { return "app_id=" + id + "&app_key=" + key }

// rejection is one table row of the rejection cases.
type rejection struct {
	name        string
	opts        []threescale.Option
	productOpts []threescale.Option
	target      string
	fault       *threescaletest.Fault
	status      int
	body        string // exact body
	backend     bool   // whether the backend must have been called
	header      map[string]string
}

// Run runs the suite against the adapter that build mounts.
func Run(t *testing.T, build Builder) {
	t.Run("allow", func(t *testing.T) {
		ev := setup(t, build, nil, nil, nil)
		rec := ev.do(context.Background(), http.MethodGet, "/hello?"+creds(AppID, AppKey))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		b := decode(t, rec)
		assert.Equal(t, body{Decision: true, AppID: AppID, Plan: "Basic", Usage: core.Usage{"hits": 1},
			Source: "backend", Service: ServiceID, Outer: "outer-value", Reports: 2, Remaining: 99}, b)
		assert.Equal(t, int32(1), ev.called.Load())
		assert.Equal(t, int64(1), ev.sim.Counter(ServiceID, AppID, "hits", core.PeriodMinute))
		assert.Equal(t, "100", rec.Header().Get("RateLimit-Limit"))
		assert.Equal(t, "99", rec.Header().Get("RateLimit-Remaining"))
		assert.Equal(t, "30", rec.Header().Get("RateLimit-Reset"))
		assert.Empty(t, rec.Header().Get("Retry-After"))
	})

	t.Run("rejections", func(t *testing.T) {
		for _, tc := range []rejection{
			{name: "missing credentials", target: "/hello", status: 401, body: "Authentication parameters missing"},
			{name: "malformed credentials", target: "/hello?app_key=" + AppKey, status: 401, body: "Authentication parameters missing"},
			{name: "missing credentials custom", target: "/hello", status: 403, body: "nope",
				opts: []threescale.Option{threescale.WithResponse(threescale.ErrMissingCredentials, threescale.Response{Status: 403, Body: "nope"})}},
			{name: "application not found", target: "/hello?" + creds("ghost", "k"), status: 403, backend: true,
				body: `application with id="ghost" was not found`},
			{name: "application key invalid", target: "/hello?" + creds(AppID, "wrong-key-secret"), status: 403, backend: true,
				body: `application key "[redacted]" is invalid`},
			{name: "application suspended", target: "/hello?" + creds(SuspendedID, SuspendedKey), status: 403, backend: true,
				body: "application is not active"},
			{name: "denied custom body", target: "/hello?" + creds(SuspendedID, SuspendedKey), status: 403, backend: true,
				body: "Authentication failed", opts: []threescale.Option{threescale.WithResponse(threescale.ErrDenied, threescale.Response{Body: "Authentication failed"})}},
			{name: "limits exceeded", target: "/hello?" + creds(ExhaustedID, ExhaustedKey), status: 409, backend: true,
				body:   "usage limits are exceeded",
				header: map[string]string{"Retry-After": "30", "RateLimit-Limit": "1", "RateLimit-Remaining": "0", "RateLimit-Reset": "30"}},
			{name: "limits exceeded 429", target: "/hello?" + creds(ExhaustedID, ExhaustedKey), status: 429, backend: true,
				body: "usage limits are exceeded", opts: []threescale.Option{threescale.WithTooManyRequests()},
				header: map[string]string{"Retry-After": "30"}},
			{name: "disabled metric is a denial", target: "/products/1?" + creds(AppID, AppKey), status: 403, backend: true,
				body: "usage limits are exceeded", productOpts: []threescale.Option{threescale.WithUsage(core.Usage{"disabled": 1})}},
			{name: "no mapping rule", target: "/hello?" + creds(AppID, AppKey), status: 404, body: "No Mapping Rule matched",
				opts: []threescale.Option{threescale.WithMapper(metrics.MapperFunc(func(*http.Request) (metrics.Match, error) {
					return metrics.Match{}, metrics.ErrNoMatch
				}))}},
			{name: "missing credentials before mapping", target: "/hello", status: 401, body: "Authentication parameters missing",
				opts: []threescale.Option{threescale.WithMapper(metrics.MapperFunc(func(*http.Request) (metrics.Match, error) {
					return metrics.Match{}, metrics.ErrNoMatch
				}))}},
			{name: "unknown metric is our error", target: "/products/1?" + creds(AppID, AppKey), status: 500, backend: true,
				body: "Internal Server Error", productOpts: []threescale.Option{threescale.WithUsage(core.Usage{"nope": 1})}},
			{name: "backend 503", target: "/hello?" + creds(AppID, AppKey), status: 503, backend: true,
				body: "Authorization service unavailable", fault: &threescaletest.Fault{Kind: threescaletest.FaultStatus, Status: 503}},
			{name: "backend html 502", target: "/hello?" + creds(AppID, AppKey), status: 503, backend: true,
				body: "Authorization service unavailable", fault: &threescaletest.Fault{Kind: threescaletest.FaultHTML}},
			{name: "backend drops connection", target: "/hello?" + creds(AppID, AppKey), status: 503, backend: true,
				body: "Authorization service unavailable", fault: &threescaletest.Fault{Kind: threescaletest.FaultDropConnection}},
			{name: "backend timeout", target: "/hello?" + creds(AppID, AppKey), status: 503, backend: true,
				body:  "Authorization service unavailable",
				opts:  []threescale.Option{threescale.WithTimeout(50 * time.Millisecond)},
				fault: &threescaletest.Fault{Kind: threescaletest.FaultNoAnswer}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sim := newSim(t)
				if tc.fault != nil {
					sim.InjectFault(*tc.fault)
				}
				ev := setup(t, build, sim, tc.opts, tc.productOpts)
				rec := ev.do(context.Background(), http.MethodGet, tc.target)
				assert.Equal(t, tc.status, rec.Code)
				assert.Equal(t, tc.body, rec.Body.String())
				assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
				assert.Zero(t, ev.called.Load(), "handler must not run")
				for k, v := range tc.header {
					assert.Equal(t, v, rec.Header().Get(k), k)
				}
				if tc.backend {
					assert.NotEmpty(t, sim.Requests(), "backend must be asked")
				} else {
					assert.Empty(t, sim.Requests(), "backend must not be asked")
				}
				for _, secret := range []string{ServiceToken, AppKey, LimitedKey, ExhaustedKey, SuspendedKey, "wrong-key-secret"} {
					assert.NotContains(t, rec.Body.String(), secret)
					for k, vs := range rec.Header() {
						assert.NotContains(t, strings.Join(vs, ","), secret, k)
					}
				}
			})
		}
	})

	t.Run("wrong service token is a server error", func(t *testing.T) {
		sim := newSim(t)
		var logs syncbuf.Buffer
		ev := setup(t, build, sim, []threescale.Option{
			threescale.WithServiceToken(ServiceID, "bad-token-secret"),
			threescale.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		}, nil)
		rec := ev.do(context.Background(), http.MethodGet, "/hello?"+creds(AppID, AppKey))
		assert.Equal(t, http.StatusInternalServerError, rec.Code)
		assert.Equal(t, "Internal Server Error", rec.Body.String())
		assert.Contains(t, logs.String(), "level=ERROR")
		assert.Contains(t, logs.String(), "code=service_token_invalid")
		assert.NotContains(t, logs.String(), "bad-token-secret")
		assert.NotContains(t, logs.String(), AppKey)
	})

	t.Run("rate-limit headers off", func(t *testing.T) {
		ev := setup(t, build, nil, []threescale.Option{threescale.WithRateLimitHeaders(false)}, nil)
		rec := ev.do(context.Background(), http.MethodGet, "/hello?"+creds(AppID, AppKey))
		require.Equal(t, http.StatusOK, rec.Code)
		for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			assert.Empty(t, rec.Header().Get(h), h)
		}
		rec = ev.do(context.Background(), http.MethodGet, "/hello?"+creds(LimitedID, LimitedKey))
		require.Equal(t, http.StatusOK, rec.Code)
		rec = ev.do(context.Background(), http.MethodGet, "/hello?"+creds(LimitedID, LimitedKey))
		require.Equal(t, http.StatusConflict, rec.Code)
		assert.Empty(t, rec.Header().Get("RateLimit-Remaining"))
		assert.Equal(t, "30", rec.Header().Get("Retry-After"), "Retry-After stays")
	})

	t.Run("limit reached then rejected", func(t *testing.T) {
		ev := setup(t, build, nil, nil, nil)
		rec := ev.do(context.Background(), http.MethodGet, "/hello?"+creds(LimitedID, LimitedKey))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "0", rec.Header().Get("RateLimit-Remaining"))
		rec = ev.do(context.Background(), http.MethodGet, "/hello?"+creds(LimitedID, LimitedKey))
		assert.Equal(t, http.StatusConflict, rec.Code)
		assert.Equal(t, int32(1), ev.called.Load())
		assert.Equal(t, int64(1), ev.sim.Counter(ServiceID, LimitedID, "hits", core.PeriodMinute))
	})

	t.Run("per-route usage", func(t *testing.T) {
		ev := setup(t, build, nil, nil, []threescale.Option{threescale.WithUsage(core.Usage{"product_reads": 1})})
		rec := ev.do(context.Background(), http.MethodGet, "/products/7?"+creds(AppID, AppKey))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, core.Usage{"product_reads": 1}, decode(t, rec).Usage)
		assert.Equal(t, int64(1), ev.sim.Counter(ServiceID, AppID, "product_reads", core.PeriodMinute))
		assert.Equal(t, int64(1), ev.sim.Counter(ServiceID, AppID, "hits", core.PeriodMinute), "parent")
		// The engine's own routes keep the engine's usage.
		rec = ev.do(context.Background(), http.MethodGet, "/hello?"+creds(AppID, AppKey))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, core.Usage{"hits": 1}, decode(t, rec).Usage)
		assert.Equal(t, int64(1), ev.sim.Counter(ServiceID, AppID, "product_reads", core.PeriodMinute))
	})

	t.Run("route pattern reaches the mapper", func(t *testing.T) {
		routes, err := metrics.Routes(map[string]core.Usage{"GET /products/{id}": {"product_reads": 2}}, metrics.UnlistedNoMatch())
		require.NoError(t, err)
		ev := setup(t, build, nil, nil, []threescale.Option{threescale.WithMapper(routes)})
		rec := ev.do(context.Background(), http.MethodGet, "/products/7?"+creds(AppID, AppKey))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, core.Usage{"product_reads": 2}, decode(t, rec).Usage)
	})

	t.Run("per-route exempt", func(t *testing.T) {
		ev := setup(t, build, nil, nil, []threescale.Option{threescale.WithExempt(func(*http.Request) bool { return true })})
		rec := ev.do(context.Background(), http.MethodGet, "/products/7")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.False(t, decode(t, rec).Decision)
		assert.Empty(t, ev.sim.Requests())
	})

	t.Run("exempt route", func(t *testing.T) {
		ev := setup(t, build, nil, nil, nil)
		rec := ev.do(context.Background(), http.MethodGet, "/healthz")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		b := decode(t, rec)
		assert.False(t, b.Decision)
		assert.Equal(t, "outer-value", b.Outer)
		assert.Empty(t, ev.sim.Requests())
	})

	t.Run("fail open", func(t *testing.T) {
		sim := newSim(t)
		sim.InjectFault(threescaletest.Fault{Kind: threescaletest.FaultStatus, Status: 503})
		ev := setup(t, build, sim, []threescale.Option{threescale.WithFailOpen(true)}, nil)
		rec := ev.do(context.Background(), http.MethodGet, "/hello?"+creds(AppID, AppKey))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		b := decode(t, rec)
		assert.Equal(t, "fail-open", b.Source)
		assert.Equal(t, AppID, b.AppID)
		assert.Empty(t, rec.Header().Get("RateLimit-Remaining"))
	})

	t.Run("custom error handler", func(t *testing.T) {
		var got error
		h := func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(http.StatusTeapot)
		}
		ev := setup(t, build, nil, []threescale.Option{threescale.WithErrorHandler(h)}, nil)
		rec := ev.do(context.Background(), http.MethodGet, "/hello?"+creds(SuspendedID, SuspendedKey))
		assert.Equal(t, http.StatusTeapot, rec.Code)
		require.ErrorIs(t, got, threescale.ErrDenied)
		var re *threescale.RejectError
		require.ErrorAs(t, got, &re)
		assert.Equal(t, string(core.ReasonApplicationNotActive), re.Reason)
		require.NotNil(t, re.Decision)
		assert.Equal(t, "Basic", re.Decision.Plan)
		assert.Zero(t, ev.called.Load())
	})

	t.Run("concurrent requests", func(t *testing.T) {
		// One engine, its per-route view and the adapter under many
		// goroutines (run with -race): each request gets its own answer.
		ev := setup(t, build, nil, nil, []threescale.Option{threescale.WithUsage(core.Usage{"product_reads": 1})})
		cases := []struct {
			target string
			status int
			usage  core.Usage
		}{
			{"/hello?" + creds(AppID, AppKey), 200, core.Usage{"hits": 1}},
			{"/products/1?" + creds(AppID, AppKey), 200, core.Usage{"product_reads": 1}},
			{"/hello?" + creds(SuspendedID, SuspendedKey), 403, nil},
			{"/hello?" + creds(ExhaustedID, ExhaustedKey), 409, nil},
			{"/hello", 401, nil},
			{"/healthz", 200, nil},
		}
		const each = 12
		var wg sync.WaitGroup
		for i := range each * len(cases) {
			tc := cases[i%len(cases)]
			wg.Go(func() {
				rec := ev.do(context.Background(), http.MethodGet, tc.target)
				if assert.Equal(t, tc.status, rec.Code, tc.target) && tc.status == 200 {
					var b body // not decode: no FailNow outside the test's goroutine
					assert.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b))
					assert.Equal(t, tc.usage, b.Usage, tc.target)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(3*each), ev.called.Load())
		assert.Equal(t, int64(2*each), ev.sim.Counter(ServiceID, AppID, "hits", core.PeriodMinute))
		assert.Equal(t, int64(each), ev.sim.Counter(ServiceID, AppID, "product_reads", core.PeriodMinute))
	})

	t.Run("cancelled before the call", func(t *testing.T) {
		ev := setup(t, build, nil, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := ev.do(ctx, http.MethodGet, "/hello?"+creds(AppID, AppKey))
		assert.Equal(t, threescale.StatusClientClosedRequest, rec.Code)
		assert.Zero(t, ev.called.Load())
		assert.Empty(t, ev.sim.Requests())
	})

	t.Run("cancelled during the call", func(t *testing.T) {
		sim := newSim(t)
		sim.InjectFault(threescaletest.Fault{Kind: threescaletest.FaultNoAnswer})
		ev := setup(t, build, sim, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- ev.do(ctx, http.MethodGet, "/hello?"+creds(AppID, AppKey)) }()
		<-ev.started
		cancel()
		rec := <-done
		assert.Equal(t, threescale.StatusClientClosedRequest, rec.Code)
		assert.Zero(t, ev.called.Load())
		assert.Empty(t, rec.Header().Get("RateLimit-Remaining"))
	})
}

package threescale_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/metrics"
	threescale "github.com/threescale-go/threescale/nethttp"
)

var quiet = threescale.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// fakeDecider answers with a fixed decision or error and records queries.
type fakeDecider struct {
	d      *threescale.Decision
	err    error
	calls  atomic.Int32
	closed atomic.Int32
	last   threescale.Query
}

func (f *fakeDecider) Decide(_ context.Context, q threescale.Query) (*threescale.Decision, error) {
	f.calls.Add(1)
	f.last = q
	if f.d == nil {
		return nil, f.err
	}
	d := *f.d
	return &d, f.err
}

func (f *fakeDecider) Close(context.Context) error { f.closed.Add(1); return nil }

func serve(t *testing.T, e *threescale.Engine, target string) (*httptest.ResponseRecorder, *threescale.Decision) {
	t.Helper()
	var got *threescale.Decision
	h := e.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = threescale.FromContext(r.Context())
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec, got
}

func TestNewErrors(t *testing.T) {
	for name, opts := range map[string][]threescale.Option{
		"no service credentials":    nil,
		"token without id":          {threescale.WithServiceToken("", "tok")},
		"bad backend URL":           {threescale.WithBackendURL("ftp://x"), threescale.WithServiceToken("1", "t")},
		"nil client":                {threescale.WithClient(nil)},
		"nil decider":               {threescale.WithDecider(nil)},
		"unknown rejection":         {threescale.WithDecider(&fakeDecider{}), threescale.WithResponse(errors.New("x"), threescale.Response{})},
		"bad status":                {threescale.WithDecider(&fakeDecider{}), threescale.WithResponse(threescale.ErrDenied, threescale.Response{Status: 42})},
		"empty usage":               {threescale.WithDecider(&fakeDecider{}), threescale.WithUsage(nil)},
		"invalid usage":             {threescale.WithDecider(&fakeDecider{}), threescale.WithUsage(core.Usage{"a[b]": 1})},
		"strategy error":            {threescale.WithServiceToken("1", "t"), threescale.WithStrategy(func(*core.Client) (threescale.Decider, error) { return nil, errors.New("boom") })},
		"strategy returns nil":      {threescale.WithServiceToken("1", "t"), threescale.WithStrategy(func(*core.Client) (threescale.Decider, error) { return nil, nil })},
		"nil proxy configuration":   {threescale.WithDecider(&fakeDecider{}), threescale.WithProxyConfig(nil)},
		"secret not in error below": {threescale.WithServiceToken("", "very-secret-token")},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := threescale.New(opts...)
			require.Error(t, err)
			assert.Nil(t, e)
			assert.NotContains(t, err.Error(), "very-secret-token")
			assert.Panics(t, func() { threescale.Middleware(opts...) })
		})
	}
}

func TestWithRejectsEngineOptions(t *testing.T) {
	e, err := threescale.New(threescale.WithDecider(&fakeDecider{}))
	require.NoError(t, err)
	for name, o := range map[string]threescale.Option{
		"WithBackendURL":    threescale.WithBackendURL("http://127.0.0.1:1"),
		"WithServiceToken":  threescale.WithServiceToken("1", "t"),
		"WithProviderKey":   threescale.WithProviderKey("pk", ""),
		"WithTimeout":       threescale.WithTimeout(0),
		"WithClientOptions": threescale.WithClientOptions(),
		"WithClient":        threescale.WithClient(nil),
		"WithStrategy":      threescale.WithStrategy(threescale.AuthRep),
		"WithDecider":       threescale.WithDecider(&fakeDecider{}),
		"WithLogger":        threescale.WithLogger(nil),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.With(o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), name)
			assert.Panics(t, func() { e.MustWith(o) })
		})
	}
	same, err := e.With()
	require.NoError(t, err)
	assert.Same(t, e, same)
}

func TestCloseClosesTheDeciderOnce(t *testing.T) {
	f := &fakeDecider{}
	e, err := threescale.New(threescale.WithDecider(f))
	require.NoError(t, err)
	view := e.MustWith(threescale.WithUsage(core.Usage{"x": 1}))
	require.NoError(t, view.Close(context.Background()))
	assert.Zero(t, f.closed.Load(), "a view does not own the decider")
	require.NoError(t, e.Close(context.Background()))
	require.NoError(t, e.Close(context.Background()))
	assert.Equal(t, int32(1), f.closed.Load())
}

func TestDecisionFromCustomDecider(t *testing.T) {
	f := &fakeDecider{d: &threescale.Decision{Allowed: true, Source: "cache", Plan: "Gold",
		RateLimit: core.RateLimit{Present: true, Remaining: 4, MaxValue: 10, HasMax: true}}}
	rules := []metrics.MatchedRule{{Method: "GET", Pattern: "/x/{id}", Metric: "reads", Delta: 2}}
	mapper := metrics.MapperFunc(func(*http.Request) (metrics.Match, error) {
		return metrics.Match{Usage: core.Usage{"reads": 2}, Rules: rules, Params: map[string]string{"id": "7"}}, nil
	})
	e, err := threescale.New(threescale.WithDecider(f), threescale.WithMapper(mapper), quiet,
		threescale.WithCredentials(credentials.AppIDMode()),
		threescale.WithReferrer(func(r *http.Request) string { return r.Header.Get("Referer") }))
	require.NoError(t, err)
	rec, d := serve(t, e, "/x/7?app_id=a&app_key=secret-k")
	require.Equal(t, http.StatusOK, rec.Code)
	require.NotNil(t, d)
	assert.Equal(t, threescale.Source("cache"), d.Source)
	assert.Equal(t, "a", d.AppID)
	assert.Equal(t, core.KindAppID, d.CredentialKind)
	assert.Equal(t, core.Usage{"reads": 2}, d.Usage)
	assert.Equal(t, rules, d.Rules)
	assert.Equal(t, map[string]string{"id": "7"}, d.Params)
	assert.Equal(t, "10", rec.Header().Get("RateLimit-Limit"))
	assert.Equal(t, "4", rec.Header().Get("RateLimit-Remaining"))
	assert.Empty(t, rec.Header().Get("RateLimit-Reset"), "no reset for eternity limits")
	assert.Equal(t, core.Usage{"reads": 2}, f.last.Usage)
	key, _ := f.last.Credentials.AppKey()
	assert.Equal(t, "secret-k", key)
}

func TestEngineErrorClasses(t *testing.T) {
	coreErr := func(kind error, code, msg string) error {
		return &core.Error{Op: "authrep", Kind: kind, Code: code, Message: msg}
	}
	for _, tc := range []struct {
		name      string
		opts      []threescale.Option
		decision  *threescale.Decision
		err       error
		target    string
		status    int
		body      string
		sentinel  error
		decisions int32
	}{
		{name: "extractor failure is ours", target: "/",
			opts: []threescale.Option{threescale.WithCredentials(credentials.ExtractorFunc(func(*http.Request) (core.Credentials, error) {
				return core.Credentials{}, errors.New("vault down")
			}))},
			status: 500, body: "Internal Server Error", sentinel: threescale.ErrMisconfigured},
		{name: "empty user_key", target: "/?user_key=", status: 401, sentinel: threescale.ErrMissingCredentials,
			body: "Authentication parameters missing",
			opts: []threescale.Option{threescale.WithCredentials(credentials.ExtractorFunc(func(*http.Request) (core.Credentials, error) {
				return core.UserKey(""), nil
			}))}},
		{name: "mapper failure is ours", target: "/?user_key=k", status: 500, body: "Internal Server Error", sentinel: threescale.ErrMisconfigured,
			opts: []threescale.Option{threescale.WithMapper(metrics.MapperFunc(func(*http.Request) (metrics.Match, error) {
				return metrics.Match{}, errors.New("broken")
			}))}},
		{name: "exempt by mapper", target: "/", status: 200,
			opts: []threescale.Option{threescale.WithMapper(metrics.MapperFunc(func(*http.Request) (metrics.Match, error) {
				return metrics.Match{Exempt: true}, nil
			}))}},
		{name: "nil decision", target: "/?user_key=k", status: 500, body: "Internal Server Error", sentinel: threescale.ErrMisconfigured, decisions: 1},
		{name: "service token refused", target: "/?user_key=k", err: coreErr(core.ErrServiceCredentials, "service_token_invalid", `service token "x" is invalid`),
			status: 500, body: "Internal Server Error", sentinel: threescale.ErrMisconfigured, decisions: 1},
		{name: "metric invalid", target: "/?user_key=k", err: coreErr(core.ErrMetricInvalid, "metric_invalid", `metric "m" is invalid`),
			status: 500, body: "Internal Server Error", sentinel: threescale.ErrMisconfigured, decisions: 1},
		{name: "user key invalid", target: "/?user_key=k-secret", err: coreErr(core.ErrUserKeyInvalid, "user_key_invalid", `user key "[redacted]" is invalid`),
			status: 403, body: `user key "[redacted]" is invalid`, sentinel: threescale.ErrDenied, decisions: 1},
		{name: "credentials conflict", target: "/?user_key=k", err: coreErr(core.ErrCredentialsConflict, "authentication_error", "either app_id or user_key is allowed, not both"),
			status: 403, body: "either app_id or user_key is allowed, not both", sentinel: threescale.ErrDenied, decisions: 1},
		{name: "timeout", target: "/?user_key=k", err: coreErr(core.ErrTimeout, "", "backend did not answer in time"),
			status: 503, body: "Authorization service unavailable", sentinel: threescale.ErrBackendUnavailable, decisions: 1},
		{name: "decider gave up on its own", target: "/?user_key=k", opts: []threescale.Option{threescale.WithFailOpen(true)},
			err:    coreErr(core.ErrCanceled, "", "call canceled by the caller"),
			status: 499, sentinel: threescale.ErrCanceled, decisions: 1},
		{name: "fail-open does not cover denials", target: "/?user_key=k", opts: []threescale.Option{threescale.WithFailOpen(true)},
			decision: &threescale.Decision{Allowed: false, Reason: core.ReasonApplicationNotActive, ReasonText: "application is not active"},
			status:   403, body: "application is not active", sentinel: threescale.ErrDenied, decisions: 1},
		{name: "fail-open does not cover configuration errors", target: "/?user_key=k", opts: []threescale.Option{threescale.WithFailOpen(true)},
			err: coreErr(core.ErrServiceCredentials, "service_id_invalid", "x"), status: 500, body: "Internal Server Error", sentinel: threescale.ErrMisconfigured, decisions: 1},
		{name: "denied without text", target: "/?user_key=k", decision: &threescale.Decision{Reason: core.ReasonUnknown},
			status: 403, body: "Authentication failed", sentinel: threescale.ErrDenied, decisions: 1},
		{name: "limits without text", target: "/?user_key=k", decision: &threescale.Decision{Reason: core.ReasonLimitsExceeded},
			status: 409, body: "Usage limit exceeded", sentinel: threescale.ErrLimitsExceeded, decisions: 1},
		{name: "custom content type", target: "/", status: 401, body: "{\"error\":\"no key\"}", sentinel: threescale.ErrMissingCredentials,
			opts: []threescale.Option{threescale.WithResponse(threescale.ErrMissingCredentials, threescale.Response{ContentType: "application/json", Body: `{"error":"no key"}`})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDecider{d: tc.decision, err: tc.err}
			var got error
			capture := threescale.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
				got = err
				threescale.DefaultErrorHandler(w, r, err)
			})
			e, err := threescale.New(append([]threescale.Option{threescale.WithDecider(f), quiet, capture}, tc.opts...)...)
			require.NoError(t, err)
			rec, _ := serve(t, e, tc.target)
			assert.Equal(t, tc.status, rec.Code)
			if tc.body != "" {
				assert.Equal(t, tc.body, rec.Body.String())
			}
			if tc.sentinel != nil {
				require.ErrorIs(t, got, tc.sentinel)
				assert.NotContains(t, got.Error(), "k-secret")
			} else {
				assert.NoError(t, got)
			}
			assert.Equal(t, tc.decisions, f.calls.Load())
		})
	}
}

func TestCoreErrorReachableThroughRejectError(t *testing.T) {
	f := &fakeDecider{err: &core.Error{Kind: core.ErrApplicationNotFound, Code: "application_not_found", Message: "application with id=\"x\" was not found"}}
	var got error
	e, err := threescale.New(threescale.WithDecider(f), quiet, threescale.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) { got = err }))
	require.NoError(t, err)
	serve(t, e, "/?user_key=k")
	assert.ErrorIs(t, got, threescale.ErrDenied)
	assert.ErrorIs(t, got, core.ErrApplicationNotFound)
	var re *threescale.RejectError
	require.ErrorAs(t, got, &re)
	assert.Equal(t, "application_not_found", re.Reason)
	assert.Equal(t, 403, re.Response.Status)
}

func TestAuthorizeOnlyAndOAuth(t *testing.T) {
	sim := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()))
	defer sim.Close()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	base := []threescale.Option{threescale.WithBackendURL(sim.URL), quiet, threescale.WithClientOptions(core.WithHTTPClient(hc))}

	e, err := threescale.New(append(base, threescale.WithServiceToken("42", threescaletest.DemoServiceToken),
		threescale.WithStrategy(threescale.AuthorizeOnly), threescale.WithCredentials(credentials.AppIDMode()))...)
	require.NoError(t, err)
	rec, d := serve(t, e, "/?app_id=app1&app_key=key1")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "Basic", d.Plan)
	assert.Equal(t, "42", d.ServiceID)
	assert.Zero(t, sim.Counter("42", "app1", "hits", core.PeriodMinute), "authorize reports nothing")
	assert.Equal(t, "/transactions/authorize.xml", sim.Requests()[0].Path)

	sim.ResetRequests()
	e, err = threescale.New(append(base, threescale.WithProviderKey(threescaletest.DemoProviderKey, "44"),
		threescale.WithCredentials(credentials.OAuthMode()))...)
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer oapp1")
	rec = httptest.NewRecorder()
	var got *threescale.Decision
	e.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, _ = threescale.FromContext(r.Context()) })).ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "oapp1", got.AppID)
	assert.Equal(t, core.KindOAuth, got.CredentialKind)
	assert.Equal(t, "/transactions/oauth_authrep.xml", sim.Requests()[0].Path)
	assert.Equal(t, int64(1), sim.Counter("44", "oapp1", "hits", core.PeriodHour))

	client, err := core.NewClient(core.WithBackendURL(sim.URL), core.WithServiceToken("43", threescaletest.DemoServiceToken), core.WithHTTPClient(hc))
	require.NoError(t, err)
	e, err = threescale.New(threescale.WithClient(client), quiet)
	require.NoError(t, err)
	rec, got = serve(t, e, "/?user_key=uk1")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, threescale.RedactedUserKey, got.Identity())
	assert.Equal(t, "UK", got.Plan)

	// With list_app_keys, 3scale names the application a user_key belongs to.
	ext := core.DefaultExtensions()
	ext.ListAppKeys = true
	e, err = threescale.New(threescale.WithBackendURL(sim.URL), threescale.WithServiceToken("43", threescaletest.DemoServiceToken),
		threescale.WithClientOptions(core.WithExtensions(ext), core.WithHTTPClient(hc)), quiet)
	require.NoError(t, err)
	rec, got = serve(t, e, "/?user_key=uk1")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "app_uk1", got.AppID)
	assert.Equal(t, "app_uk1", got.Identity())
}

func TestWithProxyConfig(t *testing.T) {
	sim := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()))
	defer sim.Close()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	pc, err := metrics.LoadProxyConfig([]byte(`{"id": 42, "backend_version": "2", "proxy": {
		"credentials_location": "headers",
		"error_auth_failed": "Go away", "error_status_auth_failed": 401, "error_headers_auth_failed": "text/plain; charset=us-ascii",
		"error_status_limits_exceeded": 429, "error_limits_exceeded": "Slow down",
		"proxy_rules": [{"http_method": "GET", "pattern": "/search", "metric_system_name": "search", "delta": 3}]}}`))
	require.NoError(t, err)
	e, err := threescale.New(threescale.WithBackendURL(sim.URL), threescale.WithServiceToken("42", threescaletest.DemoServiceToken),
		threescale.WithClientOptions(core.WithHTTPClient(hc)), threescale.WithProxyConfig(pc), quiet)
	require.NoError(t, err)
	do := func(path, id, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("App-Id", id)
		req.Header.Set("App-Key", key)
		rec := httptest.NewRecorder()
		e.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(rec, req)
		return rec
	}
	assert.Equal(t, 200, do("/search", "app1", "key1").Code)
	assert.Equal(t, int64(3), sim.Counter("42", "app1", "search", core.PeriodDay))
	rec := do("/search", "app_susp", "keys")
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, "Go away", rec.Body.String())
	assert.Equal(t, "text/plain; charset=us-ascii", rec.Header().Get("Content-Type"))
	rec = do("/other", "app1", "key1")
	assert.Equal(t, 404, rec.Code)
	assert.Equal(t, "No Mapping Rule matched", rec.Body.String())
	sim.SetCounter("42", "app2", "hits", core.PeriodMinute, 5)
	rec = do("/search", "app2", "key2")
	assert.Equal(t, 429, rec.Code)
	assert.Equal(t, "Slow down", rec.Body.String())
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
}

func TestNoSecretsInLogs(t *testing.T) {
	sim := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()))
	defer sim.Close()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := threescale.New(threescale.WithBackendURL(sim.URL), threescale.WithServiceToken("42", "wrong-token-secret"),
		threescale.WithClientOptions(core.WithHTTPClient(hc)), threescale.WithLogger(logger),
		threescale.WithCredentials(credentials.AppIDMode()))
	require.NoError(t, err)
	serve(t, e, "/?app_id=app1&app_key=key1-secret")
	e2, err := threescale.New(threescale.WithBackendURL(sim.URL), threescale.WithServiceToken("42", threescaletest.DemoServiceToken),
		threescale.WithClientOptions(core.WithHTTPClient(hc)), threescale.WithLogger(logger))
	require.NoError(t, err)
	serve(t, e2, "/?user_key=user-key-secret")
	sim.InjectFault(threescaletest.Fault{Kind: threescaletest.FaultDropConnection, Count: 1})
	serve(t, e2, "/?user_key=user-key-secret")
	out := logs.String()
	assert.Contains(t, out, "service_token_invalid")
	for _, s := range []string{"wrong-token-secret", "key1-secret", "user-key-secret", threescaletest.DemoServiceToken} {
		assert.NotContains(t, out, s)
	}
}

func TestMiddlewareConvenience(t *testing.T) {
	sim := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()))
	defer sim.Close()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	mw := threescale.Middleware(threescale.WithBackendURL(sim.URL), threescale.WithServiceToken("43", threescaletest.DemoServiceToken),
		threescale.WithClientOptions(core.WithHTTPClient(hc)), quiet)
	rec := httptest.NewRecorder()
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hi") })).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?user_key=uk1", nil))
	assert.Equal(t, 200, rec.Code)
	assert.Equal(t, "hi", rec.Body.String())
}

func TestFromContextEmpty(t *testing.T) {
	_, ok := threescale.FromContext(context.Background())
	assert.False(t, ok)
	_, ok = threescale.FromContext(threescale.NewContext(context.Background(), nil))
	assert.False(t, ok)
	d := &threescale.Decision{AppID: "x"}
	got, ok := threescale.FromContext(threescale.NewContext(context.Background(), d))
	assert.True(t, ok)
	assert.Same(t, d, got)
	assert.Equal(t, "", (*threescale.Decision)(nil).Identity())
}

func TestDenialTextIsRedacted(t *testing.T) {
	for _, key := range []string{"k", "a-long-app-key"} {
		f := &fakeDecider{d: &threescale.Decision{Reason: core.ReasonApplicationKeyInvalid,
			ReasonText: `application key "` + key + `" is invalid`}}
		e, err := threescale.New(threescale.WithDecider(f), quiet, threescale.WithCredentials(credentials.AppIDMode()))
		require.NoError(t, err)
		rec, _ := serve(t, e, "/?app_id=a&app_key="+key)
		assert.Equal(t, http.StatusForbidden, rec.Code)
		assert.Equal(t, `application key "[redacted]" is invalid`, rec.Body.String())
	}
}

// flushDecider has something pending until Close flushes it, and fails
// the flush when its context is already done.
type flushDecider struct {
	fakeDecider
	pending atomic.Int32
}

func (f *flushDecider) Close(ctx context.Context) error {
	f.closed.Add(1)
	if err := ctx.Err(); err != nil {
		return err
	}
	f.pending.Store(0)
	return nil
}

func TestCloseFlushesOnceForAllCallers(t *testing.T) {
	f := &flushDecider{}
	f.pending.Store(3)
	e, err := threescale.New(threescale.WithDecider(f), quiet)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.NoError(t, e.Close(context.Background())) })
	}
	wg.Wait()
	assert.Equal(t, int32(1), f.closed.Load())
	assert.Zero(t, f.pending.Load(), "flushed")

	// The first result is every later caller's result.
	g := &flushDecider{}
	e, err = threescale.New(threescale.WithDecider(g), quiet)
	require.NoError(t, err)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, e.Close(done), context.Canceled)
	assert.ErrorIs(t, e.Close(context.Background()), context.Canceled)
	assert.Equal(t, int32(1), g.closed.Load())
}

func TestNilEngineOrHandlerPanicsAtSetUp(t *testing.T) {
	e, err := threescale.New(threescale.WithDecider(&fakeDecider{}))
	require.NoError(t, err)
	assert.Panics(t, func() { e.Handler(nil) })
	var nilEngine *threescale.Engine
	assert.Panics(t, func() { nilEngine.Handler(http.NotFoundHandler()) })
	assert.Panics(t, func() { nilEngine.MustWith() })
	_, err = nilEngine.With()
	assert.ErrorIs(t, err, core.ErrInvalidInput)
}

package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	secToken = "st_secret"
	secPK    = "pk_secret"
	secApp   = "ak_secret"
	secUser  = "uk_secret"
)

var secrets = []string{secToken, secPK, secApp, secUser}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	assertNoSecretsTop(t, err)
	for _, s := range secrets {
		for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
			assert.NotContains(t, e.Error(), s, "a wrapped cause leaks a secret")
		}
	}
}

// assertNoSecretsTop checks the error's own text only (not its causes).
func assertNoSecretsTop(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	for _, s := range secrets {
		assert.NotContains(t, err.Error(), s)
		assert.NotContains(t, fmt.Sprintf("%+v", err), s)
		assert.NotContains(t, fmt.Sprintf("%v", err), s)
		var ce *Error
		if errors.As(err, &ce) {
			assert.NotContains(t, ce.Message, s)
		}
	}
}

// newLocalServer starts an httptest server on 127.0.0.1.
func newLocalServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	return srv
}

func TestErrorsNeverContainSecrets(t *testing.T) {
	appCall := AuthRequest{Credentials: AppID("app", secApp), Service: &Service{ID: "42", ProviderKey: secPK, Token: secToken}}
	oauthCall := AuthRequest{Credentials: OAuthApp("cid", secApp), Service: &Service{ID: "42", Token: secToken}}
	userCall := AuthRequest{Credentials: UserKey(secUser), Service: &Service{ID: "42", ProviderKey: secPK}}
	cases := []struct {
		name   string
		status int
		body   string
		kind   error
		calls  []AuthRequest // calls that own every secret in the body
	}{
		{"service token echoed", 403, `<error code="service_token_invalid">service token "st_secret" or service id "42" is invalid</error>`, ErrServiceCredentials, []AuthRequest{appCall, oauthCall}},
		{"provider key echoed", 403, `<error code="provider_key_invalid">provider key "pk_secret" is invalid</error>`, ErrServiceCredentials, []AuthRequest{appCall, userCall}},
		{"provider key echoed (no service)", 403, `<error code="provider_key_invalid_or_service_missing">provider key "pk_secret" invalid and/or service ID missing</error>`, ErrServiceCredentials, []AuthRequest{appCall, userCall}},
		{"user key echoed", 403, `<error code="user_key_invalid">user key "uk_secret" is invalid</error>`, ErrUserKeyInvalid, []AuthRequest{userCall}},
		{"app key echoed", 400, `<error code="bad_request">application key "ak_secret" is weird</error>`, ErrBadRequest, []AuthRequest{appCall, oauthCall}},
		{"several, escaped", 422, `<error code="not_valid_data">st_secret&amp;pk_secret ak_secret&lt;</error>`, ErrBadRequest, []AuthRequest{appCall}},
		{"secret twice", 403, `<error code="user_key_invalid">user key "uk_secret" is invalid (uk_secret)</error>`, ErrUserKeyInvalid, []AuthRequest{userCall}},
	}
	for _, tc := range cases {
		for i, req := range tc.calls {
			t.Run(fmt.Sprintf("%s/%d", tc.name, i), func(t *testing.T) {
				rec := &recorder{respond: func(r *http.Request, _ int) *http.Response {
					return newResponse(r, tc.status, hErr(), xmlDecl+tc.body)
				}}
				c := newTestClient(t, rec)
				for _, ac := range authCalls {
					if ac.name == "oauth_authorize" || ac.name == "oauth_authrep" {
						if req.Credentials.Kind() == KindUserKey {
							continue
						}
					}
					_, err := ac.call(c, context.Background(), req)
					assert.ErrorIs(t, err, tc.kind)
					assertNoSecrets(t, err)
					var e *Error
					require.ErrorAs(t, err, &e)
					assert.Contains(t, e.Message, "[redacted]")
				}
			})
		}
	}
	t.Run("report", func(t *testing.T) {
		rec := &recorder{respond: func(r *http.Request, _ int) *http.Response {
			return newResponse(r, 403, hErr(), xmlDecl+`<error code="service_token_invalid">service token "st_secret" or service id "42" is invalid</error>`)
		}}
		c := newTestClient(t, rec, WithServiceToken("42", secToken))
		_, err := c.Report(context.Background(), ReportRequest{Transactions: []Transaction{{Credentials: UserKey(secUser), Usage: Hits(1)}}})
		assert.ErrorIs(t, err, ErrServiceCredentials)
		assertNoSecrets(t, err)
	})
}

func TestTransportErrorsNeverContainSecrets(t *testing.T) {
	// A port that was just closed: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	c, err := NewClient(WithBackendURL("http://"+addr), WithProviderKey(secPK, "42"))
	require.NoError(t, err)
	_, err = c.AuthRep(context.Background(), AuthRequest{Credentials: AppID("app", secApp), Usage: Hits(1)})
	assertError(t, wantErr{kind: ErrBackendUnavailable, anyMsg: true}, err)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.NotErrorIs(t, err, ErrTimeout)
	assertNoSecrets(t, err)
	var ue *url.Error
	require.ErrorAs(t, err, &ue, "the url.Error stays reachable")
	assert.NotContains(t, ue.URL, "?", "the URL's query (credentials) is removed")

	c, err = NewClient(WithBackendURL("http://"+addr), WithServiceToken("42", secToken))
	require.NoError(t, err)
	_, err = c.Authorize(context.Background(), AuthRequest{Credentials: UserKey(secUser)})
	assertError(t, wantErr{kind: ErrBackendUnavailable, anyMsg: true}, err)
	assertNoSecrets(t, err)
	_, err = c.Report(context.Background(), ReportRequest{Transactions: []Transaction{{Credentials: UserKey(secUser), Usage: Hits(1)}}})
	assertError(t, wantErr{kind: ErrBackendUnavailable, anyMsg: true}, err)
	assertNoSecrets(t, err)

	// A transport whose own error quotes the request URL: the error's text is
	// redacted (its original cause stays reachable through Unwrap, by design
	// of redactedCause, so only the top-level text is checked here).
	leaky := rt(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("proxy refused %s (query %s)", r.URL.String(), r.URL.RawQuery)
	})
	c = newTestClient(t, leaky, WithServiceToken("42", secToken))
	_, err = c.AuthRep(context.Background(), AuthRequest{Credentials: AppID("app", secApp)})
	assertError(t, wantErr{kind: ErrBackendUnavailable, anyMsg: true}, err)
	assertNoSecretsTop(t, err)
}

func TestErrorFormatting(t *testing.T) {
	e := &Error{Op: "authrep", Kind: ErrApplicationNotFound, StatusCode: 404, Code: "application_not_found", Message: `application with id="x" was not found`}
	assert.Equal(t, `threescale: authrep: 404 application_not_found: application with id="x" was not found`, e.Error())
	e = &Error{Op: "report", Kind: ErrTimeout, Err: context.DeadlineExceeded}
	assert.Equal(t, "threescale: report: threescale: timeout: context deadline exceeded", e.Error())
	assert.ErrorIs(t, e, ErrTimeout)
	assert.ErrorIs(t, e, ErrBackendUnavailable)
	assert.ErrorIs(t, e, context.DeadlineExceeded)
	assert.NotErrorIs(t, e, nil)
	assert.False(t, e.Is(nil))
	assert.NotErrorIs(t, &Error{Kind: ErrBackendUnavailable}, ErrTimeout, "unavailable is not a timeout")

	var target *Error
	wrapped := fmt.Errorf("gateway: %w", e)
	require.ErrorAs(t, wrapped, &target)
	assert.Equal(t, "report", target.Op)
}

// blockingServer never answers until the test ends or the client goes away.
func blockingServer(t *testing.T, started chan<- struct{}) *httptest.Server {
	release := make(chan struct{})
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if started != nil {
			select {
			case started <- struct{}{}:
			default:
			}
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before srv.Close (LIFO)
	return srv
}

func TestTimeouts(t *testing.T) {
	srv := blockingServer(t, nil)
	cases := []struct {
		name string
		opts []Option
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{name: "client WithTimeout", opts: []Option{WithTimeout(50 * time.Millisecond)}},
		{name: "http.Client Timeout", opts: []Option{WithTimeout(0), WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond})}},
		{name: "caller deadline", opts: []Option{WithTimeout(time.Hour)},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(append([]Option{WithBackendURL(srv.URL), WithServiceToken("42", secToken)}, tc.opts...)...)
			require.NoError(t, err)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			_, err = c.AuthRep(ctx, AuthRequest{Credentials: AppID("app", secApp)})
			assertError(t, wantErr{kind: ErrTimeout, anyMsg: true}, err)
			assert.ErrorIs(t, err, ErrBackendUnavailable)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.NotErrorIs(t, err, context.Canceled)
			assertNoSecrets(t, err)

			_, err = c.Report(ctx, ReportRequest{Transactions: []Transaction{{Credentials: AppID("app", ""), Usage: Hits(1)}}})
			assertError(t, wantErr{kind: ErrTimeout, anyMsg: true}, err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assertNoSecrets(t, err)
		})
	}
}

func TestCallerCancellation(t *testing.T) {
	started := make(chan struct{}, 1)
	srv := blockingServer(t, started)
	c, err := NewClient(WithBackendURL(srv.URL), WithServiceToken("42", secToken), WithTimeout(time.Hour))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-started // the request reached the server
		cancel()
	}()
	res, err := c.Authorize(ctx, AuthRequest{Credentials: AppID("app", secApp)})
	assert.Nil(t, res)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, ErrCanceled)
	assert.NotErrorIs(t, err, ErrTimeout)
	assert.NotErrorIs(t, err, ErrBackendUnavailable, "a caller giving up is not an outage")
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Zero(t, e.StatusCode)
	assertNoSecrets(t, err)

	// Already cancelled before the call.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = c.AuthRep(ctx2, AuthRequest{Credentials: AppID("app", secApp)})
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, ErrCanceled)
	assert.NotErrorIs(t, err, ErrTimeout)
}

func TestServerFailures(t *testing.T) {
	big := strings.Repeat("x", 4096)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		opts    []Option
		want    wantErr
	}{
		{name: "500 text", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			_, _ = w.Write([]byte("Internal Server Error\n"))
		}, want: wantErr{kind: ErrBackendUnavailable, status: 500, anyMsg: true}},
		{name: "502 HTML", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"))
		}, want: wantErr{kind: ErrBackendUnavailable, status: 502, anyMsg: true}},
		{name: "503 empty", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) },
			want: wantErr{kind: ErrBackendUnavailable, status: 503, anyMsg: true}},
		{name: "body over the limit (Content-Length)", opts: []Option{WithMaxResponseBytes(1024)},
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(big)) },
			want:    wantErr{kind: ErrBackendUnavailable, anyMsg: true}},
		{name: "body over the limit (chunked)", opts: []Option{WithMaxResponseBytes(1024)},
			handler: func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < 8; i++ {
					_, _ = w.Write([]byte(big[:512]))
					w.(http.Flusher).Flush()
				}
			},
			want: wantErr{kind: ErrBackendUnavailable, anyMsg: true}},
		{name: "body cut short", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			_, _ = w.Write([]byte(okBody[:40]))
		}, want: wantErr{kind: ErrBackendUnavailable, anyMsg: true}},
		{name: "connection dropped without an answer", handler: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}, want: wantErr{kind: ErrBackendUnavailable, anyMsg: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newLocalServer(t, tc.handler)
			c, err := NewClient(append([]Option{WithBackendURL(srv.URL), WithServiceToken("42", secToken)}, tc.opts...)...)
			require.NoError(t, err)
			res, err := c.AuthRep(context.Background(), AuthRequest{Credentials: UserKey(secUser)})
			assert.Nil(t, res)
			assertError(t, tc.want, err)
			assertNoSecrets(t, err)
			rr, err := c.Report(context.Background(), ReportRequest{Transactions: []Transaction{{Credentials: UserKey(secUser), Usage: Hits(1)}}})
			assert.Equal(t, &ReportResult{}, rr)
			assertError(t, tc.want, err)
			assertNoSecrets(t, err)
		})
	}
	t.Run("body exactly at the limit is read", func(t *testing.T) {
		srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(okBody)) }))
		c, err := NewClient(WithBackendURL(srv.URL), WithServiceToken("42", "st"), WithMaxResponseBytes(int64(len(okBody))))
		require.NoError(t, err)
		res, err := c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		assert.True(t, res.Authorized)
	})
}

// TestConnectionReuse: bodies are drained and closed, so sequential calls
// share one keep-alive connection whatever the answer.
func TestConnectionReuse(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("app_id") {
		case "ok":
			_, _ = w.Write([]byte(okBody))
		case "denied":
			w.Header().Set("3scale-rejection-reason", "limits_exceeded")
			w.WriteHeader(409)
			_, _ = w.Write(statusDoc(`<authorized>false</authorized><reason>usage limits are exceeded</reason><plan>B</plan>`))
		case "missing":
			w.WriteHeader(404)
			_, _ = w.Write([]byte(xmlDecl + `<error code="application_not_found">application with id="missing" was not found</error>`))
		case "html":
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html><body>bad gateway</body></html>"))
		case "chunked":
			_, _ = w.Write([]byte(okBody[:20]))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(okBody[20:]))
		case "big":
			_, _ = w.Write([]byte(strings.Repeat("y", 3000))) // over the limit, drained
		default: // report
			w.WriteHeader(202)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	c, err := NewClient(WithBackendURL(srv.URL), WithServiceToken("42", "st"), WithMaxResponseBytes(2048))
	require.NoError(t, err)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		for _, app := range []string{"ok", "denied", "missing", "html", "chunked", "big"} {
			_, _ = c.Authorize(ctx, AuthRequest{Credentials: AppID(app, "")})
		}
		_, err := c.Report(ctx, ReportRequest{Transactions: []Transaction{{Credentials: AppID("r", ""), Usage: Hits(1)}}})
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), n.Load(), "every sequential call must reuse the first connection")
}

func TestDefaultClientUntouched(t *testing.T) {
	dt, ok := http.DefaultTransport.(*http.Transport)
	require.True(t, ok)
	type tsnap struct {
		MaxIdleConns, MaxIdleConnsPerHost, MaxConnsPerHost int
		IdleConnTimeout, TLSHandshakeTimeout               time.Duration
		ResponseHeaderTimeout, ExpectContinueTimeout       time.Duration
		DisableKeepAlives, ForceAttemptHTTP2               bool
		dial                                               string
	}
	snapT := func() tsnap {
		return tsnap{dt.MaxIdleConns, dt.MaxIdleConnsPerHost, dt.MaxConnsPerHost, dt.IdleConnTimeout,
			dt.TLSHandshakeTimeout, dt.ResponseHeaderTimeout, dt.ExpectContinueTimeout, dt.DisableKeepAlives,
			dt.ForceAttemptHTTP2, fmt.Sprintf("%p", dt.DialContext)}
	}
	beforeClient := *http.DefaultClient
	beforeTransport := snapT()
	beforeDT := http.DefaultTransport

	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(okBody)) }))
	mine := &http.Client{Timeout: 7 * time.Second}
	mineBefore := *mine
	for _, opts := range [][]Option{
		nil,
		{WithTimeout(time.Second)},
		{WithHTTPClient(nil)},
		{WithHTTPClient(http.DefaultClient), WithTimeout(2 * time.Second)},
		{WithHTTPClient(mine), WithTimeout(time.Second)},
	} {
		c, err := NewClient(append([]Option{WithBackendURL(srv.URL), WithServiceToken("42", "st")}, opts...)...)
		require.NoError(t, err)
		res, err := c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		assert.True(t, res.Authorized)
	}
	assert.Equal(t, beforeClient.Timeout, http.DefaultClient.Timeout)
	assert.True(t, beforeClient.Transport == http.DefaultClient.Transport)
	assert.True(t, beforeClient.Jar == http.DefaultClient.Jar)
	assert.Nil(t, http.DefaultClient.CheckRedirect)
	assert.True(t, beforeDT == http.DefaultTransport, "DefaultTransport replaced")
	assert.Equal(t, beforeTransport, snapT(), "DefaultTransport modified")
	assert.Equal(t, mineBefore.Timeout, mine.Timeout, "caller's http.Client modified")
	assert.Nil(t, mine.Transport, "caller's http.Client modified")
}

// TestConcurrentUse: one client, 50 goroutines with their own credentials,
// usage, service and extensions; each gets the answer to its own request.
func TestConcurrentUse(t *testing.T) {
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(202)
			return
		}
		q := r.URL.Query()
		app := q.Get("app_id")
		// Echo the request back through the plan and a usage report.
		plan := app + "|" + q.Get("service_id") + "|" + r.Header.Get("3scale-options")
		doc := fmt.Sprintf(`<plan>%s</plan><usage_reports><usage_report metric="hits" period="day"><period_start>2024-03-14 00:00:00 +0000</period_start><period_end>2024-03-15 00:00:00 +0000</period_end><max_value>1000</max_value><current_value>%s</current_value></usage_report></usage_reports>`,
			plan, q.Get("usage[hits]"))
		if len(app)%2 == 0 {
			w.Header().Set("3scale-rejection-reason", "application_not_active")
			w.WriteHeader(409)
			_, _ = w.Write(statusDoc(`<authorized>false</authorized><reason>application is not active</reason>` + doc))
			return
		}
		_, _ = w.Write(statusDoc(`<authorized>true</authorized>` + doc))
	}))
	c, err := NewClient(WithBackendURL(srv.URL), WithServiceToken("42", "st"))
	require.NoError(t, err)

	const workers, calls = 50, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls*2)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			app := "app" + strings.Repeat("x", g%3) + fmt.Sprint(g)
			svc := &Service{ID: fmt.Sprint(1000 + g), Token: "t"}
			var ext *Extensions
			wantOpts := defaultOptions
			if g%2 == 0 {
				ext = &Extensions{Hierarchy: true}
				wantOpts = "hierarchy=1"
			}
			for i := 0; i < calls; i++ {
				u := Usage{"hits": int64(g*100 + i)}
				res, err := c.AuthRep(context.Background(), AuthRequest{Credentials: AppID(app, "k"), Usage: u, Service: svc, Extensions: ext})
				if err != nil {
					errs <- err
					continue
				}
				wantPlan := app + "|" + svc.ID + "|" + wantOpts
				if res.Plan != wantPlan || len(res.UsageReports) != 1 || res.UsageReports[0].CurrentValue != int64(g*100+i) ||
					res.Authorized != (len(app)%2 == 1) {
					errs <- fmt.Errorf("goroutine %d call %d got another call's answer: %+v", g, i, res)
				}
				if _, err := c.Report(context.Background(), ReportRequest{Service: svc, Transactions: []Transaction{{Credentials: AppID(app, ""), Usage: u}}}); err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Equal(t, Service{ID: "42", Token: "st"}, c.Service())
}

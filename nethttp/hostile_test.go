package threescale_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/internal/syncbuf"
	"github.com/threescale-go/threescale/metrics"
	threescale "github.com/threescale-go/threescale/nethttp"
)

// TestHostileRequests sends requests no client should send, through the
// real client and simulator: nothing panics, nothing a client controls is
// answered or logged as our own misconfiguration, and invalid credentials
// never reach 3scale.
func TestHostileRequests(t *testing.T) {
	sim := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()))
	defer sim.Close()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	pc, err := metrics.LoadProxyConfig([]byte(`{"id": 42, "backend_version": "2", "proxy": {"credentials_location": "query",
		"proxy_rules": [{"http_method": "GET", "pattern": "/p/{id}$", "metric_system_name": "hits", "delta": 1}]}}`))
	require.NoError(t, err)
	referer := threescale.WithReferrer(func(r *http.Request) string { return r.Header.Get("Referer") })

	all := "user_key=uk1&app_id=app1&app_key=key1"
	requests := map[string]func() *http.Request{
		"nil URL":    func() *http.Request { r := httptest.NewRequest("GET", "/p/1", nil); r.URL = nil; return r },
		"nil header": func() *http.Request { r := httptest.NewRequest("GET", "/p/1?"+all, nil); r.Header = nil; return r },
		"bare":       func() *http.Request { return &http.Request{URL: &url.URL{RawQuery: all}} },
		"huge headers": func() *http.Request {
			r := httptest.NewRequest("GET", "/p/1", nil)
			for _, h := range []string{"User-Key", "App-Id", "App-Key", "Referer", "X-Junk"} {
				r.Header.Set(h, strings.Repeat("x", 1<<20))
			}
			return r
		},
		"invalid UTF-8 in query": func() *http.Request {
			return httptest.NewRequest("GET", "/p/1?user_key=%ff%fe&app_id=%ff&app_key=%c0", nil)
		},
		"invalid UTF-8 in app_key": func() *http.Request { return httptest.NewRequest("GET", "/p/1?app_id=app1&app_key=key%ff", nil) },
		"invalid UTF-8 in header": func() *http.Request {
			r := httptest.NewRequest("GET", "/p/1", nil)
			r.Header.Set("User-Key", "uk\xff")
			r.Header.Set("App-Id", "\xc0")
			return r
		},
		"invalid UTF-8 referrer": func() *http.Request {
			r := httptest.NewRequest("GET", "/p/1?app_id=app1&app_key=key1", nil)
			r.Header.Set("Referer", "http://\xff.example")
			return r
		},
		"huge referrer": func() *http.Request {
			r := httptest.NewRequest("GET", "/p/1?app_id=app1&app_key=key1", nil)
			r.Header.Set("Referer", strings.Repeat("r", 1<<20))
			return r
		},
		"control characters": func() *http.Request { return httptest.NewRequest("GET", "/p/1?user_key=a%00b&app_id=a%0d%0ab", nil) },
		"bad escapes": func() *http.Request {
			r := httptest.NewRequest("GET", "/p/1", nil)
			r.URL.RawQuery = "user_key=%zz;&&=&app_id"
			return r
		},
		"invalid UTF-8 path": func() *http.Request {
			r := httptest.NewRequest("GET", "/p/1", nil)
			r.URL.Path, r.URL.RawQuery = "/p/\xff\xfe", "app_id=app1&app_key=key1"
			return r
		},
	}
	for name, opts := range map[string][]threescale.Option{
		"user_key":     {threescale.WithServiceToken("43", threescaletest.DemoServiceToken), referer},
		"hybrid":       {threescale.WithServiceToken("42", threescaletest.DemoServiceToken), referer, threescale.WithCredentials(credentials.Hybrid(credentials.Locations(credentials.InQuery, credentials.InHeaders)))},
		"proxy config": {threescale.WithServiceToken("42", threescaletest.DemoServiceToken), referer, threescale.WithProxyConfig(pc)},
	} {
		var logs syncbuf.Buffer
		e, err := threescale.New(append([]threescale.Option{threescale.WithBackendURL(sim.URL), threescale.WithClientOptions(core.WithHTTPClient(hc)),
			threescale.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)...)
		require.NoError(t, err)
		h := e.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		for rname, newReq := range requests {
			t.Run(name+"/"+rname, func(t *testing.T) {
				sim.ResetRequests()
				rec := httptest.NewRecorder()
				require.NotPanics(t, func() { h.ServeHTTP(rec, newReq()) })
				assert.Less(t, rec.Code, 500, rec.Body.String())
				if strings.Contains(rname, "UTF-8") && rname != "invalid UTF-8 referrer" && rname != "invalid UTF-8 path" {
					assert.Equal(t, http.StatusUnauthorized, rec.Code)
					assert.Empty(t, sim.Requests(), "invalid credentials must not reach 3scale")
				}
			})
		}
		assert.NotContains(t, logs.String(), "level=ERROR", name)
	}
}

// FuzzCheck feeds arbitrary queries, header values and paths to the
// engine: it never panics, and without a backend error it only ever
// allows or answers 401 or 404.
func FuzzCheck(f *testing.F) {
	f.Add("user_key=k", "", "/")
	f.Add("app_id=a&app_key=b", "", "/p/1")
	f.Add("user_key=%ff%fe", "\xff", "/p/\xff")
	f.Add("app_id=%00&user_key=;;&&==", "a\r\nb", "//..//p/1?x")
	pc, err := metrics.LoadProxyConfig([]byte(`{"id": 1, "backend_version": "2", "proxy": {"credentials_location": "headers",
		"proxy_rules": [{"http_method": "GET", "pattern": "/p/{id}$", "metric_system_name": "hits", "delta": 1}]}}`))
	require.NoError(f, err)
	allow := &fakeDecider{d: &threescale.Decision{Allowed: true}}
	engines := []*threescale.Engine{}
	for _, opts := range [][]threescale.Option{
		{threescale.WithCredentials(credentials.Hybrid(credentials.Locations(credentials.InQuery, credentials.InHeaders)))},
		{threescale.WithProxyConfig(pc)},
	} {
		e, err := threescale.New(append([]threescale.Option{threescale.WithDecider(allow), quiet}, opts...)...)
		require.NoError(f, err)
		engines = append(engines, e)
	}
	f.Fuzz(func(t *testing.T, query, header, path string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path, r.URL.RawQuery = path, query
		for _, h := range []string{"User-Key", "App-Id", "App-Key"} {
			r.Header.Set(h, header)
		}
		for _, e := range engines {
			rec := httptest.NewRecorder()
			out, ok := e.Check(rec, r)
			if ok {
				_, has := threescale.FromContext(out.Context())
				assert.True(t, has)
				continue
			}
			assert.Contains(t, []int{http.StatusUnauthorized, http.StatusNotFound}, rec.Code, rec.Body.String())
		}
	})
}

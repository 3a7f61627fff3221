package demotest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/internal/demo"
	"github.com/threescale-go/threescale/internal/syncbuf"
)

// Run checks the examples' contract against run.
func Run(t *testing.T, run demo.RunFunc) {
	t.Run("embedded simulator", func(t *testing.T) {
		ex := start(t, run, nil)
		out := ex.stdout()
		for _, want := range []string{demo.UserKey, demo.AppID, demo.AppKey, demo.SuspendedAppID, "curl -i '" + ex.base + "/hello?user_key=", "seq 4"} {
			assert.Contains(t, out, want)
		}
		checkRoutes(t, ex.base)
	})

	t.Run("external backend", func(t *testing.T) {
		sim := threescaletest.NewServer()
		t.Cleanup(sim.Close)
		require.NoError(t, demo.Seed(sim))
		backend := strings.Replace(sim.URL, "http://", "http://ops:backend-password-secret@", 1)
		ex := start(t, run, map[string]string{
			demo.EnvBackendURL: backend, demo.EnvServiceID: demo.ServiceID, demo.EnvServiceToken: demo.ServiceToken,
		})
		assert.NotContains(t, ex.stdout(), demo.AppKey, "no demo credentials printed for a real backend")
		assert.NotContains(t, ex.stdout(), demo.ServiceToken)
		assert.NotContains(t, ex.stdout(), "backend-password-secret")
		status, b := get(t, http.MethodGet, ex.base+"/products/1?app_id="+demo.AppID+"&app_key="+demo.AppKey, nil)
		require.Equal(t, http.StatusOK, status, b)
		assert.JSONEq(t, `{"app_id":"demo-app","plan":"Basic","usage":{"product_reads":1}}`, b)
		assert.Equal(t, int64(1), sim.Counter(demo.ServiceID, demo.AppID, "product_reads", core.PeriodMinute))
	})

	t.Run("provider key", func(t *testing.T) {
		sim := threescaletest.NewServer()
		t.Cleanup(sim.Close)
		require.NoError(t, sim.AddService(threescaletest.Service{ID: "7", ProviderKey: "pk-secret", Metrics: []threescaletest.Metric{{Name: "hits"}}}))
		require.NoError(t, sim.AddApplication(threescaletest.Application{ServiceID: "7", ID: "a", Keys: []string{"k"}, Plan: threescaletest.Plan{Name: "P"}}))
		ex := start(t, run, map[string]string{demo.EnvBackendURL: sim.URL, demo.EnvProviderKey: "pk-secret", demo.EnvServiceID: "7"})
		status, b := get(t, http.MethodGet, ex.base+"/hello?app_id=a&app_key=k", nil)
		require.Equal(t, http.StatusOK, status, b)
		assert.JSONEq(t, `{"app_id":"a","plan":"P","usage":{"hits":1}}`, b)
	})

	t.Run("proxy configuration", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "proxy.json")
		require.NoError(t, os.WriteFile(path, []byte(proxyConfig), 0o600))
		ex := start(t, run, map[string]string{demo.EnvProxyConfig: path})
		appH := http.Header{"App-Id": {demo.AppID}, "App-Key": {demo.AppKey}}
		checkRequests(t, ex.base, "", []request{
			{"GET", "/healthz", nil, 200, "ok"},
			{"GET", "/catalog/9", appH, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"product_reads":1}}`},
			{"DELETE", "/anything/at/all", appH, 200,
				`{"app_id":"demo-app","plan":"Basic","usage":{"hits":1}}`},
			{"GET", "/catalog/9", nil, 403, "Authentication parameters missing"},
			{"GET", "/catalog/9?app_id=" + demo.AppID + "&app_key=" + demo.AppKey, nil, 403, "Authentication parameters missing"},
			{"GET", "/hello", http.Header{"App-Id": {demo.SuspendedAppID}, "App-Key": {demo.SuspendedAppKey}}, 403, "Authentication failed"},
		})
	})

	t.Run("porta export", func(t *testing.T) {
		// A proxy configuration as porta exports it (GET
		// /admin/api/services/{id}/proxy/configs/production/latest.json):
		// porta's parameter names and error defaults, credentials in
		// headers, rules anchored with $ and capturing {id}, and the
		// service token and secret token, which must never be printed.
		path := filepath.Join(t.TempDir(), "latest.json")
		require.NoError(t, os.WriteFile(path, []byte(portaExport), 0o600))
		ex := start(t, run, map[string]string{demo.EnvProxyConfig: path})
		appH := http.Header{"App-Id": {demo.AppID}, "App-Key": {demo.AppKey}}
		checkRequests(t, ex.base, "text/plain; charset=us-ascii", []request{
			{"GET", "/healthz", nil, 200, "ok"},
			{"GET", "/products/42", appH, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"hits":1,"product_reads":1}}`},
			{"GET", "/products/42", http.Header{"app_id": {demo.AppID}, "app_key": {demo.AppKey}}, 200,
				`{"app_id":"demo-app","plan":"Basic","usage":{"hits":1,"product_reads":1}}`},
			{"GET", "/products/42/reviews", appH, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"hits":1}}`},
			{"GET", "/catalogue", appH, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"catalogue_reads":1,"hits":1}}`},
			{"POST", "/products", appH, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"product_writes":2}}`},
			{"POST", "/products/42", appH, 404, "No Mapping Rule matched"},
			{"GET", "/products/42?app_id=" + demo.AppID + "&app_key=" + demo.AppKey, nil, 403, "Authentication parameters missing"},
			{"GET", "/products/42", http.Header{"User-Key": {demo.UserKey}}, 403, "Authentication parameters missing"},
			{"GET", "/products/42", http.Header{"App-Id": {demo.SuspendedAppID}, "App-Key": {demo.SuspendedAppKey}}, 403, "Authentication failed"},
		})
		for _, secret := range []string{"porta-service-token-secret", "Shared_secret_sent_from_proxy"} {
			assert.NotContains(t, ex.stdout(), secret)
		}
		// The printed commands come from the file's rules and credential
		// names, and they work.
		out := ex.stdout()
		assert.Contains(t, out, "/products/{id}$")
		assert.Contains(t, out, "curl -i -H 'app_id: "+demo.AppID+"' -H 'app_key: "+demo.AppKey+"' '"+ex.base+"/'")
		assert.NotContains(t, out, "/hello", "the default routes do not exist with a proxy configuration")
		checkRequests(t, ex.base, "", []request{
			{"GET", "/", http.Header{"app_id": {demo.AppID}, "app_key": {demo.AppKey}}, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"hits":1}}`},
		})
	})

	t.Run("proxy configuration without match", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "proxy.json")
		require.NoError(t, os.WriteFile(path, []byte(strings.Replace(proxyConfig, `"pattern": "/"`, `"pattern": "/only$"`, 1)), 0o600))
		ex := start(t, run, map[string]string{demo.EnvProxyConfig: path})
		status, b := get(t, "GET", ex.base+"/elsewhere", http.Header{"App-Id": {demo.AppID}, "App-Key": {demo.AppKey}})
		assert.Equal(t, http.StatusNotFound, status)
		assert.Equal(t, "No Mapping Rule matched", b)
	})

	t.Run("bad environment", func(t *testing.T) {
		for name, env := range map[string]map[string]string{
			"unknown mode":       {demo.EnvMode: "psychic"},
			"backend without id": {demo.EnvBackendURL: "http://127.0.0.1:1"},
			"missing config":     {demo.EnvProxyConfig: filepath.Join(t.TempDir(), "nope.json")},
			"bad address":        {demo.EnvAddr: "256.0.0.1:99999"},
		} {
			t.Run(name, func(t *testing.T) {
				err := run(context.Background(), getenv(env), io.Discard, func(demo.Listening) { t.Error("must not listen") })
				assert.Error(t, err)
			})
		}
	})

	t.Run("graceful shutdown finishes in-flight requests", func(t *testing.T) {
		sim := threescaletest.NewServer()
		t.Cleanup(sim.Close)
		require.NoError(t, demo.Seed(sim))
		arrived, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			once.Do(func() { close(arrived) })
			<-release
			sim.Handler().ServeHTTP(w, r)
		}))
		t.Cleanup(gate.Close)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ready := make(chan demo.Listening, 1)
		done := make(chan error, 1)
		env := getenv(map[string]string{demo.EnvAddr: "127.0.0.1:0", demo.EnvBackendURL: gate.URL,
			demo.EnvServiceID: demo.ServiceID, demo.EnvServiceToken: demo.ServiceToken})
		go func() { done <- run(ctx, env, io.Discard, func(l demo.Listening) { ready <- l }) }()
		l := <-ready
		type result struct {
			status int
			body   string
		}
		res := make(chan result, 1)
		go func() {
			resp, err := client.Get("http://" + l.Addr + "/hello?app_id=" + demo.AppID + "&app_key=" + demo.AppKey)
			if err != nil {
				res <- result{body: err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			res <- result{resp.StatusCode, string(b)}
		}()
		<-arrived        // the request is in flight, waiting for 3scale
		cancel()         // SIGINT/SIGTERM
		<-l.ShuttingDown // the server stopped accepting
		close(release)
		r := <-res
		assert.Equal(t, http.StatusOK, r.status, r.body)
		assert.NoError(t, <-done, "run returns nil (exit 0) after a graceful shutdown")
	})
}

const proxyConfig = `{"proxy_config": {"content": {"id": 2, "backend_version": "2", "proxy": {
  "credentials_location": "headers",
  "error_auth_missing": "Authentication parameters missing", "error_status_auth_missing": 403,
  "error_auth_failed": "Authentication failed", "error_status_auth_failed": 403,
  "proxy_rules": [
    {"http_method": "GET", "pattern": "/catalog/{id}", "metric_system_name": "product_reads", "delta": 1, "last": true, "position": 1},
    {"http_method": "ANY", "pattern": "/", "metric_system_name": "hits", "delta": 1, "position": 2}
  ]}}}}`

// portaExport is a production proxy configuration as porta exports it,
// with porta's defaults for the parameter names and error responses.
const portaExport = `{"proxy_config": {"id": 7001, "version": 3, "environment": "production", "content": {
  "id": 2555417777820, "account_id": 2445582535751, "name": "Products API", "system_name": "products",
  "backend_version": "2", "backend_authentication_type": "service_token",
  "backend_authentication_value": "porta-service-token-secret",
  "proxy": {
    "id": 97420, "tenant_id": 2445582535751, "service_id": 2555417777820,
    "endpoint": "https://products.example.com:443", "api_backend": "https://backend.internal:443",
    "auth_app_id": "app_id", "auth_app_key": "app_key", "auth_user_key": "user_key",
    "credentials_location": "headers", "hostname_rewrite": "", "oauth_login_url": null,
    "error_auth_failed": "Authentication failed", "error_status_auth_failed": 403,
    "error_headers_auth_failed": "text/plain; charset=us-ascii",
    "error_auth_missing": "Authentication parameters missing", "error_status_auth_missing": 403,
    "error_headers_auth_missing": "text/plain; charset=us-ascii",
    "error_limits_exceeded": "Usage limit exceeded", "error_status_limits_exceeded": 429,
    "error_headers_limits_exceeded": "text/plain; charset=us-ascii",
    "error_no_match": "No Mapping Rule matched", "error_status_no_match": 404,
    "error_headers_no_match": "text/plain; charset=us-ascii",
    "secret_token": "Shared_secret_sent_from_proxy_to_API_backend_0123456789abcdef",
    "hosts": ["products.example.com"],
    "policy_chain": [{"name": "apicast", "version": "builtin", "configuration": {}}],
    "proxy_rules": [
      {"id": 1, "http_method": "GET", "pattern": "/", "metric_id": 11, "metric_system_name": "hits", "delta": 1,
       "parameters": [], "querystring_parameters": {}, "position": 1, "last": false, "redirect_url": null},
      {"id": 2, "http_method": "GET", "pattern": "/products/{id}$", "metric_id": 12, "metric_system_name": "product_reads", "delta": 1,
       "parameters": ["id"], "querystring_parameters": {}, "position": 2, "last": false, "redirect_url": null},
      {"id": 3, "http_method": "POST", "pattern": "/products$", "metric_id": 13, "metric_system_name": "product_writes", "delta": 2,
       "parameters": [], "querystring_parameters": {}, "position": 3, "last": true, "redirect_url": null},
      {"id": 4, "http_method": "GET", "pattern": "/catalogue", "metric_id": 14, "metric_system_name": "catalogue_reads", "delta": 1,
       "parameters": [], "querystring_parameters": {}, "position": 4, "last": false, "redirect_url": null}
    ]}}}}`

func checkRoutes(t *testing.T, base string) {
	t.Helper()
	appQ := "app_id=" + demo.AppID + "&app_key=" + demo.AppKey
	appH := http.Header{"App-Id": {demo.AppID}, "App-Key": {demo.AppKey}}
	checkRequests(t, base, "", []request{
		{"GET", "/healthz", nil, 200, "ok"},
		{"GET", "/hello?user_key=" + demo.UserKey, nil, 200,
			`{"app_id":"demo-uk-app","plan":"Basic","usage":{"hits":1}}`},
		{"GET", "/hello", http.Header{"User-Key": {demo.UserKey}}, 200,
			`{"app_id":"demo-uk-app","plan":"Basic","usage":{"hits":1}}`},
		{"GET", "/hello?" + appQ, nil, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"hits":1}}`},
		{"GET", "/products/42", appH, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"product_reads":1}}`},
		{"POST", "/products?" + appQ, nil, 200, `{"app_id":"demo-app","plan":"Basic","usage":{"product_writes":2}}`},
		{"GET", "/hello", nil, 401, "Authentication parameters missing"},
		{"GET", "/hello?user_key=not-a-key", nil, 403, `user key "[redacted]" is invalid`},
		{"GET", "/hello?app_id=ghost&app_key=x", nil, 403, `application with id="ghost" was not found`},
		{"GET", "/hello?app_id=" + demo.SuspendedAppID + "&app_key=" + demo.SuspendedAppKey, nil, 403, "application is not active"},
		{"GET", "/hello?user_key=" + demo.UserKey + "&" + appQ, nil, 401, "Authentication parameters missing"},
	})
	t.Run("over the limit", func(t *testing.T) {
		target := base + "/hello?app_id=" + demo.LimitedAppID + "&app_key=" + demo.LimitedAppKey
		for i := 0; i < demo.LimitedHitsPerMinute; i++ {
			status, b := get(t, "GET", target, nil)
			require.Equal(t, http.StatusOK, status, b)
		}
		resp := do(t, "GET", target, nil)
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusConflict, resp.StatusCode)
		assert.Equal(t, "usage limits are exceeded", string(b))
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		assert.Equal(t, "0", resp.Header.Get("RateLimit-Remaining"))
		assert.Equal(t, "3", resp.Header.Get("RateLimit-Limit"))
	})
}

// request is one row of a table of requests to an example and the
// expected answer: body is exact, or JSON when it starts with "{".
type request struct {
	method, target string
	header         http.Header
	status         int
	body           string
}

// checkRequests sends each request to base; contentType, if not empty,
// is the expected Content-Type of every rejection.
func checkRequests(t *testing.T, base, contentType string, reqs []request) {
	t.Helper()
	for _, tc := range reqs {
		resp := do(t, tc.method, base+tc.target, tc.header)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, tc.status, resp.StatusCode, "%s %s: %s", tc.method, tc.target, b)
		if strings.HasPrefix(tc.body, "{") {
			assert.JSONEq(t, tc.body, string(b), "%s %s", tc.method, tc.target)
		} else {
			assert.Equal(t, tc.body, string(b), "%s %s", tc.method, tc.target)
		}
		if contentType != "" && tc.status != http.StatusOK {
			assert.Equal(t, contentType, resp.Header.Get("Content-Type"), "%s %s", tc.method, tc.target)
		}
	}
}

// example is a running example.
type example struct {
	base string
	out  *syncbuf.Buffer
}

func (e *example) stdout() string { return e.out.String() }

// start runs the example until the test ends; the test fails if run does
// not return nil after the cancellation.
func start(t *testing.T, run demo.RunFunc, env map[string]string) *example {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	env[demo.EnvAddr] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncbuf.Buffer{}
	ready := make(chan demo.Listening, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, getenv(env), out, func(l demo.Listening) { ready <- l }) }()
	var l demo.Listening
	select {
	case l = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("example did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	return &example{base: "http://" + l.Addr, out: out}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func do(t *testing.T, method, target string, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	require.NoError(t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func get(t *testing.T, method, target string, h http.Header) (int, string) {
	t.Helper()
	resp := do(t, method, target, h)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

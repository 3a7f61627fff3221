package metrics_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/metrics"
)

// TestMain fails the package if any test leaves a goroutine behind: the
// mappers start none.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// portaExport loads testdata/porta_export.json, a proxy configuration as
// porta's "proxy_configs" endpoint exports it, with the content as an
// object or, when asString, as a JSON string.
func portaExport(t *testing.T, asString bool) *metrics.ProxyConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "porta_export.json"))
	require.NoError(t, err)
	if asString {
		var doc map[string]map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(data, &doc))
		s, err := json.Marshal(string(doc["proxy_config"]["content"]))
		require.NoError(t, err)
		doc["proxy_config"]["content"] = s
		data, err = json.Marshal(doc)
		require.NoError(t, err)
	}
	c, err := metrics.LoadProxyConfig(data)
	require.NoError(t, err)
	return c
}

// TestPortaExport checks the loader against a realistic porta export: the
// credentials extractor, the error responses and the mapping rules (file
// order differs from position order; prefix, "$", placeholders, query
// conditions, last).
func TestPortaExport(t *testing.T) {
	for _, asString := range []bool{false, true} {
		t.Run("content as string "+strconv.FormatBool(asString), func(t *testing.T) {
			c := portaExport(t, asString)
			assert.Equal(t, "2", c.ServiceID)
			assert.Equal(t, "1", c.BackendVersion)
			assert.Equal(t, credentials.InHeaders, c.CredentialsLocation)
			assert.Equal(t, "x-api-key", c.AuthUserKey)
			assert.Equal(t, metrics.DefaultErrorResponses(), c.Errors, "porta's values, 403 for auth missing")
			require.Len(t, c.Rules, 7)
			assert.Equal(t, metrics.Rule{Method: "PUT", Pattern: "/v1/products/{id}$", Metric: "product_writes", Delta: 2, Position: 5}, c.Rules[0], "file order kept")

			ext := c.Extractor(credentials.Strip())
			for _, h := range []string{"X-Api-Key", "x_api_key", "X-API-KEY"} {
				r := httptest.NewRequest(http.MethodGet, "/v1/products/1?x=1", nil)
				r.Header[h] = []string{"k3y"}
				got, err := ext.Extract(r)
				require.NoError(t, err, h)
				assert.Equal(t, core.UserKey("k3y"), got)
				assert.Empty(t, r.Header, "stripped")
				assert.Equal(t, "x=1", r.URL.RawQuery)
			}
			_, err := ext.Extract(httptest.NewRequest(http.MethodGet, "/v1/products/1?user_key=k3y&x-api-key=k3y", nil))
			assert.ErrorIs(t, err, credentials.ErrMissing, "headers location: the query is not read")

			tests := []struct {
				method, target string
				usage          core.Usage
				positions      []int
				params         map[string]string
			}{
				{"GET", "/v1/products/42", core.Usage{"hits": 1, "product_reads": 1}, []int{1, 2}, map[string]string{"id": "42"}},
				{"GET", "//v1//products/42", core.Usage{"hits": 1, "product_reads": 1}, []int{1, 2}, map[string]string{"id": "42"}},
				{"GET", "/v1/products/a@b:c%25", core.Usage{"hits": 1, "product_reads": 1}, []int{1, 2}, map[string]string{"id": "a@b:c%"}},
				{"GET", "/v1/products/42/reviews", core.Usage{"hits": 1}, []int{1}, nil},
				{"GET", "/v1/products?sort=price&category=shoes", core.Usage{"hits": 1, "product_search": 2}, []int{1, 3}, map[string]string{"category": "shoes"}},
				{"GET", "/v1/products?category=&sort=name&sort=price", core.Usage{"hits": 1, "product_search": 2}, []int{1, 3}, map[string]string{"category": ""}},
				{"GET", "/v1/products?category=shoes&sort=price&sort=name", core.Usage{"hits": 1}, []int{1}, nil},
				{"GET", "/v1/products?sort=price", core.Usage{"hits": 1}, []int{1}, nil},
				{"POST", "/v1/products", core.Usage{"product_writes": 5}, []int{4}, nil},
				{"POST", "/v1/products/9/images", core.Usage{"product_writes": 3}, []int{6}, map[string]string{"id": "9"}},
				{"POST", "/v1/productsX", core.Usage{"hits": 1}, []int{7}, nil},
				{"PUT", "/v1/products/42", core.Usage{"product_writes": 2}, []int{5}, map[string]string{"id": "42"}},
			}
			for _, tt := range tests {
				got, err := c.Mapper().Map(httptest.NewRequest(tt.method, tt.target, nil))
				require.NoError(t, err, tt.method+" "+tt.target)
				assert.Equal(t, tt.usage, got.Usage, tt.method+" "+tt.target)
				assert.Equal(t, tt.params, got.Params, tt.method+" "+tt.target)
				var positions []int
				for _, mr := range got.Rules {
					positions = append(positions, mr.Position)
				}
				assert.Equal(t, tt.positions, positions, tt.method+" "+tt.target)
			}
			for _, target := range []string{"PUT /v1/products/42/x", "DELETE /v1/products/42", "PUT /v1/products"} {
				method, path, _ := strings.Cut(target, " ")
				_, err := c.Mapper().Map(httptest.NewRequest(method, path, nil))
				assert.ErrorIs(t, err, metrics.ErrNoMatch, target)
			}
		})
	}
}

// TestPortaExportStringContentErrors checks that errors inside a
// string-encoded content name the field by its path.
func TestPortaExportStringContentErrors(t *testing.T) {
	for doc, want := range map[string]string{
		`{"proxy_config": {"content": "{\"proxy\": {\"proxy_rules\": [{\"pattern\": 5}]}}"}}`:                            "proxy_config.content.proxy.proxy_rules[0].pattern: want a string, got number",
		`{"proxy_config": {"content": "{\"proxy\": {\"error_status_auth_failed\": \"forbidden\"}}"}}`:                    "proxy_config.content.proxy.error_status_auth_failed: want an integer",
		`{"proxy_config": {"content": "{\"backend_version\": \"1\", \"proxy\": {\"credentials_location\": \"body\"}}"}}`: `proxy_config.content.proxy.credentials_location: unknown location "body" (want query, headers or authorization)`,
		`{"proxy_config": {"content": "{\"proxy\": "}}`:                                                                  "proxy_config.content: invalid JSON at offset 10",
	} {
		_, err := metrics.LoadProxyConfig([]byte(doc))
		require.Error(t, err, doc)
		assert.Equal(t, "metrics: proxy config: "+want, err.Error())
	}
}

// TestProxyConfigErrorsNoSecrets checks that a malformed configuration
// does not echo secrets (tokens, shared secrets) in the error.
func TestProxyConfigErrorsNoSecrets(t *testing.T) {
	const token = "0123456789abcdef-secret-token"
	for _, doc := range []string{
		`{"backend_authentication_value": "` + token + `", "proxy": {"secret_token": "` + token + `", "proxy_rules": [{"pattern": "/", "metric_system_name": "hits", "delta": "` + token + `"}]}}`,
		`{"proxy": {"secret_token": "` + token + `", "error_status_auth_failed": "` + token + `"}}`,
		`{"proxy": {"secret_token": "` + token + `", "proxy_rules": [{"pattern": "/", "metric_system_name": "hits", "last": "` + token + `"}]}}`,
		`{"proxy": {"secret_token": "` + token + `", ` + token + `}}`,
	} {
		_, err := metrics.LoadProxyConfig([]byte(doc))
		require.Error(t, err, doc)
		assert.NotContains(t, err.Error(), token)
	}
}

// TestMapQueryLenientDecoding checks that query arguments decode leniently
// as nginx's do: a parameter whose value has an invalid escape is present.
func TestMapQueryLenientDecoding(t *testing.T) {
	tests := []struct {
		pattern, rawQuery string
		match             bool
	}{
		{"/s?q={q}", "q=%zz", true},
		{"/s?q={q}", "q=%", true},
		{"/s?q=%25zz", "q=%zz", true},
		{"/s?q=1", "q=1&q=%zz", false},
		{"/s?q=1", "q=%zz&q=1", true},
		{"/s?q={q}", "%zz=1", false},
	}
	for _, tt := range tests {
		assertMatch(t, tt.pattern, &url.URL{Path: "/s", RawQuery: tt.rawQuery}, tt.match)
	}
}

// assertMatch maps a GET request for u through the single rule pattern.
func assertMatch(t *testing.T, pattern string, u *url.URL, match bool) {
	t.Helper()
	m, err := metrics.CompileRules([]metrics.Rule{rule("GET", pattern)})
	require.NoError(t, err)
	_, err = m.Map(&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}})
	if match {
		assert.NoError(t, err, pattern+" "+u.String())
	} else {
		assert.ErrorIs(t, err, metrics.ErrNoMatch, pattern+" "+u.String())
	}
}

// TestMapTrailingDotSegments checks nginx's handling of a final "." or ".."
// segment: it leaves a trailing slash ("/a/b/." is "/a/b/").
func TestMapTrailingDotSegments(t *testing.T) {
	tests := []struct {
		pattern, path string
		match         bool
	}{
		{"/foo/bar/$", "/foo/bar/.", true},
		{"/foo/bar$", "/foo/bar/.", false},
		{"/foo/$", "/foo/bar/..", true},
		{"/foo$", "/foo/bar/..", false},
		{"/$", "/foo/..", true},
		{"/$", "/..", true},
		{"/foo/bar$", "/foo/bar", true},
	}
	for _, tt := range tests {
		assertMatch(t, tt.pattern, &url.URL{Path: tt.path}, tt.match)
	}
}

// TestMapHostileRequests maps hostile requests through the realistic rule
// set: no panic, a usable answer, and no copy of the input in the error.
func TestMapHostileRequests(t *testing.T) {
	m, err := metrics.CompileRules(append(realisticRules(), rule("POST", "/v1/search?q={q}")))
	require.NoError(t, err)
	params := make([]string, 10000)
	for i := range params {
		params[i] = "q" + strconv.Itoa(i) + "=%zz"
	}
	many := strings.Join(params, "&")
	long := strings.Repeat("/seg%zz\xff", 1<<16)
	reqs := map[string]*http.Request{
		"very long path":        {Method: "GET", URL: &url.URL{Path: "/v1/products" + long}},
		"very long segment":     {Method: "GET", URL: &url.URL{Path: "/v1/orders/" + strings.Repeat("x", 1<<20) + "/items/1"}},
		"thousands of params":   {Method: "GET", URL: &url.URL{Path: "/v1/search", RawQuery: many + "&lang=en&q=x"}},
		"invalid UTF-8":         {Method: "GET", URL: &url.URL{Path: "/v1/\xff\xfe/{}", RawQuery: "q=\xff&lang=\xfe"}},
		"escapes in raw path":   {Method: "GET", URL: &url.URL{Path: "/v1/%zz/..%2F..", RawPath: "/v1/%zz/..%2F.."}},
		"dot segments only":     {Method: "GET", URL: &url.URL{Path: "/../../.././/."}},
		"empty method and path": {URL: &url.URL{}},
		"nil URL":               {Method: "GET"},
		"thousands of form fields": func() *http.Request {
			r := httptest.NewRequest("POST", "/v1/search", strings.NewReader(many+"&q=1"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}(),
	}
	for name, r := range reqs {
		t.Run(name, func(t *testing.T) {
			got, err := m.Map(r)
			if err != nil {
				require.ErrorIs(t, err, metrics.ErrNoMatch)
				assert.Equal(t, metrics.ErrNoMatch.Error(), err.Error())
				return
			}
			assert.NotEmpty(t, got.Rules)
			require.NoError(t, got.Usage.Validate())
		})
	}
}

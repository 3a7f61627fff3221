package metrics_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/metrics"
)

func TestParseProxyConfigFile(t *testing.T) {
	c, err := metrics.ParseProxyConfigFile(filepath.Join("testdata", "proxy_config.json"))
	require.NoError(t, err)
	assert.Equal(t, "2555417777820", c.ServiceID)
	assert.Equal(t, "2", c.BackendVersion)
	assert.Equal(t, credentials.InHeaders, c.CredentialsLocation)
	assert.Equal(t, "x-app-id", c.AuthAppID)
	assert.Equal(t, "x-app-key", c.AuthAppKey)
	assert.Equal(t, metrics.ErrorResponses{
		AuthMissing:    metrics.ErrorResponse{Status: 401, ContentType: metrics.PortaContentType, Body: "Authentication parameters missing"},
		AuthFailed:     metrics.ErrorResponse{Status: 403, ContentType: metrics.PortaContentType, Body: "Authentication failed"},
		LimitsExceeded: metrics.ErrorResponse{Status: 429, ContentType: metrics.PortaContentType, Body: "Usage limit exceeded"},
		NoMatch:        metrics.ErrorResponse{Status: 404, ContentType: "application/json", Body: `{"error":"no route"}`},
	}, c.Errors)
	require.Len(t, c.Rules, 4)
	assert.Equal(t, metrics.Rule{Method: "GET", Pattern: "/search?q={query}&lang=en", Metric: "search", Delta: 2, Position: 4,
		Query: map[string]string{"q": "{query}", "lang": "en"}}, c.Rules[3])

	// the extractor: app_id/app_key in headers with the configured names
	r := httptest.NewRequest("GET", "/products/1", nil)
	r.Header.Set("X-App-Id", "app1")
	r.Header.Set("X_App_Key", "key1")
	creds, err := c.Extractor().Extract(r)
	require.NoError(t, err)
	assert.Equal(t, core.AppID("app1", "key1"), creds)

	// the mapper
	tests := []struct {
		method, target string
		usage          core.Usage
		params         map[string]string
	}{
		{"GET", "/products/1", core.Usage{"hits": 1, "product_read": 1}, map[string]string{"id": "1"}},
		{"GET", "/products/1/reviews", core.Usage{"hits": 1}, nil},
		{"POST", "/products", core.Usage{"product_write": 5}, nil},
		{"GET", "/search?lang=en&q=", core.Usage{"hits": 1, "search": 2}, map[string]string{"query": ""}},
		{"GET", "/search?lang=de&q=x", core.Usage{"hits": 1}, nil},
	}
	for _, tt := range tests {
		got, err := c.Mapper().Map(httptest.NewRequest(tt.method, tt.target, nil))
		require.NoError(t, err, tt.target)
		assert.Equal(t, tt.usage, got.Usage, tt.target)
		assert.Equal(t, tt.params, got.Params, tt.target)
	}
	_, err = c.Mapper().Map(httptest.NewRequest("DELETE", "/products/1", nil))
	assert.ErrorIs(t, err, metrics.ErrNoMatch)
}

// TestLoadProxyConfigShapes checks that the portal wrapper, the bare
// service object, APIcast's services list and a string content agree.
func TestLoadProxyConfigShapes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "proxy_config.json"))
	require.NoError(t, err)
	var wrapper struct {
		ProxyConfig struct {
			Content json.RawMessage `json:"content"`
		} `json:"proxy_config"`
	}
	require.NoError(t, json.Unmarshal(data, &wrapper))
	content := string(wrapper.ProxyConfig.Content)
	quoted, err := json.Marshal(content)
	require.NoError(t, err)

	want, err := metrics.LoadProxyConfig(data)
	require.NoError(t, err)
	for name, doc := range map[string]string{
		"bare":           content,
		"services":       `{"services": [` + content + `]}`,
		"string content": `{"proxy_config": {"content": ` + string(quoted) + `}}`,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := metrics.LoadProxyConfig([]byte(doc))
			require.NoError(t, err)
			assert.Equal(t, want.Rules, got.Rules)
			assert.Equal(t, want.Errors, got.Errors)
			assert.Equal(t, want.BackendVersion, got.BackendVersion)
			assert.Equal(t, want.ServiceID, got.ServiceID)
		})
	}
}

func TestLoadProxyConfigDefaults(t *testing.T) {
	c, err := metrics.LoadProxyConfig([]byte(`{"proxy": {}}`))
	require.NoError(t, err)
	assert.Equal(t, "1", c.BackendVersion)
	assert.Equal(t, credentials.InQuery, c.CredentialsLocation)
	assert.Equal(t, []string{"user_key", "app_id", "app_key"}, []string{c.AuthUserKey, c.AuthAppID, c.AuthAppKey})
	const utf8 = "text/plain; charset=utf-8"
	assert.Equal(t, metrics.ErrorResponses{ // APIcast's fallbacks for absent fields
		AuthMissing:    metrics.ErrorResponse{Status: 401, ContentType: utf8, Body: "Authentication parameters missing"},
		AuthFailed:     metrics.ErrorResponse{Status: 403, ContentType: utf8, Body: "Authentication failed"},
		LimitsExceeded: metrics.ErrorResponse{Status: 429, ContentType: utf8, Body: "Limits exceeded"},
		NoMatch:        metrics.ErrorResponse{Status: 404, ContentType: utf8, Body: "No Mapping Rule matched"},
	}, c.Errors)
	assert.Empty(t, c.Rules)
	_, err = c.Mapper().Map(httptest.NewRequest("GET", "/", nil))
	assert.ErrorIs(t, err, metrics.ErrNoMatch)

	creds, err := c.Extractor().Extract(httptest.NewRequest("GET", "/?user_key=k", nil))
	require.NoError(t, err)
	assert.Equal(t, core.UserKey("k"), creds)

	// null fields fall back too; an empty body is kept (Lua's "" is truthy)
	c, err = metrics.LoadProxyConfig([]byte(`{"proxy": {"error_no_match": "", "error_status_no_match": null, "error_headers_no_match": null}}`))
	require.NoError(t, err)
	assert.Equal(t, metrics.ErrorResponse{Status: 404, ContentType: utf8}, c.Errors.NoMatch)

	assert.Equal(t, 403, metrics.DefaultErrorResponses().AuthMissing.Status)
	assert.Equal(t, metrics.PortaContentType, metrics.DefaultErrorResponses().NoMatch.ContentType)
}

func TestProxyConfigExtractorModes(t *testing.T) {
	tests := []struct {
		name   string
		proxy  string
		setup  func(r *http.Request)
		target string
		want   core.Credentials
	}{
		{"backend_version 1 custom name", `{"backend_version": 1, "proxy": {"auth_user_key": "API_KEY"}}`, nil, "/?api_key=k", core.UserKey("k")},
		{"backend_version 2 query", `{"backend_version": "2", "proxy": {}}`, nil, "/?app_id=a&app_key=k", core.AppID("a", "k")},
		{"backend_version 2 authorization", `{"backend_version": "2", "proxy": {"credentials_location": "authorization"}}`, func(r *http.Request) {
			r.SetBasicAuth("a", "k")
		}, "/", core.AppID("a", "k")},
		{"oauth", `{"backend_version": "oauth", "proxy": {}}`, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer client")
		}, "/", core.OAuthApp("client", "")},
		{"authentication_method overrides", `{"backend_version": "1", "proxy": {"authentication_method": "oidc"}}`, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer client")
		}, "/", core.OAuthApp("client", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := metrics.LoadProxyConfig([]byte(tt.proxy))
			require.NoError(t, err)
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.setup != nil {
				tt.setup(r)
			}
			got, err := c.Extractor().Extract(r)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	c, err := metrics.LoadProxyConfig([]byte(`{"proxy": {}}`))
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "/?user_key=k&x=1", nil)
	_, err = c.Extractor(credentials.Strip()).Extract(r)
	require.NoError(t, err)
	assert.Equal(t, "x=1", r.URL.RawQuery)
}

func TestLoadProxyConfigErrors(t *testing.T) {
	rule := func(fields string) string {
		return `{"proxy": {"proxy_rules": [{"http_method": "GET", "pattern": "/", "metric_system_name": "hits", "delta": 1}, {` + fields + `}]}}`
	}
	tests := []struct {
		doc, want string
	}{
		{``, "(root): missing"},
		{`[]`, "(root): want an object, got array"},
		{`{"proxy": `, "(root): invalid JSON at offset 10"},
		{`{}`, "proxy: missing"},
		{`{"proxy": []}`, "proxy: want an object, got array"},
		{`{"proxy_config": {}}`, "proxy_config.content: missing"},
		{`{"proxy_config": {"content": {"id": 1}}}`, "proxy_config.content.proxy: missing"},
		{`{"services": []}`, "services: want exactly one service, got 0"},
		{`{"services": {}}`, "services: want an array"},
		{`{"services": [{"proxy": 1}]}`, "services[0].proxy: want an object, got number"},
		{`{"id": {}, "proxy": {}}`, "id: want a string, got object"},
		{`{"backend_version": "3", "proxy": {}}`, `backend_version: unknown authentication mode "3" (want 1, 2, oauth or oidc)`},
		{`{"proxy": {"authentication_method": "saml"}}`, `proxy.authentication_method: unknown authentication mode "saml" (want 1, 2, oauth or oidc)`},
		{`{"proxy": {"credentials_location": "cookie"}}`, `proxy.credentials_location: unknown location "cookie" (want query, headers or authorization)`},
		{`{"proxy": {"auth_user_key": 5}}`, "proxy.auth_user_key: want a string, got number"},
		{`{"proxy": {"error_status_no_match": "abc"}}`, "proxy.error_status_no_match: want an integer"},
		{`{"proxy": {"error_status_no_match": 42}}`, "proxy.error_status_no_match: status 42 out of range"},
		{`{"proxy": {"error_auth_failed": true}}`, "proxy.error_auth_failed: want a string, got boolean"},
		{`{"proxy": {"proxy_rules": {}}}`, "proxy.proxy_rules: want an array"},
		{`{"proxy": {"proxy_rules": [1]}}`, "proxy.proxy_rules[0]: want an object, got number"},
		{rule(`"metric_system_name": "hits"`), "proxy.proxy_rules[1].pattern: missing"},
		{rule(`"pattern": "/"`), "proxy.proxy_rules[1].metric_system_name: missing"},
		{rule(`"pattern": "/", "metric_system_name": "hits", "delta": "x"`), "proxy.proxy_rules[1].delta: want an integer"},
		{rule(`"pattern": "/", "metric_system_name": "hits", "delta": 1.5`), "proxy.proxy_rules[1].delta: want an integer"},
		{rule(`"pattern": "/", "metric_system_name": "hits", "delta": -2`), "proxy.proxy_rules[1].delta: -2 is negative"},
		{rule(`"pattern": "/", "metric_system_name": "hits", "last": "maybe"`), "proxy.proxy_rules[1].last: want a boolean, got string"},
		{rule(`"pattern": "/", "metric_system_name": "hits", "position": []`), "proxy.proxy_rules[1].position: want an integer, got array"},
		{rule(`"pattern": "/", "metric_system_name": "hits", "querystring_parameters": {"a": 1}`), "proxy.proxy_rules[1].querystring_parameters: want an object of strings"},
		{rule(`"pattern": "no-slash", "metric_system_name": "hits"`), `proxy.proxy_rules[1].pattern: must start with "/"`},
		{rule(`"pattern": "/{x", "metric_system_name": "hits"`), `proxy.proxy_rules[1].pattern: unclosed "{" at offset 1`},
		{rule(`"pattern": "/", "metric_system_name": " hits"`), `proxy.proxy_rules[1].metric_system_name: threescale: invalid input: metric name " hits" has surrounding white space`},
		{rule(`"pattern": "/", "metric_system_name": "hits", "querystring_parameters": {"": "1"}`), "proxy.proxy_rules[1].querystring_parameters: empty parameter name"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := metrics.LoadProxyConfig([]byte(tt.doc))
			require.Error(t, err)
			assert.Equal(t, "metrics: proxy config: "+tt.want, err.Error())
			var ce *metrics.ConfigError
			assert.ErrorAs(t, err, &ce)
		})
	}
}

func TestLoadProxyConfigLenientValues(t *testing.T) {
	c, err := metrics.LoadProxyConfig([]byte(`{"id": "42", "proxy": {"error_status_no_match": "410", "proxy_rules": [
		{"http_method": "GET", "pattern": "/a", "metric_system_name": "hits", "delta": "3", "last": "true", "position": "2", "querystring_parameters": null},
		{"http_method": "GET", "pattern": "/b", "metric_system_name": "hits"}]}}`))
	require.NoError(t, err)
	assert.Equal(t, "42", c.ServiceID)
	assert.Equal(t, 410, c.Errors.NoMatch.Status)
	assert.Equal(t, []metrics.Rule{
		{Method: "GET", Pattern: "/a", Metric: "hits", Delta: 3, Last: true, Position: 2},
		{Method: "GET", Pattern: "/b", Metric: "hits"},
	}, c.Rules)
}

func TestParseProxyConfigFileMissing(t *testing.T) {
	_, err := metrics.ParseProxyConfigFile(filepath.Join(t.TempDir(), "nope.json"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "metrics: proxy config: "))
}

func TestErrorResponseWrite(t *testing.T) {
	w := httptest.NewRecorder()
	metrics.DefaultErrorResponses().NoMatch.Write(w)
	assert.Equal(t, 404, w.Code)
	assert.Equal(t, metrics.PortaContentType, w.Header().Get("Content-Type"))
	assert.Equal(t, "No Mapping Rule matched", w.Body.String())
}

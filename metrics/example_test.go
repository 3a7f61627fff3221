package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/metrics"
)

func ExampleCompileRules() {
	m, err := metrics.CompileRules([]metrics.Rule{
		{Method: "ANY", Pattern: "/", Metric: "hits", Delta: 1, Position: 1},
		{Method: "GET", Pattern: "/products/{id}$", Metric: "product_read", Delta: 1, Position: 2},
		{Method: "GET", Pattern: "/search?q={query}", Metric: "search", Delta: 5, Position: 3, Last: true},
	})
	if err != nil {
		panic(err)
	}
	match, err := m.Map(httptest.NewRequest("GET", "/products/42", nil))
	fmt.Println(match.Usage, match.Params, err)

	match, err = m.Map(httptest.NewRequest("GET", "/search?q=shoes", nil))
	fmt.Println(match.Usage, match.Params, len(match.Rules), err)
	// Output:
	// map[hits:1 product_read:1] map[id:42] <nil>
	// map[hits:1 search:5] map[query:shoes] 2 <nil>
}

func ExampleCompileRules_noMatch() {
	m, _ := metrics.CompileRules([]metrics.Rule{{Method: "GET", Pattern: "/say-hello+$", Metric: "hits", Delta: 1}})
	_, err := m.Map(httptest.NewRequest("GET", "/say-hello+", nil))
	fmt.Println(err)
	_, err = m.Map(httptest.NewRequest("GET", "/say-helloo", nil))
	fmt.Println(errors.Is(err, metrics.ErrNoMatch), err)
	// Output:
	// <nil>
	// true metrics: No Mapping Rule matched
}

func ExampleRoutes() {
	m, _ := metrics.Routes(map[string]core.Usage{
		"GET /products/{id}": {"hits": 1, "product_read": 1},
		"/healthz":           {}, // exempt
	}, metrics.Unlisted(core.Hits(1)))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{item}", func(w http.ResponseWriter, r *http.Request) {
		match, _ := m.Map(r) // r.Pattern is "GET /items/{item}": unlisted
		fmt.Println(match.Route, match.Usage)
	})
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/1", nil))

	// a gin/echo adapter stores the framework's pattern in the context
	r := httptest.NewRequest("GET", "/products/7", nil)
	r = r.WithContext(metrics.WithRoutePattern(r.Context(), "/products/:id"))
	match, _ := m.Map(r)
	fmt.Println(match.Route, match.Usage)

	r = r.WithContext(metrics.WithRoutePattern(context.Background(), "/healthz"))
	match, _ = m.Map(r)
	fmt.Println(match.Exempt)
	// Output:
	// GET /items/{item} map[hits:1]
	// GET /products/{id} map[hits:1 product_read:1]
	// true
}

func ExampleLoadProxyConfig() {
	cfg, err := metrics.LoadProxyConfig([]byte(`{"proxy_config": {"content": {
		"backend_version": "1",
		"proxy": {
			"credentials_location": "headers",
			"auth_user_key": "X-API-Key",
			"error_status_auth_missing": 403,
			"error_auth_missing": "Authentication parameters missing",
			"proxy_rules": [
				{"http_method": "GET", "pattern": "/", "metric_system_name": "hits", "delta": 1, "position": 1}
			]
		}
	}}}`))
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/anything", nil)
	r.Header.Set("X-Api-Key", "secret")
	creds, err := cfg.Extractor().Extract(r)
	fmt.Println(creds, err)
	match, err := cfg.Mapper().Map(r)
	fmt.Println(match.Usage, err)
	fmt.Println(cfg.Errors.AuthMissing.Status, cfg.Errors.NoMatch.Status, cfg.Errors.NoMatch.Body)
	// Output:
	// user_key=[redacted] <nil>
	// map[hits:1] <nil>
	// 403 404 No Mapping Rule matched
}

func ExampleHits() {
	match, err := metrics.Hits().Map(httptest.NewRequest("GET", "/", nil))
	fmt.Println(match.Usage, err)
	// Output: map[hits:1] <nil>
}

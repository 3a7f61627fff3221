package metrics_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/metrics"
)

func TestStatic(t *testing.T) {
	tests := []struct {
		name   string
		mapper metrics.Mapper
		usage  core.Usage
		exempt bool
		errStr string
	}{
		{"hits", metrics.Hits(), core.Usage{"hits": 1}, false, ""},
		{"fixed map", metrics.Static(core.Usage{"hits": 1, "bytes": 10}), core.Usage{"hits": 1, "bytes": 10}, false, ""},
		{"empty is exempt", metrics.Static(core.Usage{}), nil, true, ""},
		{"nil is exempt", metrics.Static(nil), nil, true, ""},
		{"invalid", metrics.Static(core.Usage{"hits": -1}), nil, false, "metrics: static usage: threescale: invalid input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.mapper.Map(get("/x"))
			if tt.errStr != "" {
				assert.ErrorContains(t, err, tt.errStr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.usage, got.Usage)
			assert.Equal(t, tt.exempt, got.Exempt)
		})
	}
}

func TestStaticUsageIsCopied(t *testing.T) {
	u := core.Usage{"hits": 1}
	m := metrics.Static(u)
	u["hits"] = 50 // the caller's map is copied at construction
	got, err := m.Map(get("/"))
	require.NoError(t, err)
	got.Usage["hits"] = 99 // and every result is a copy
	got, err = m.Map(get("/"))
	require.NoError(t, err)
	assert.Equal(t, core.Usage{"hits": 1}, got.Usage)
}

func TestContext(t *testing.T) {
	_, ok := metrics.FromContext(context.Background())
	assert.False(t, ok)
	want := metrics.Match{Usage: core.Usage{"hits": 1}, Params: map[string]string{"id": "1"}}
	got, ok := metrics.FromContext(metrics.NewContext(context.Background(), want))
	require.True(t, ok)
	assert.Equal(t, want, got)

	r := get("/")
	assert.Equal(t, "", metrics.RoutePattern(r))
	r.Pattern = "GET /{id}"
	assert.Equal(t, "GET /{id}", metrics.RoutePattern(r))
	r = r.WithContext(metrics.WithRoutePattern(r.Context(), "/:id"))
	assert.Equal(t, "/:id", metrics.RoutePattern(r))
}

func TestRoutes(t *testing.T) {
	routes := map[string]core.Usage{
		"GET /products/{id}":          {"hits": 1, "product_read": 1},
		"POST /products":              {"hits": 1, "product_write": 1},
		"/products":                   {"hits": 2},
		"/users/:uid/orders/{oid}":    {"orders": 1},
		"/files/*filepath":            {"downloads": 1},
		"GET example.com/special":     {"special": 1},
		"/healthz":                    {},
		"  DELETE   /products/{id}  ": {"product_delete": 1},
		"/chi/{id:[0-9]{3}}/x":        {"chi": 1},
		"/exact/{$}":                  {"exact": 1},
	}
	m, err := metrics.Routes(routes)
	require.NoError(t, err)

	req := func(method, pattern string) *http.Request {
		r := withMethod(method, "/whatever")
		r.Pattern = pattern
		return r
	}
	chi := func(method, pattern string) *http.Request {
		r := withMethod(method, "/whatever")
		return r.WithContext(metrics.WithRoutePattern(r.Context(), pattern))
	}
	tests := []struct {
		name   string
		req    *http.Request
		usage  core.Usage
		exempt bool
		route  string
	}{
		{"net/http method pattern", req("GET", "GET /products/{pid}"), core.Usage{"hits": 1, "product_read": 1}, false, "GET /products/{id}"},
		{"net/http HEAD on GET pattern", req("HEAD", "GET /products/{pid}"), core.Usage{"hits": 1, "product_read": 1}, false, "GET /products/{id}"},
		{"gin pattern with request method", chi("GET", "/products/:id"), core.Usage{"hits": 1, "product_read": 1}, false, "GET /products/{id}"},
		{"chi pattern, other method falls back to path key", chi("PUT", "/products"), core.Usage{"hits": 2}, false, "/products"},
		{"method-specific beats path key", chi("POST", "/products"), core.Usage{"hits": 1, "product_write": 1}, false, "POST /products"},
		{"mixed styles", chi("GET", "/users/{id}/orders/:order"), core.Usage{"orders": 1}, false, "/users/:uid/orders/{oid}"},
		{"wildcards equal across styles", req("GET", "GET /files/{rest...}"), core.Usage{"downloads": 1}, false, "/files/*filepath"},
		{"echo wildcard", chi("GET", "/files/*"), core.Usage{"downloads": 1}, false, "/files/*filepath"},
		{"host pattern", req("GET", "GET example.com/special"), core.Usage{"special": 1}, false, "GET example.com/special"},
		{"trimmed key", chi("DELETE", "/products/{x}"), core.Usage{"product_delete": 1}, false, "  DELETE   /products/{id}  "},
		{"chi regexp param", chi("GET", "/chi/{n}/x"), core.Usage{"chi": 1}, false, "/chi/{id:[0-9]{3}}/x"},
		{"exempt route", chi("GET", "/healthz"), nil, true, "/healthz"},
		{"{$} kept distinct", req("GET", "/exact/"), core.Usage{"hits": 1}, false, "/exact/"},
		{"{$} matches", req("GET", "/exact/{$}"), core.Usage{"exact": 1}, false, "/exact/{$}"},
		{"unlisted gets hits=1", chi("GET", "/other"), core.Usage{"hits": 1}, false, "/other"},
		{"no pattern gets hits=1", withMethod("GET", "/x"), core.Usage{"hits": 1}, false, ""},
		{"unparsable pattern is unlisted", chi("GET", "/a/{b"), core.Usage{"hits": 1}, false, "/a/{b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // second time through the pattern cache
				got, err := m.Map(tt.req)
				require.NoError(t, err)
				assert.Equal(t, tt.usage, got.Usage)
				assert.Equal(t, tt.exempt, got.Exempt)
				assert.Equal(t, tt.route, got.Route)
			}
		})
	}
}

func TestRoutesUnlistedOptions(t *testing.T) {
	routes := map[string]core.Usage{"/a": {"a": 1}}
	r := get("/b")
	r.Pattern = "/b"

	m, err := metrics.Routes(routes, metrics.UnlistedExempt())
	require.NoError(t, err)
	got, err := m.Map(r)
	require.NoError(t, err)
	assert.True(t, got.Exempt)

	m, err = metrics.Routes(routes, metrics.Unlisted(core.Usage{"other": 3}))
	require.NoError(t, err)
	got, err = m.Map(r)
	require.NoError(t, err)
	assert.Equal(t, core.Usage{"other": 3}, got.Usage)

	m, err = metrics.Routes(routes, metrics.UnlistedNoMatch())
	require.NoError(t, err)
	_, err = m.Map(r)
	assert.ErrorIs(t, err, metrics.ErrNoMatch)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(http.ResponseWriter, *http.Request) {})
	m, err = metrics.Routes(routes, metrics.UnlistedNoMatch(), metrics.PatternFunc(func(r *http.Request) string {
		_, p := mux.Handler(r)
		return p
	}))
	require.NoError(t, err)
	got, err = m.Map(get("/a")) // r.Pattern is not set before the mux runs
	require.NoError(t, err)
	assert.Equal(t, core.Usage{"a": 1}, got.Usage)
}

func TestRoutesErrors(t *testing.T) {
	tests := []struct {
		routes map[string]core.Usage
		opts   []metrics.RouteOption
		want   string
	}{
		{map[string]core.Usage{"/a/:id": {"h": 1}, "/a/{x}": {"h": 2}}, nil, `metrics: routes "/a/:id" and "/a/{x}" are the same route`},
		{map[string]core.Usage{"/a/{x": {"h": 1}}, nil, `metrics: route "/a/{x": unclosed "{" at offset 3`},
		{map[string]core.Usage{"GET": {"h": 1}}, nil, `metrics: route "GET": no path`},
		{map[string]core.Usage{"/a": {"h": -1}}, nil, `metrics: route "/a": threescale: invalid input: usage value -1 for metric "h" is negative`},
		{nil, []metrics.RouteOption{metrics.Unlisted(core.Usage{"": 1})}, `metrics: unlisted route usage: threescale: invalid input: empty metric name`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := metrics.Routes(tt.routes, tt.opts...)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// TestConcurrentMap exercises the shared state of the mappers (the route
// pattern cache) under -race.
func TestConcurrentMap(t *testing.T) {
	routes, err := metrics.Routes(map[string]core.Usage{"/a/:id": {"a": 1}})
	require.NoError(t, err)
	rules, err := metrics.CompileRules([]metrics.Rule{{Method: "GET", Pattern: "/a/{id}", Metric: "a", Delta: 1}})
	require.NoError(t, err)
	done := make(chan core.Usage)
	for i := range 8 {
		go func() {
			r := get("/a/1")
			r.Pattern = []string{"/a/{id}", "/a/:x", "GET /a/{y}"}[i%3]
			var last core.Usage
			for range 200 {
				m1, err1 := routes.Map(r)
				m2, err2 := rules.Map(r)
				if err1 != nil || err2 != nil {
					last = nil
					break
				}
				m1.Usage["a"]++ // results are private copies
				last = m2.Usage
			}
			done <- last
		}()
	}
	for range 8 {
		assert.Equal(t, core.Usage{"a": 1}, <-done)
	}
}

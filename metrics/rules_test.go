package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/metrics"
)

func get(target string) *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }

func withMethod(method, target string) *http.Request { return httptest.NewRequest(method, target, nil) }

func postForm(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func rule(method, pattern string) metrics.Rule {
	return metrics.Rule{Method: method, Pattern: pattern, Metric: "hits", Delta: 1}
}

// TestMapRulesPath covers the path semantics of APIcast mapping rules
// (gateways.md §1.1) with a single rule per case.
func TestMapRulesPath(t *testing.T) {
	tests := []struct {
		pattern string
		req     *http.Request
		match   bool
		params  map[string]string
	}{
		// prefix by default, on the raw string
		{"/foo", get("/foo"), true, nil},
		{"/foo", get("/foo/bar"), true, nil},
		{"/foo", get("/foobar"), true, nil},
		{"/foo", get("/foo.json"), true, nil},
		{"/foo", get("/fo"), false, nil},
		{"/foo", get("/bar/foo"), false, nil},
		{"/", get("/anything/at/all"), true, nil},
		{"/foo", get("/foo?x=1"), true, nil},
		// "$" makes it exact
		{"/foo$", get("/foo"), true, nil},
		{"/foo$", get("/foo?a=1"), true, nil},
		{"/foo$", get("/foo/"), false, nil},
		{"/foo$", get("/foobar"), false, nil},
		{"/$", get("/"), true, nil},
		{"/$", get("/a"), false, nil},
		// placeholders match one segment
		{"/foo/{id}", get("/foo/123"), true, map[string]string{"id": "123"}},
		{"/foo/{id}", get("/foo/123/bar"), true, map[string]string{"id": "123"}},
		{"/foo/{id}", get("/foo/"), false, nil},
		{"/foo/{id}$", get("/foo/1/2"), false, nil},
		{"/foo/{id}$", get("/foo/1"), true, map[string]string{"id": "1"}},
		{"/foo/{id}/bar", get("/foo/1/bar"), true, map[string]string{"id": "1"}},
		{"/foo/{id}/bar", get("/foo/1/2/bar"), false, nil},
		{"/foo/{id}/bar", get("/foo//bar"), false, nil},
		{"/foo/{id}", get("/foo/a@b:c%25d!$&'()*+,;=~"), true, map[string]string{"id": "a@b:c%d!$&'()*+,;=~"}},
		{"/foo/{id}.json", get("/foo/1.json"), true, map[string]string{"id": "1"}},
		{"/foo/{id}.json", get("/foo/a.b.json"), true, map[string]string{"id": "a.b"}},
		{"/foo/{id}.json", get("/foo/.json"), false, nil},
		{"/foo/{id}.json$", get("/foo/1.json.json"), true, map[string]string{"id": "1.json"}},
		{"/foo/{id}.json", get("/foo/1/x.json"), false, nil},
		{"/{a}-{b}", get("/x-y-z"), true, map[string]string{"a": "x", "b": "y-z"}},
		{"/{a}{b}", get("/xyz"), true, map[string]string{"a": "x", "b": "yz"}},
		{"/{a}{b}", get("/x"), false, nil},
		{"/{}/x", get("/anything/x"), false, nil},
		{"/{}/x", get("/%7B%7D/x"), true, nil},
		{"/{a}/{b}/{c}$", get("/1/2/3"), true, map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"/{id}/{id}", get("/1/2"), true, map[string]string{"id": "1"}},
		// regex metacharacters are literal (APIcast #1001)
		{"/say-hello+$", get("/say-hello+"), true, nil},
		{"/say-hello+$", get("/say-helloo"), false, nil},
		{"/a.c", get("/abc"), false, nil},
		{"/a.c", get("/a.c"), true, nil},
		{"/(x)*", get("/(x)*"), true, nil},
		{"/(x)*", get("/x"), false, nil},
		{"/v1/items[0]", get("/v1/items%5B0%5D"), true, nil},
		{"/a$b", get("/a$b"), true, nil},
		{"/a|b", get("/a"), false, nil},
		{"/^a", get("/%5Ea"), true, nil},
		{`/a\d`, get(`/a%5Cd`), true, nil},
		// encoded paths: matched decoded and normalised, escapes in patterns decoded
		{"/foo%20/bar", get("/foo%20/bar"), true, nil},
		{"/foo /bar", get("/foo%20/bar"), true, nil},
		{"/foo%2fbar", get("/foo/bar"), true, nil},
		{"/a/b$", get("/a%2Fb"), true, nil},
		{"/caf%C3%A9", get("/caf%c3%a9"), true, nil},
		{"/100%", get("/100%25"), true, nil},
		{"/foo/bar$", get("/foo//bar"), true, nil},
		{"/foo/bar$", get("/foo/./bar"), true, nil},
		{"/foo/bar$", get("/x/../foo/bar"), true, nil},
		{"/foo/bar/$", get("/foo/bar/./"), true, nil},
		{"//foo///bar$", get("/foo/bar"), true, nil},
		{"/FOO", get("/foo"), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.req.URL.String(), func(t *testing.T) {
			m, err := metrics.CompileRules([]metrics.Rule{rule("GET", tt.pattern)})
			require.NoError(t, err)
			got, err := m.Map(tt.req)
			if !tt.match {
				assert.ErrorIs(t, err, metrics.ErrNoMatch)
				assert.Empty(t, got.Rules)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, core.Usage{"hits": 1}, got.Usage)
			assert.Equal(t, tt.params, got.Params)
			require.Len(t, got.Rules, 1)
			assert.Equal(t, tt.pattern, got.Rules[0].Pattern)
		})
	}
}

func TestMapRulesMethodAndQuery(t *testing.T) {
	tests := []struct {
		name   string
		rule   metrics.Rule
		req    *http.Request
		match  bool
		params map[string]string
	}{
		{"method mismatch", rule("POST", "/"), get("/"), false, nil},
		{"method exact", rule("DELETE", "/"), withMethod("DELETE", "/"), true, nil},
		{"ANY", rule("ANY", "/"), withMethod("PATCH", "/"), true, nil},
		{"empty method is ANY", rule("", "/"), withMethod("OPTIONS", "/"), true, nil},
		{"ANY with custom method", rule("ANY", "/"), withMethod("PURGE", "/"), true, nil},
		{"lowercase rule method", rule("get", "/"), get("/"), true, nil},
		{"HEAD is not GET", rule("GET", "/"), withMethod("HEAD", "/"), false, nil},
		{"query placeholder present", rule("GET", "/search?q={q}"), get("/search?q=go"), true, map[string]string{"q": "go"}},
		{"query placeholder empty value", rule("GET", "/search?q={q}"), get("/search?q="), true, map[string]string{"q": ""}},
		{"query placeholder key only", rule("GET", "/search?q={q}"), get("/search?q"), true, map[string]string{"q": ""}},
		{"query placeholder absent", rule("GET", "/search?q={q}"), get("/search?x=1"), false, nil},
		{"query variable inside a value", rule("GET", "/search?q=v{q-1}"), get("/search?q=x"), true, map[string]string{"q-1": "x"}},
		{"query {} is literal", rule("GET", "/search?q={}"), get("/search?q=x"), false, nil},
		{"query {} literal match", rule("GET", "/search?q={}"), get("/search?q=%7B%7D"), true, nil},
		{"query literal", rule("GET", "/search?lang=en"), get("/search?a=1&lang=en&b=2"), true, nil},
		{"query literal mismatch", rule("GET", "/search?lang=en"), get("/search?lang=fr"), false, nil},
		{"query repeated last wins", rule("GET", "/search?lang=en"), get("/search?lang=fr&lang=en"), true, nil},
		{"query repeated last loses", rule("GET", "/search?lang=en"), get("/search?lang=en&lang=fr"), false, nil},
		{"query encoded value", rule("GET", "/search?q=a b"), get("/search?q=a+b"), true, nil},
		{"query encoded key", rule("GET", "/search?q=1"), get("/search?%71=1"), true, nil},
		{"query key case-sensitive", rule("GET", "/search?q=1"), get("/search?Q=1"), false, nil},
		{"query order irrelevant", rule("GET", "/s?a=1&b={b}"), get("/s?b=2&a=1"), true, map[string]string{"b": "2"}},
		{"query with exact path", rule("GET", "/s$?a=1"), get("/s?a=1"), true, nil},
		{"query with exact path mismatch", rule("GET", "/s$?a=1"), get("/s/x?a=1"), false, nil},
		{"rule Query map", metrics.Rule{Method: "GET", Pattern: "/s", Metric: "hits", Delta: 1, Query: map[string]string{"a": "1", "b": "{b}"}}, get("/s?a=1&b=x"), true, map[string]string{"b": "x"}},
		{"rule Query map mismatch", metrics.Rule{Method: "GET", Pattern: "/s", Metric: "hits", Delta: 1, Query: map[string]string{"a": "1"}}, get("/s?a=2"), false, nil},
		{"form body POST", rule("POST", "/s?lang=en"), postForm("/s", "lang=en"), true, nil},
		{"form body wins over URI", rule("POST", "/s?lang=en"), postForm("/s?lang=fr", "lang=en"), true, nil},
		{"form body wins over URI, mismatch", rule("POST", "/s?lang=fr"), postForm("/s?lang=fr", "lang=en"), false, nil},
		{"form body repeated last wins", rule("POST", "/s?lang=en"), postForm("/s", "lang=fr&lang=en"), true, nil},
		{"form body ignored for DELETE", rule("DELETE", "/s?lang=en"), func() *http.Request {
			r := postForm("/s", "lang=en")
			r.Method = "DELETE"
			return r
		}(), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := metrics.CompileRules([]metrics.Rule{tt.rule})
			require.NoError(t, err)
			got, err := m.Map(tt.req)
			if !tt.match {
				assert.ErrorIs(t, err, metrics.ErrNoMatch)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, core.Usage{"hits": 1}, got.Usage)
			assert.Equal(t, tt.params, got.Params)
		})
	}
}

func TestMapRulesFormBodyIntact(t *testing.T) {
	m, err := metrics.CompileRules([]metrics.Rule{rule("POST", "/s?lang=en")})
	require.NoError(t, err)
	r := postForm("/s", "lang=en&x=1")
	_, err = m.Map(r)
	require.NoError(t, err)
	body, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, "lang=en&x=1", string(body))
}

// TestMapRulesWalk covers accumulation, delta 0, last and position order.
func TestMapRulesWalk(t *testing.T) {
	r := func(pos int, method, pattern, metric string, delta int64, last bool) metrics.Rule {
		return metrics.Rule{Method: method, Pattern: pattern, Metric: metric, Delta: delta, Last: last, Position: pos}
	}
	tests := []struct {
		name      string
		rules     []metrics.Rule
		opts      []metrics.RuleOption
		req       *http.Request
		usage     core.Usage
		positions []int
		err       error
	}{
		{
			name:      "deltas of every match are summed",
			rules:     []metrics.Rule{r(1, "ANY", "/", "hits", 1, false), r(2, "GET", "/products", "hits", 2, false), r(3, "GET", "/products/{id}", "product", 5, false)},
			req:       get("/products/7"),
			usage:     core.Usage{"hits": 3, "product": 5},
			positions: []int{1, 2, 3},
		},
		{
			name:      "last stops the walk",
			rules:     []metrics.Rule{r(1, "GET", "/products", "hits", 1, true), r(2, "ANY", "/", "hits", 10, false)},
			req:       get("/products/7"),
			usage:     core.Usage{"hits": 1},
			positions: []int{1},
		},
		{
			name:      "last only stops when it matches",
			rules:     []metrics.Rule{r(1, "POST", "/products", "hits", 1, true), r(2, "ANY", "/", "hits", 10, false)},
			req:       get("/products/7"),
			usage:     core.Usage{"hits": 10},
			positions: []int{2},
		},
		{
			name:      "ordered by position, not slice order",
			rules:     []metrics.Rule{r(5, "ANY", "/", "hits", 10, false), r(1, "GET", "/products", "hits", 1, true)},
			req:       get("/products"),
			usage:     core.Usage{"hits": 1},
			positions: []int{1},
		},
		{
			name:      "equal positions keep slice order",
			rules:     []metrics.Rule{r(0, "ANY", "/", "a", 1, true), r(0, "ANY", "/", "b", 1, false)},
			req:       get("/"),
			usage:     core.Usage{"a": 1},
			positions: []int{0},
		},
		{
			name:      "delta 0 alongside a costing rule",
			rules:     []metrics.Rule{r(1, "GET", "/free", "free", 0, false), r(2, "ANY", "/", "hits", 1, false)},
			req:       get("/free"),
			usage:     core.Usage{"hits": 1},
			positions: []int{1, 2},
		},
		{
			name:      "only delta 0 matches is no match, as APIcast",
			rules:     []metrics.Rule{r(1, "GET", "/free", "hits", 0, false)},
			req:       get("/free"),
			positions: []int{1},
			err:       metrics.ErrNoMatch,
		},
		{
			name:      "only delta 0 with AllowZeroUsage",
			rules:     []metrics.Rule{r(1, "GET", "/free", "hits", 0, false)},
			opts:      []metrics.RuleOption{metrics.AllowZeroUsage()},
			req:       get("/free"),
			positions: []int{1},
		},
		{
			name:  "no rule matches",
			rules: []metrics.Rule{r(1, "GET", "/products", "hits", 1, false)},
			req:   get("/orders"),
			err:   metrics.ErrNoMatch,
		},
		{
			name: "no rules at all",
			req:  get("/"),
			err:  metrics.ErrNoMatch,
		},
		{
			name:      "segment prefix option",
			rules:     []metrics.Rule{r(1, "GET", "/foo", "a", 1, false), r(2, "GET", "/foo/", "b", 1, false), r(3, "GET", "/", "c", 1, false)},
			opts:      []metrics.RuleOption{metrics.SegmentPrefix()},
			req:       get("/foobar"),
			usage:     core.Usage{"c": 1},
			positions: []int{3},
		},
		{
			name:      "segment prefix option still matches sub-paths",
			rules:     []metrics.Rule{r(1, "GET", "/foo", "a", 1, false), r(2, "GET", "/foo/{id}", "b", 1, false)},
			opts:      []metrics.RuleOption{metrics.SegmentPrefix()},
			req:       get("/foo/1/x"),
			usage:     core.Usage{"a": 1, "b": 1},
			positions: []int{1, 2},
		},
		{
			name:      "method lists keep ANY order",
			rules:     []metrics.Rule{r(1, "ANY", "/", "a", 1, false), r(2, "POST", "/", "b", 1, false), r(3, "ANY", "/", "c", 1, true), r(4, "POST", "/", "d", 1, false)},
			req:       withMethod("POST", "/"),
			usage:     core.Usage{"a": 1, "b": 1, "c": 1},
			positions: []int{1, 2, 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := metrics.CompileRules(tt.rules, tt.opts...)
			require.NoError(t, err)
			got, err := m.Map(tt.req)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			if len(tt.usage) > 0 {
				assert.Equal(t, tt.usage, got.Usage)
			} else {
				assert.Empty(t, got.Usage)
			}
			var positions []int
			for _, mr := range got.Rules {
				positions = append(positions, mr.Position)
			}
			assert.Equal(t, tt.positions, positions)
		})
	}
}

func TestMatchedRuleDetails(t *testing.T) {
	m, err := metrics.CompileRules([]metrics.Rule{
		{Method: "get", Pattern: "/p/{id}?v={v}", Metric: "reads", Delta: 3, Last: true, Position: 7},
	})
	require.NoError(t, err)
	got, err := m.Map(get("/p/9?v=2"))
	require.NoError(t, err)
	assert.Equal(t, []metrics.MatchedRule{{Method: "GET", Pattern: "/p/{id}?v={v}", Metric: "reads", Delta: 3, Last: true, Position: 7}}, got.Rules)
	assert.Equal(t, map[string]string{"id": "9", "v": "2"}, got.Params)
	assert.Equal(t, got.Rules, m.Rules())

	// results are independent copies
	got.Usage["reads"] = 100
	again, err := m.Map(get("/p/9?v=2"))
	require.NoError(t, err)
	assert.Equal(t, core.Usage{"reads": 3}, again.Usage)
}

func TestCompileRulesErrors(t *testing.T) {
	tests := []struct {
		rules []metrics.Rule
		want  string
	}{
		{[]metrics.Rule{rule("GET", "/"), rule("GET", "foo")}, `metrics: rule 1: pattern: must start with "/"`},
		{[]metrics.Rule{rule("GET", "")}, `metrics: rule 0: pattern: must start with "/"`},
		{[]metrics.Rule{rule("GET", "/a/{id")}, `metrics: rule 0: pattern: unclosed "{" at offset 3`},
		{[]metrics.Rule{rule("GET", "/a/{i/d}")}, `metrics: rule 0: pattern: unclosed "{" at offset 3`},
		{[]metrics.Rule{{Method: "GET", Pattern: "/", Metric: "hits", Delta: -1}}, `metrics: rule 0: delta: -1 is negative`},
		{[]metrics.Rule{{Method: "GET", Pattern: "/", Metric: ""}}, `metrics: rule 0: metric: threescale: invalid input: empty metric name`},
		{[]metrics.Rule{{Method: "GET", Pattern: "/", Metric: "a[b]"}}, `metrics: rule 0: metric: threescale: invalid input: metric name "a[b]" contains '[' or ']'`},
		{[]metrics.Rule{{Method: "GET", Pattern: "/", Metric: "hits", Query: map[string]string{"": "x"}}}, `metrics: rule 0: query: empty parameter name`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := metrics.CompileRules(tt.rules)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			var re *metrics.RuleError
			assert.ErrorAs(t, err, &re)
		})
	}
}

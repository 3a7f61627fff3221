package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/metrics"
)

// FuzzCompileRules feeds arbitrary patterns and methods to the compiler
// and maps a few requests with whatever compiles.
func FuzzCompileRules(f *testing.F) {
	for _, s := range []string{"/", "/foo$", "/a/{id}/b?x={x}&y=1", "/{a}{b}.json$", "/%zz{", "//x//{y}//", "/a?=&&=", "/{}", "/$?"} {
		f.Add(s, "GET")
	}
	f.Fuzz(func(t *testing.T, pattern, method string) {
		m, err := metrics.CompileRules([]metrics.Rule{{Method: method, Pattern: pattern, Metric: "hits", Delta: 1}})
		if err != nil {
			var re *metrics.RuleError
			require.ErrorAs(t, err, &re)
			return
		}
		for _, target := range []string{"/", "/a/b/c?x=1&y=1", "/a/1/b.json", pattern} {
			r := &http.Request{Method: strings.ToUpper(method), URL: &url.URL{Path: target, RawQuery: "x=1"}, Header: http.Header{}}
			got, err := m.Map(r)
			if err == nil {
				assert.NotEmpty(t, got.Rules)
			}
		}
	})
}

// reference compiles a pattern path (no "?", no "%") into the regular
// expression APIcast would use once issue #1001 is fixed: literals quoted,
// {name} as one or more non-"/" characters, anchored at the start, "$"
// anchoring the end.
func reference(pattern string) (*regexp.Regexp, bool) {
	for strings.Contains(pattern, "//") {
		pattern = strings.ReplaceAll(pattern, "//", "/")
	}
	exact := strings.HasSuffix(pattern, "$")
	pattern = strings.TrimSuffix(pattern, "$")
	var b strings.Builder
	b.WriteString("^")
	for pattern != "" {
		i := strings.IndexByte(pattern, '{')
		if i >= 0 && strings.HasPrefix(pattern[i:], "{}") {
			b.WriteString(regexp.QuoteMeta(pattern[:i+2]))
			pattern = pattern[i+2:]
			continue
		}
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(pattern))
			break
		}
		b.WriteString(regexp.QuoteMeta(pattern[:i]))
		j := strings.IndexAny(pattern[i+1:], "{}/")
		if j < 0 || pattern[i+1+j] != '}' {
			return nil, false
		}
		b.WriteString("[^/]+")
		pattern = pattern[i+j+2:]
	}
	if exact {
		b.WriteString("$")
	}
	return regexp.MustCompile(b.String()), true
}

// FuzzMapRules checks the hand-written matcher against the reference
// regular expression on normalised paths.
func FuzzMapRules(f *testing.F) {
	seeds := [][2]string{
		{"/foo", "/foobar"}, {"/foo$", "/foo/"}, {"/foo/{id}", "/foo/a@b:c"}, {"/{a}-{b}$", "/x-y-z"},
		{"/{a}.{b}/c$", "/a.b.c/c"}, {"/say-hello+$", "/say-hello+"}, {"/a{b}{c}d{e}$", "/axyzdd"}, {"/{x}/", "/a/"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], "q=1")
	}
	f.Fuzz(func(t *testing.T, pattern, path, query string) {
		m, err := metrics.CompileRules([]metrics.Rule{{Method: "ANY", Pattern: pattern, Metric: "hits", Delta: 1}})
		r := &http.Request{Method: "GET", URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		if err != nil {
			return
		}
		got, err := m.Map(r) // must not panic, whatever the input
		if strings.ContainsAny(pattern, "?%") || !utf8.ValidString(pattern) || !strings.HasPrefix(path, "/") || unclean(path) {
			return
		}
		re, ok := reference(pattern)
		require.True(t, ok, "compiled a pattern the reference rejects")
		want := re.MatchString(path)
		require.Equal(t, want, err == nil, "pattern %q path %q: regexp %s", pattern, path, re)
		if want {
			for name, v := range got.Params {
				assert.NotContains(t, v, "/", name)
				assert.Contains(t, path, v, name)
			}
		}
	})
}

func unclean(p string) bool {
	return strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
}

// FuzzLoadProxyConfig checks that hostile configuration files give an
// error or a usable configuration, never a panic.
func FuzzLoadProxyConfig(f *testing.F) {
	f.Add([]byte(`{"proxy": {"proxy_rules": [{"http_method": "GET", "pattern": "/a/{b}?c={d}", "metric_system_name": "hits", "delta": 1}]}}`))
	f.Add([]byte(`{"proxy_config": {"content": "{\"proxy\": {}}"}}`))
	f.Add([]byte(`{"services": [{"backend_version": "oauth", "proxy": {"credentials_location": "headers", "error_status_auth_missing": "401"}}]}`))
	f.Add([]byte(`{"proxy": {"proxy_rules": [{"pattern": "/", "metric_system_name": "h", "querystring_parameters": [], "last": "true", "position": "-3"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := metrics.LoadProxyConfig(data)
		if err != nil {
			var ce *metrics.ConfigError
			require.ErrorAs(t, err, &ce)
			return
		}
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/a/b", RawQuery: "c=1&user_key=k&app_id=a"}, Header: http.Header{}}
		_, _ = c.Mapper().Map(r)
		_, _ = c.Extractor().Extract(r)
	})
}

// indexRules is the realistic rule set plus rules that stress the index:
// short and placeholder-first prefixes, ANY rules between method rules.
func indexRules() []metrics.Rule {
	rules := realisticRules()
	for i, p := range []string{"/{tenant}/v1/orders", "/v", "/v1/o", "/v1/{x}s$", "/h", "/v1/orders/{id}/items?debug={d}"} {
		rules = append(rules, metrics.Rule{Method: []string{"ANY", "GET", "POST"}[i%3], Pattern: p, Metric: "extra", Delta: int64(i), Position: 50 + i*7})
	}
	return rules
}

// linearWalk is the reference walk: every rule compiled on its own and
// tried in position order.
func linearWalk(t testing.TB, rules []metrics.Rule, r *http.Request) (positions []int, usage map[string]int64) {
	sorted := append([]metrics.Rule(nil), rules...)
	slices.SortStableFunc(sorted, func(a, b metrics.Rule) int { return a.Position - b.Position })
	usage = map[string]int64{}
	for _, rule := range sorted {
		single, err := metrics.CompileRules([]metrics.Rule{rule}, metrics.AllowZeroUsage())
		require.NoError(t, err)
		if _, err := single.Map(r); err != nil {
			continue
		}
		positions = append(positions, rule.Position)
		if rule.Delta > 0 {
			usage[rule.Metric] += rule.Delta
		}
		if rule.Last {
			break
		}
	}
	return positions, usage
}

func checkAgainstLinearWalk(t *testing.T, m *metrics.RuleMapper, rules []metrics.Rule, r *http.Request) {
	wantPos, wantUsage := linearWalk(t, rules, r)
	got, _ := m.Map(r)
	var gotPos []int
	for _, mr := range got.Rules {
		gotPos = append(gotPos, mr.Position)
	}
	require.Equal(t, wantPos, gotPos, "%s %s", r.Method, r.URL)
	if len(wantUsage) == 0 {
		require.Empty(t, got.Usage)
	} else {
		require.Equal(t, wantUsage, map[string]int64(got.Usage))
	}
}

func TestIndexAgreesWithLinearWalk(t *testing.T) {
	rules := indexRules()
	m, err := metrics.CompileRules(rules)
	require.NoError(t, err)
	for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "PURGE"} {
		for _, target := range []string{
			"/", "/v", "/v1", "/v1/", "/v1/orders", "/v1/orders/1", "/v1/orders/1/items/2", "/v1/orders/1/items?debug=1",
			"/acme/v1/orders/3", "/v1/products/9/reviews", "/v1/search?q=x&lang=en", "/health", "/h", "/x", "/v1/users",
			"/v1/subscriptions/s1", "/v1/os", "/v1/oops$",
		} {
			checkAgainstLinearWalk(t, m, rules, httptest.NewRequest(method, target, nil))
		}
	}
}

// FuzzIndexedRules compares the indexed walk with the linear one.
func FuzzIndexedRules(f *testing.F) {
	f.Add("GET", "/v1/orders/1/items/2", "debug=1")
	f.Add("POST", "/v", "")
	f.Add("PATCH", "/acme/v1/orders", "x=1")
	rules := indexRules()
	m, err := metrics.CompileRules(rules)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, method, path, query string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		checkAgainstLinearWalk(t, m, rules, r)
	})
}

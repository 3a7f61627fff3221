package metrics

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/threescale-go/threescale/core"
)

// RouteOption configures [Routes].
type RouteOption func(*RouteMapper)

// Unlisted sets the usage of requests whose route is not listed (or that
// have no route pattern). The default is hits=1. An empty u makes them
// Exempt.
func Unlisted(u core.Usage) RouteOption {
	return func(m *RouteMapper) { m.unlisted, m.unlistedNoMatch = u.Clone(), false }
}

// UnlistedExempt makes requests on unlisted routes Exempt (no 3scale call).
func UnlistedExempt() RouteOption { return Unlisted(nil) }

// UnlistedNoMatch makes Map return [ErrNoMatch] for unlisted routes.
func UnlistedNoMatch() RouteOption { return func(m *RouteMapper) { m.unlistedNoMatch = true } }

// PatternFunc sets how the route pattern is found (default
// [RoutePattern]). With net/http, a middleware that wraps a ServeMux runs
// before the mux sets r.Pattern; use
// PatternFunc(func(r *http.Request) string { _, p := mux.Handler(r); return p }).
func PatternFunc(f func(*http.Request) string) RouteOption {
	return func(m *RouteMapper) {
		if f != nil {
			m.pattern = f
		}
	}
}

// RouteMapper is a [Mapper] that chooses the usage by the route pattern of
// the request. Build it with [Routes].
type RouteMapper struct {
	routes          map[routeKey]core.Usage
	names           map[routeKey]string // configured spelling, for Match.Route
	unlisted        core.Usage
	unlistedNoMatch bool
	pattern         func(*http.Request) string
	cache           sync.Map // raw route pattern → routeKey
	cached          atomic.Int64
}

type routeKey struct{ method, path string }

// maxCachedPatterns bounds the pattern cache; routers have a fixed set of
// routes, so the bound only matters when patterns are made up per request.
const maxCachedPatterns = 4096

// Routes returns a Mapper keyed by route pattern, so usage is configured
// per route without repeating paths. Keys may be written in any router's
// style and with an optional method:
//
//	"GET /products/{id}"   net/http ServeMux (Go 1.22+), chi
//	"/products/:id"        gin, echo, httprouter
//	"/files/{path...}", "/files/*filepath", "/files/*"   wildcards
//
// Parameter names and styles do not matter: "/products/{id}",
// "/products/:pid" and chi's "/products/{id:[0-9]+}" are the same route;
// wildcards are the same in every style; net/http's "{$}" is kept as is.
// A request is looked up as "METHOD pattern" (the method from the pattern
// itself when it has one, as net/http's, else r.Method), then as
// "pattern". A listed route with an empty usage is Exempt. Unlisted routes
// get hits=1 unless [Unlisted], [UnlistedExempt] or [UnlistedNoMatch] says
// otherwise. Keys that are equal after normalisation, or malformed, are an
// error.
func Routes(routes map[string]core.Usage, opts ...RouteOption) (*RouteMapper, error) {
	m := &RouteMapper{
		routes: make(map[routeKey]core.Usage, len(routes)), names: make(map[routeKey]string, len(routes)),
		unlisted: core.Hits(1), pattern: RoutePattern,
	}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	if err := m.unlisted.Validate(); err != nil {
		return nil, fmt.Errorf("metrics: unlisted route usage: %w", err)
	}
	for raw, u := range routes {
		k, err := parseRoute(raw)
		if err != nil {
			return nil, fmt.Errorf("metrics: route %q: %w", raw, err)
		}
		if err := u.Validate(); err != nil {
			return nil, fmt.Errorf("metrics: route %q: %w", raw, err)
		}
		if prev, dup := m.names[k]; dup {
			a, b := min(prev, raw), max(prev, raw)
			return nil, fmt.Errorf("metrics: routes %q and %q are the same route", a, b)
		}
		m.routes[k], m.names[k] = u.Clone(), raw
	}
	return m, nil
}

// Map implements [Mapper].
func (m *RouteMapper) Map(r *http.Request) (Match, error) {
	raw := m.pattern(r)
	if raw != "" {
		k, ok := m.key(raw)
		if ok {
			if k.method == "" {
				k.method = r.Method
			}
			for _, try := range [2]routeKey{k, {path: k.path}} {
				if u, ok := m.routes[try]; ok {
					return usageMatch(u, m.names[try]), nil
				}
			}
		}
	}
	if m.unlistedNoMatch {
		return Match{Route: raw}, ErrNoMatch
	}
	return usageMatch(m.unlisted, raw), nil
}

// key parses a request's route pattern through a bounded cache.
func (m *RouteMapper) key(raw string) (routeKey, bool) {
	if v, ok := m.cache.Load(raw); ok {
		return v.(routeKey), true
	}
	k, err := parseRoute(raw)
	if err != nil {
		return routeKey{}, false
	}
	if m.cached.Add(1) <= maxCachedPatterns {
		m.cache.Store(raw, k)
	}
	return k, true
}

// parseRoute normalises a route pattern of any supported router into a
// method (maybe "") and a path where every parameter is "{}" and every
// wildcard "{*}".
func parseRoute(raw string) (routeKey, error) {
	s := strings.TrimSpace(raw)
	var k routeKey
	if i := strings.IndexAny(s, " \t"); i >= 0 && !strings.Contains(s[:i], "/") {
		k.method, s = s[:i], strings.TrimLeft(s[i:], " \t")
	}
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		return k, fmt.Errorf("no path")
	}
	var b strings.Builder
	b.WriteString(s[:slash]) // net/http host, usually empty
	for i := slash; i < len(s); {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('/')
			i++
			continue
		case (c == ':' || c == '*') && s[i-1] == '/':
			end := strings.IndexByte(s[i:], '/')
			if end < 0 {
				end = len(s) - i
			}
			if c == ':' {
				b.WriteString("{}")
			} else {
				b.WriteString("{*}")
			}
			i += end
		case c == '{':
			end, err := closeBrace(s, i)
			if err != nil {
				return k, err
			}
			switch name := s[i+1 : end]; {
			case name == "$":
				b.WriteString("{$}")
			case strings.HasSuffix(name, "..."):
				b.WriteString("{*}")
			default:
				b.WriteString("{}")
			}
			i = end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	k.path = b.String()
	return k, nil
}

// closeBrace returns the index of the '}' closing the '{' at s[i], allowing
// nested braces (chi regexps such as {id:[0-9]{3}}).
func closeBrace(s string, i int) (int, error) {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return j, nil
			}
		}
	}
	return 0, fmt.Errorf("unclosed \"{\" at offset %d", i)
}

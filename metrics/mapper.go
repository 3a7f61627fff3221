package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/threescale-go/threescale/core"
)

// Mapper turns a request into the usage to report to 3scale.
//
// Map returns the usage and what produced it, [ErrNoMatch] when no mapping
// rule matched (the middleware answers with the no_match error response,
// 404 "No Mapping Rule matched" by default), or a match with Exempt set when
// the request must not be sent to 3scale at all. Mappers are safe for
// concurrent use and never consume the request body. The returned Usage,
// Rules and Params belong to the caller.
type Mapper interface {
	Map(r *http.Request) (Match, error)
}

// MapperFunc adapts a function to [Mapper].
type MapperFunc func(r *http.Request) (Match, error)

// Map calls f(r).
func (f MapperFunc) Map(r *http.Request) (Match, error) { return f(r) }

// Match is the result of a [Mapper].
type Match struct {
	// Usage is the usage to authorize and report (metric → delta, all > 0).
	// Nil when Exempt.
	Usage core.Usage
	// Rules lists the mapping rules that matched, in walk order (rule
	// mappers only).
	Rules []MatchedRule
	// Params holds the values captured by {name} placeholders of the
	// matched rules (path segments and query values); the first matching
	// rule that captures a name wins. Nil when nothing was captured.
	Params map[string]string
	// Route is the route pattern the usage was chosen by (route mappers
	// only).
	Route string
	// Exempt reports that the request is exempt: the middleware lets it
	// through without calling 3scale.
	Exempt bool
}

// MatchedRule describes one mapping rule that matched a request.
type MatchedRule struct {
	Method   string // the rule's method, "ANY" for any
	Pattern  string // the rule's pattern as configured
	Metric   string // the metric system name
	Delta    int64  // the rule's delta (0 matches without cost)
	Last     bool   // the rule stops the walk
	Position int    // the rule's position
}

// ErrNoMatch is returned by rule mappers when no rule matched the request
// (or only rules with delta 0 did, as in APIcast). APIcast answers 404 "No
// Mapping Rule matched".
var ErrNoMatch = errors.New("metrics: No Mapping Rule matched")

// Static returns a Mapper that gives every request the usage u (a copy per
// request). An empty or nil u makes every request Exempt. An invalid u
// (see core.Usage.Validate) makes Map fail with that error.
func Static(u core.Usage) Mapper {
	if err := u.Validate(); err != nil {
		err = fmt.Errorf("metrics: static usage: %w", err)
		return MapperFunc(func(*http.Request) (Match, error) { return Match{}, err })
	}
	u = u.Clone()
	return MapperFunc(func(*http.Request) (Match, error) { return usageMatch(u, ""), nil })
}

// Hits returns Static(core.Usage{"hits": 1}), 3scale's default cost of a
// request.
func Hits() Mapper { return Static(core.Hits(1)) }

// usageMatch returns the Match for a fixed usage: a copy, or Exempt.
func usageMatch(u core.Usage, route string) Match {
	if len(u) == 0 {
		return Match{Exempt: true, Route: route}
	}
	return Match{Usage: u.Clone(), Route: route}
}

type ctxKey uint8

const (
	patternKey ctxKey = iota
	matchKey
)

// WithRoutePattern returns ctx carrying the route pattern of the request,
// for [RoutePattern]; it takes precedence over Request.Pattern. This
// project's chi, gin and echo adapters set Request.Pattern in place instead
// (as net/http's ServeMux does, without copying the request); use
// WithRoutePattern in middleware of your own that cannot touch the request.
func WithRoutePattern(ctx context.Context, pattern string) context.Context {
	return context.WithValue(ctx, patternKey, pattern)
}

// RoutePattern returns the route pattern set with [WithRoutePattern], else
// r.Pattern (set by net/http's ServeMux, Go 1.22+, and by the chimw, ginmw
// and echomw adapters with chi's RoutePattern(), gin's FullPath() or echo's
// Path()), else "".
func RoutePattern(r *http.Request) string {
	if p, ok := r.Context().Value(patternKey).(string); ok && p != "" {
		return p
	}
	return r.Pattern
}

// NewContext returns ctx carrying m, so the protected handler can read the
// matched rules and captured parameters with [FromContext].
func NewContext(ctx context.Context, m Match) context.Context {
	return context.WithValue(ctx, matchKey, &m)
}

// FromContext returns the Match stored by [NewContext].
func FromContext(ctx context.Context) (Match, bool) {
	m, ok := ctx.Value(matchKey).(*Match)
	if !ok {
		return Match{}, false
	}
	return *m, true
}

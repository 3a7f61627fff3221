// Package metrics turns a request into the usage reported to 3scale: a
// [core.Usage] map (metric system name → delta) plus what produced it.
//
// A [Mapper] takes a request and returns a [Match]: the usage, the mapping
// rules that matched and their captured {name} values, or Exempt for
// requests that must not reach 3scale. [ErrNoMatch] means no mapping rule
// matched; the middleware answers with the no_match response (404 "No
// Mapping Rule matched").
//
// # Mappers
//
//   - [Static] and [Hits]: every request costs the same (hits=1).
//   - [Routes]: usage per route pattern, so routes are configured once, in
//     the router's own syntax: Request.Pattern as set by net/http's
//     ServeMux (Go 1.22+) and by the chi, gin and echo adapters (chi's
//     RoutePattern(), gin's FullPath(), echo's Path()), or a pattern stored
//     with [WithRoutePattern]. Unlisted
//     routes get a default usage, are exempt, or get ErrNoMatch.
//   - [CompileRules]: APIcast mapping rules with APIcast's exact semantics
//     (prefix match, "$" for exact, {name} for one segment, query-string
//     and form conditions, deltas summed, "last", position order), compiled
//     once into a matcher that uses no regular expressions. Regular
//     expression metacharacters are literal (APIcast issue #1001 fixed).
//   - [LoadProxyConfig]: reads the proxy configuration JSON that the 3scale
//     admin portal exports and APIcast reads, and gives the mapping rules,
//     the credentials extractor (package credentials) and the error
//     responses, so a service moves from APIcast unchanged.
//
// # Handlers
//
// Behind the middleware (package threescale, directory nethttp), the
// protected handler reads the matched rules and captured parameters from
// the decision: threescale.FromContext(r.Context()) gives a Decision with
// Rules and Params. [NewContext] and [FromContext] carry a Match through a
// context for middleware of your own; the threescale middleware does not
// use them.
//
// # Performance
//
// BenchmarkMapRules maps a request through 100 realistic rules:
//
//	go test -run x -bench BenchmarkMapRules -benchmem ./metrics/
//
// Nothing is compiled per request; the request path is only copied when
// it needs normalising, and allocations are limited to the returned usage,
// rule list and parameter map.
package metrics

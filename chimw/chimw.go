package chimw

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	threescale "github.com/threescale-go/threescale/nethttp"
)

// Middleware returns chi middleware that protects its routes with e.
// opts are per-route options applied with e.With (WithUsage, WithMapper,
// WithExempt, WithResponse...); engine-only options make it panic at
// set-up time, never while serving.
//
// The route pattern chi matched (e.g. "/products/{id}") is recorded in
// Request.Pattern, as net/http's ServeMux does, for pattern-keyed mappers
// (metrics.RoutePattern). chi knows the full pattern only once routing is
// done: attach the middleware
// inline (r.With, or r.Use inside r.Group) when the mapper needs it; a
// top-level r.Use sees no pattern and maps on the path alone.
func Middleware(e *threescale.Engine, opts ...threescale.Option) func(http.Handler) http.Handler {
	v := e.MustWith(opts...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rc := chi.RouteContext(r.Context()); rc != nil {
				if p := rc.RoutePattern(); p != "" {
					r.Pattern = p // as net/http's ServeMux does, in place: no copy per request
				}
			}
			if r, ok := v.Check(w, r); ok {
				next.ServeHTTP(w, r)
			}
		})
	}
}

package echomw

import (
	"github.com/labstack/echo/v4"

	threescale "github.com/threescale-go/threescale/nethttp"
)

// Middleware returns echo middleware that protects its routes with e:
// srv.Use(echomw.Middleware(e)), g := srv.Group("/api",
// echomw.Middleware(e)), or srv.GET(path, h, echomw.Middleware(e,
// opts...)) for one route with its own options (WithUsage, WithMapper,
// WithExempt, WithResponse...). Engine-only options make it panic at
// set-up time, never while serving.
//
// Rejections are written by the engine's ErrorHandler on c.Response() and
// the handler is not called (the middleware returns nil, so echo's
// HTTPErrorHandler is not involved). Allowed requests continue with
// c.SetRequest(request carrying the Decision): read it with
// threescale.FromContext(c.Request().Context()). echo's route pattern
// (c.Path()) is passed on to pattern-keyed mappers; register with Use,
// not Pre, so that routing has happened.
func Middleware(e *threescale.Engine, opts ...threescale.Option) echo.MiddlewareFunc {
	v := e.MustWith(opts...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if p := c.Path(); p != "" {
				r.Pattern = p // as net/http's ServeMux does, in place: no copy per request
			}
			r, ok := v.Check(c.Response(), r)
			if !ok {
				return nil
			}
			c.SetRequest(r)
			return next(c)
		}
	}
}

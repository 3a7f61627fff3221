package ginmw

import (
	"github.com/gin-gonic/gin"

	threescale "github.com/threescale-go/threescale/nethttp"
)

// Middleware returns a gin handler that protects the routes it is attached
// to with e: r.Use(ginmw.Middleware(e)) for a router or group, or
// r.GET(path, ginmw.Middleware(e, opts...), h) for one route with its own
// options (WithUsage, WithMapper, WithExempt, WithResponse...).
// Engine-only options make it panic at set-up time, never while serving.
//
// Rejections are written by the engine's ErrorHandler on c.Writer and the
// chain is aborted. Allowed requests continue with c.Request replaced by
// the request carrying the Decision: read it with
// threescale.FromContext(c.Request.Context()). gin's route pattern
// (c.FullPath()) is passed on to pattern-keyed mappers.
func Middleware(e *threescale.Engine, opts ...threescale.Option) gin.HandlerFunc {
	v := e.MustWith(opts...)
	return func(c *gin.Context) {
		r := c.Request
		if p := c.FullPath(); p != "" {
			r.Pattern = p // as net/http's ServeMux does, in place: no copy per request
		}
		r, ok := v.Check(c.Writer, r)
		if !ok {
			c.Abort()
			return
		}
		c.Request = r
		c.Next()
	}
}

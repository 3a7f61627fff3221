// Package ginmw is the gin adapter of the 3scale middleware: it runs the
// framework-neutral engine of package threescale
// (github.com/threescale-go/threescale/nethttp) as a gin.HandlerFunc. It
// passes c.Writer and c.Request to the engine, aborts the chain on
// rejections, and replaces c.Request with the request carrying the
// decision, so handlers read it from the request's own context:
//
//	e, err := threescale.New(threescale.WithServiceToken(id, token))
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer e.Close(context.Background())
//	r := gin.New()
//	r.GET("/hello", ginmw.Middleware(e), hello)
//	r.GET("/products/:id", ginmw.Middleware(e, threescale.WithUsage(core.Usage{"product_reads": 1})), getProduct)
//
//	func hello(c *gin.Context) {
//		d, _ := threescale.FromContext(c.Request.Context())
//		c.JSON(200, gin.H{"app": d.Identity(), "plan": d.Plan})
//	}
//
// Options, responses and the ErrorHandler are the engine's; there are no
// gin-specific options.
//
// Attached router-wide (r.Use), the middleware also runs for paths no route
// matches (c.FullPath() is then empty), so such a request without credentials is
// answered 401 rather than gin's 404: attach it per route or per group when
// unknown paths must answer 404. It is not skipped there on purpose: a
// catch-all (r.NoRoute, as with a proxy configuration) must stay protected.
package ginmw

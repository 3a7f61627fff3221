// Package echomw is the echo adapter of the 3scale middleware: it runs the
// framework-neutral engine of package threescale
// (github.com/threescale-go/threescale/nethttp) as an echo.MiddlewareFunc.
// It passes c.Response() and c.Request() to the engine, stops on
// rejections, and calls c.SetRequest with the request carrying the
// decision, so handlers read it from the request's own context:
//
//	e, err := threescale.New(threescale.WithServiceToken(id, token))
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer e.Close(context.Background())
//	srv := echo.New()
//	srv.GET("/hello", hello, echomw.Middleware(e))
//	srv.GET("/products/:id", getProduct, echomw.Middleware(e, threescale.WithUsage(core.Usage{"product_reads": 1})))
//
//	func hello(c echo.Context) error {
//		d, _ := threescale.FromContext(c.Request().Context())
//		return c.JSON(200, map[string]string{"app": d.Identity(), "plan": d.Plan})
//	}
//
// Options, responses and the ErrorHandler are the engine's; there are no
// echo-specific options. Rejections are written directly and are not
// returned to echo's HTTPErrorHandler.
//
// Attached router-wide (e.Use), the middleware also runs for paths no route
// matches, so such a request without credentials is answered 401 rather
// than echo's 404: attach it per route or per group when unknown paths must
// answer 404. It is not skipped there on purpose: a catch-all route (as with
// a proxy configuration) must stay protected.
package echomw

// Package chimw is the chi adapter of the 3scale middleware: it runs the
// framework-neutral engine of package threescale
// (github.com/threescale-go/threescale/nethttp) as chi middleware and adds
// only chi's route pattern for pattern-keyed mappers. Options, responses,
// the ErrorHandler and the Decision accessor are the engine's:
//
//	e, err := threescale.New(threescale.WithServiceToken(id, token))
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer e.Close(context.Background())
//	r := chi.NewRouter()
//	r.Get("/healthz", healthz) // unprotected
//	r.With(chimw.Middleware(e)).Get("/hello", hello) // hits=1
//	r.With(chimw.Middleware(e, threescale.WithUsage(core.Usage{"product_reads": 1}))).
//		Get("/products/{id}", getProduct)
//
// Attach the engine once per route: a router-wide r.Use plus a per-route
// r.With would call 3scale twice for that route. Pattern-keyed mappers
// need the middleware inline (r.With, or r.Use inside r.Group): a
// top-level r.Use, or r.Use inside r.Route, runs before chi has matched
// the full pattern.
//
// Handlers read the decision with threescale.FromContext(r.Context()).
// chi middleware is func(http.Handler) http.Handler, so e.Handler works
// too; this package only adds the route pattern.
package chimw

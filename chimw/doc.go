// Package chimw is the chi adapter of the 3scale middleware: it runs the
// framework-neutral engine of package threescale
// (github.com/threescale-go/threescale/nethttp) as chi middleware and adds
// only chi's route pattern for pattern-keyed mappers. Options, responses,
// the ErrorHandler and the Decision accessor are the engine's:
//
//	e, err := threescale.New(threescale.WithServiceToken(id, token))
//	defer e.Close(ctx)
//	r := chi.NewRouter()
//	r.Use(chimw.Middleware(e))
//	r.With(chimw.Middleware(e, threescale.WithUsage(core.Usage{"product_reads": 1}))).
//		Get("/products/{id}", getProduct)
//
// Handlers read the decision with threescale.FromContext(r.Context()).
// chi middleware is func(http.Handler) http.Handler, so e.Handler works
// too; this package only adds the route pattern.
package chimw

package main

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/threescale-go/threescale/chimw"
	"github.com/threescale-go/threescale/internal/demo"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func main() { demo.Main(run) }

// run starts the demo (the embedded simulator unless THREESCALE_BACKEND_URL
// is set) and serves routes; the integration test drives it in-process.
var run = demo.Run(routes)

func routes(app *demo.App) http.Handler {
	e := app.Engine

	r := chi.NewRouter()
	r.Get("/healthz", demo.Healthz)
	if app.ProxyConfig {
		r.With(chimw.Middleware(e)).Handle("/*", demo.Hello) // rules from the proxy configuration
	} else {
		r.With(chimw.Middleware(e)).Method("GET", "/hello", demo.Hello) // hits=1
		r.With(chimw.Middleware(e, threescale.WithUsage(demo.ProductReads))).Method("GET", "/products/{id}", demo.Hello)
		r.With(chimw.Middleware(e, threescale.WithUsage(demo.ProductWrites))).Method("POST", "/products", demo.Hello)
	}
	return r
}

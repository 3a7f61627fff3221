package main

import (
	"net/http"

	"github.com/threescale-go/threescale/internal/demo"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func main() { demo.Main(run) }

// run starts the demo (the embedded simulator unless THREESCALE_BACKEND_URL
// is set) and serves routes; the integration test drives it in-process.
var run = demo.Run(routes)

func routes(app *demo.App) http.Handler {
	e := app.Engine

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", demo.Healthz)
	if app.ProxyConfig {
		mux.Handle("/", e.Handler(demo.Hello)) // rules from the proxy configuration
	} else {
		mux.Handle("GET /hello", e.Handler(demo.Hello)) // the engine's default usage: hits=1
		mux.Handle("GET /products/{id}", e.MustWith(threescale.WithUsage(demo.ProductReads)).Handler(demo.Hello))
		mux.Handle("POST /products", e.MustWith(threescale.WithUsage(demo.ProductWrites)).Handler(demo.Hello))
	}
	return mux
}

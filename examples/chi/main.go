package main

import (
	"context"
	"io"

	"github.com/go-chi/chi/v5"

	"github.com/threescale-go/threescale/chimw"
	"github.com/threescale-go/threescale/internal/demo"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func main() { demo.Main(run) }

func run(ctx context.Context, getenv func(string) string, stdout io.Writer, ready func(demo.Listening)) error {
	app, err := demo.Start(getenv, stdout)
	if err != nil {
		return err
	}
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
	return app.Serve(ctx, r, ready)
}

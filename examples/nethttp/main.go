package main

import (
	"context"
	"io"
	"net/http"

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

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", demo.Healthz)
	if app.ProxyConfig {
		mux.Handle("/", e.Handler(demo.Hello)) // rules from the proxy configuration
	} else {
		mux.Handle("GET /hello", e.Handler(demo.Hello)) // the engine's default usage: hits=1
		mux.Handle("GET /products/{id}", e.MustWith(threescale.WithUsage(demo.ProductReads)).Handler(demo.Hello))
		mux.Handle("POST /products", e.MustWith(threescale.WithUsage(demo.ProductWrites)).Handler(demo.Hello))
	}
	return app.Serve(ctx, mux, ready)
}

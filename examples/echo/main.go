package main

import (
	"context"
	"io"

	"github.com/labstack/echo/v4"

	"github.com/threescale-go/threescale/echomw"
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

	srv := echo.New()
	srv.HideBanner, srv.HidePort = true, true
	srv.GET("/healthz", echo.WrapHandler(demo.HealthzHandler))
	hello := echo.WrapHandler(demo.Hello)
	if app.ProxyConfig {
		srv.Any("/*", hello, echomw.Middleware(e)) // rules from the proxy configuration
	} else {
		srv.GET("/hello", hello, echomw.Middleware(e)) // hits=1
		srv.GET("/products/:id", hello, echomw.Middleware(e, threescale.WithUsage(demo.ProductReads)))
		srv.POST("/products", hello, echomw.Middleware(e, threescale.WithUsage(demo.ProductWrites)))
	}
	return app.Serve(ctx, srv, ready)
}

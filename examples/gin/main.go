package main

import (
	"context"
	"io"

	"github.com/gin-gonic/gin"

	"github.com/threescale-go/threescale/ginmw"
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

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/healthz", gin.WrapF(demo.Healthz))
	hello := gin.WrapH(demo.Hello)
	if app.ProxyConfig {
		r.NoRoute(ginmw.Middleware(e), hello) // every other path: rules from the proxy configuration
	} else {
		r.GET("/hello", ginmw.Middleware(e), hello) // hits=1
		r.GET("/products/:id", ginmw.Middleware(e, threescale.WithUsage(demo.ProductReads)), hello)
		r.POST("/products", ginmw.Middleware(e, threescale.WithUsage(demo.ProductWrites)), hello)
	}
	return app.Serve(ctx, r, ready)
}

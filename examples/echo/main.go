package main

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/threescale-go/threescale/echomw"
	"github.com/threescale-go/threescale/internal/demo"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func main() { demo.Main(run) }

// run starts the demo (the embedded simulator unless THREESCALE_BACKEND_URL
// is set) and serves routes; the integration test drives it in-process.
var run = demo.Run(routes)

func routes(app *demo.App) http.Handler {
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
	return srv
}

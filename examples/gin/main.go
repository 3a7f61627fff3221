package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/threescale-go/threescale/ginmw"
	"github.com/threescale-go/threescale/internal/demo"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func main() { demo.Main(run) }

// run starts the demo (the embedded simulator unless THREESCALE_BACKEND_URL
// is set) and serves routes; the integration test drives it in-process.
var run = demo.Run(routes)

func routes(app *demo.App) http.Handler {
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
	return r
}

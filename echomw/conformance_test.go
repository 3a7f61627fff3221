package echomw_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/threescale-go/threescale/echomw"
	"github.com/threescale-go/threescale/internal/conformance"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	conformance.Run(t, func(e *threescale.Engine, app http.Handler, productOpts ...threescale.Option) http.Handler {
		srv := echo.New()
		// Rejections are written by the engine, never returned to echo:
		// write past echo's "committed" guard so that the suite catches
		// a second response.
		srv.HTTPErrorHandler = func(err error, c echo.Context) { c.Response().Writer.WriteHeader(599) }
		g := srv.Group("", echomw.Middleware(e))
		g.GET("/hello", echo.WrapHandler(app))
		g.GET("/healthz", echo.WrapHandler(app))
		srv.GET("/products/:id", echo.WrapHandler(app), echomw.Middleware(e, productOpts...))
		return srv
	})
}

func TestNilEnginePanicsAtSetUp(t *testing.T) {
	assert.Panics(t, func() { echomw.Middleware(nil) })
}

package ginmw_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/threescale-go/threescale/ginmw"
	"github.com/threescale-go/threescale/internal/conformance"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(e *threescale.Engine, app http.Handler, productOpts ...threescale.Option) http.Handler {
		r := gin.New()
		g := r.Group("/", ginmw.Middleware(e))
		g.GET("/hello", gin.WrapH(app))
		g.GET("/healthz", gin.WrapH(app))
		r.GET("/products/:id", ginmw.Middleware(e, productOpts...), gin.WrapH(app))
		return r
	})
}

func TestNilEnginePanicsAtSetUp(t *testing.T) {
	assert.Panics(t, func() { ginmw.Middleware(nil) })
}

package chimw_test

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/threescale-go/threescale/chimw"
	"github.com/threescale-go/threescale/internal/conformance"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	conformance.Run(t, func(e *threescale.Engine, app http.Handler, productOpts ...threescale.Option) http.Handler {
		r := chi.NewRouter()
		r.Group(func(r chi.Router) {
			r.Use(chimw.Middleware(e))
			r.Method(http.MethodGet, "/hello", app)
			r.Method(http.MethodGet, "/healthz", app)
		})
		r.With(chimw.Middleware(e, productOpts...)).Method(http.MethodGet, "/products/{id}", app)
		return r
	})
}

func TestNilEnginePanicsAtSetUp(t *testing.T) {
	assert.Panics(t, func() { chimw.Middleware(nil) })
}

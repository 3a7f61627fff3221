package threescale_test

import (
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/threescale-go/threescale/internal/conformance"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	conformance.Run(t, func(e *threescale.Engine, app http.Handler, productOpts ...threescale.Option) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /hello", e.Handler(app))
		mux.Handle("GET /healthz", e.Handler(app))
		mux.Handle("GET /products/{id}", e.MustWith(productOpts...).Handler(app))
		return mux
	})
}

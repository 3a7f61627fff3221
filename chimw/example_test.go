package chimw_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/threescale-go/threescale/chimw"
	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	threescale "github.com/threescale-go/threescale/nethttp"
)

func Example() {
	backend := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()))
	defer backend.Close()
	e, err := threescale.New(
		threescale.WithBackendURL(backend.URL),
		threescale.WithServiceToken("43", threescaletest.DemoServiceToken), // a user_key service
	)
	if err != nil {
		panic(err)
	}
	defer e.Close(context.Background())

	show := func(w http.ResponseWriter, r *http.Request) {
		d, _ := threescale.FromContext(r.Context())
		fmt.Fprintf(w, "%s %v", d.Plan, d.Usage)
	}
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	r.With(chimw.Middleware(e)).Get("/hello", show)
	r.With(chimw.Middleware(e, threescale.WithUsage(core.Usage{"hits": 2}))).Get("/products/{id}", show)

	for _, target := range []string{"/healthz", "/hello?user_key=uk1", "/products/7?user_key=uk1", "/hello"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 ok
	// 200 UK map[hits:1]
	// 200 UK map[hits:2]
	// 401 Authentication parameters missing
}

package echomw_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/echomw"
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

	show := func(c echo.Context) error {
		d, _ := threescale.FromContext(c.Request().Context()) // the request's context
		return c.String(http.StatusOK, fmt.Sprintf("%s %v", d.Plan, d.Usage))
	}
	srv := echo.New()
	srv.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	srv.GET("/hello", show, echomw.Middleware(e))
	srv.GET("/products/:id", show, echomw.Middleware(e, threescale.WithUsage(core.Usage{"hits": 2})))

	for _, target := range []string{"/healthz", "/hello?user_key=uk1", "/products/7?user_key=uk1", "/hello"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 ok
	// 200 UK map[hits:1]
	// 200 UK map[hits:2]
	// 401 Authentication parameters missing
}

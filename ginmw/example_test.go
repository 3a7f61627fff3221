package ginmw_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/ginmw"
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

	gin.SetMode(gin.ReleaseMode)
	show := func(c *gin.Context) {
		d, _ := threescale.FromContext(c.Request.Context()) // the request's context
		c.String(http.StatusOK, "%s %v", d.Plan, d.Usage)
	}
	r := gin.New()
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/hello", ginmw.Middleware(e), show)
	r.GET("/products/:id", ginmw.Middleware(e, threescale.WithUsage(core.Usage{"hits": 2})), show)

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

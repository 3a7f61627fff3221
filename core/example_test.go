package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/threescale-go/threescale/core"
)

func ExampleParseAuthResponse() {
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?><status><authorized>false</authorized><reason>usage limits are exceeded</reason><plan>Basic</plan><usage_reports><usage_report metric="hits" period="minute"><period_start>2026-12-04 19:25:00 +0000</period_start><period_end>2026-12-04 19:26:00 +0000</period_end><max_value>5</max_value><current_value>5</current_value></usage_report></usage_reports></status>`)
	h := http.Header{}
	h.Set("3scale-rejection-reason", "limits_exceeded")
	h.Set("3scale-limit-remaining", "0")
	h.Set("3scale-limit-reset", "48")
	res, err := core.ParseAuthResponse(http.StatusConflict, h, body)
	if err != nil {
		panic(err)
	}
	r := res.UsageReports[0]
	fmt.Println(res.Authorized, res.Reason, res.Plan)
	fmt.Println(r.Metric, r.Period, r.CurrentValue, "/", r.MaxValue, "until", r.PeriodEnd.Format("15:04"))
	fmt.Println("retry after", res.RateLimit.Reset)
	// Output:
	// false limits_exceeded Basic
	// hits minute 5 / 5 until 19:26
	// retry after 48s
}

func ExampleClient_AuthRep() {
	// A stand-in backend; use core/threescaletest for a faithful one.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.URL.Path, r.URL.RawQuery)
		fmt.Println("3scale-options:", r.Header.Get("3scale-options"))
		w.Header().Set("3scale-limit-remaining", "99")
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><status><authorized>true</authorized><plan>Basic</plan></status>`))
	}))
	defer backend.Close()

	c, err := core.NewClient(core.WithBackendURL(backend.URL), core.WithServiceToken("42", "st_secret"))
	if err != nil {
		panic(err)
	}
	res, err := c.AuthRep(context.Background(), core.AuthRequest{
		Credentials: core.AppID("app1", "key1"),
		Usage:       core.Usage{"hits": 1, "search": 2},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Authorized, res.Plan, res.RateLimit.Remaining)
	// Output:
	// /transactions/authrep.xml service_token=st_secret&service_id=42&app_id=app1&app_key=key1&usage%5Bhits%5D=1&usage%5Bsearch%5D=2
	// 3scale-options: rejection_reason_header=1&limit_headers=1
	// true Basic 99
}

func ExampleError() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><error code="application_not_found">application with id="nope" was not found</error>`))
	}))
	defer backend.Close()
	c, _ := core.NewClient(core.WithBackendURL(backend.URL), core.WithServiceToken("42", "st_secret"))

	_, err := c.Authorize(context.Background(), core.AuthRequest{Credentials: core.AppID("nope", "")})
	var e *core.Error
	fmt.Println(errors.Is(err, core.ErrApplicationNotFound), errors.As(err, &e))
	fmt.Println(e.StatusCode, e.Code)
	fmt.Println(err)
	// Output:
	// true true
	// 404 application_not_found
	// threescale: authorize: 404 application_not_found: application with id="nope" was not found
}

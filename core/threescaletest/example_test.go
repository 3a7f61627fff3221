package threescaletest_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
)

func Example() {
	clock := func() time.Time { return time.Date(2024, 3, 14, 10, 21, 35, 0, time.UTC) }
	srv := threescaletest.NewServer(threescaletest.WithClock(clock))
	defer srv.Close()

	_ = srv.AddService(threescaletest.Service{
		ID: "2555417777820", Token: "st_EXAMPLE",
		Metrics: []threescaletest.Metric{{Name: "hits"}},
	})
	_ = srv.AddApplication(threescaletest.Application{
		ServiceID: "2555417777820", ID: "3c4b5e2a", Keys: []string{"9f2a1c0e5d7b4a38"},
		Plan: threescaletest.Plan{Name: "Basic", Limits: []threescaletest.Limit{
			{Metric: "hits", Period: core.PeriodMinute, Max: 10},
		}},
	})
	srv.SetCounter("2555417777820", "3c4b5e2a", "hits", core.PeriodMinute, 2)

	req, _ := http.NewRequest("GET", srv.URL+"/transactions/authrep.xml?service_token=st_EXAMPLE"+
		"&service_id=2555417777820&app_id=3c4b5e2a&app_key=9f2a1c0e5d7b4a38&usage%5Bhits%5D=1", nil)
	req.Header.Set("3scale-options", "limit_headers=1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	fmt.Println(resp.StatusCode, resp.Header.Get("3scale-limit-remaining"), resp.Header.Get("3scale-limit-reset"))
	fmt.Println(string(body))
	fmt.Println(srv.Counter("2555417777820", "3c4b5e2a", "hits", core.PeriodMinute))
	// Output:
	// 200 7 25
	// <?xml version="1.0" encoding="UTF-8"?><status><authorized>true</authorized><plan>Basic</plan><usage_reports><usage_report metric="hits" period="minute"><period_start>2024-03-14 10:21:00 +0000</period_start><period_end>2024-03-14 10:22:00 +0000</period_end><max_value>10</max_value><current_value>3</current_value></usage_report></usage_reports></status>
	// 3
}

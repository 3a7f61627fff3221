package threescaletest_test

import (
	"context"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/threescale-go/threescale/core"
	ts "github.com/threescale-go/threescale/core/threescaletest"
)

type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, srv *ts.Server, method, target, options, body string) result {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+target, strings.NewReader(body))
	require.NoError(t, err)
	if options != "" {
		req.Header.Set("3scale-options", options)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return result{resp.StatusCode, resp.Header, string(b)}
}

// treeServer: metrics hits > search > deep, hits > update; the given limits.
func treeServer(t *testing.T, now *time.Time, limits ...ts.Limit) *ts.Server {
	srv := ts.NewServer(ts.WithClock(func() time.Time { return *now }))
	t.Cleanup(srv.Close)
	require.NoError(t, srv.AddService(ts.Service{ID: "s", Token: "tok", Metrics: []ts.Metric{
		{Name: "hits"}, {Name: "search", Parent: "hits"}, {Name: "deep", Parent: "search"}, {Name: "update", Parent: "hits"}}}))
	require.NoError(t, srv.AddApplication(ts.Application{ServiceID: "s", ID: "a", Plan: ts.Plan{Name: "P", Limits: limits}}))
	return srv
}

const sa = "service_token=tok&service_id=s&app_id=a"

func TestLimitsPropagationFlatSetAndMaxZero(t *testing.T) {
	now := fxNow
	srv := treeServer(t, &now, ts.Limit{Metric: "hits", Period: core.PeriodDay, Max: 10},
		ts.Limit{Metric: "deep", Period: core.PeriodDay, Max: 5}, ts.Limit{Metric: "update", Period: core.PeriodDay, Max: 0})
	c := func(m string) int64 { return srv.Counter("s", "a", m, core.PeriodDay) }

	r := do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bdeep%5D=2", "limit_headers=1", "")
	require.Equal(t, 200, r.status)
	assert.Equal(t, []int64{2, 2, 2, 0}, []int64{c("hits"), c("search"), c("deep"), c("update")}, "propagated to all ancestors")
	assert.Equal(t, "1", r.header.Get("3scale-limit-remaining"), "deep: (5-2)/2")
	assert.Contains(t, r.body, `<usage_report metric="hits" period="day">`)
	assert.Contains(t, r.body, `<max_value>10</max_value><current_value>2</current_value>`)

	// flat_usage: no propagation, neither in the check nor in the record.
	require.Equal(t, 200, do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bdeep%5D=1", "flat_usage=1", "").status)
	assert.Equal(t, []int64{2, 2, 3}, []int64{c("hits"), c("search"), c("deep")})

	// A parent over its limit denies a request naming only its child; a
	// limit on another metric is ignored.
	srv.SetCounter("s", "a", "hits", core.PeriodDay, 10)
	r = do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bsearch%5D=1", "rejection_reason_header=1", "")
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "limits_exceeded", r.header.Get("3scale-rejection-reason"))
	assert.Equal(t, int64(2), c("search"), "denied authrep records nothing")
	// Without usage: at exactly max still authorized; above max denied.
	assert.Equal(t, 200, do(t, srv, "GET", "/transactions/authorize.xml?"+sa, "", "").status)
	srv.SetCounter("s", "a", "hits", core.PeriodDay, 11)
	r = do(t, srv, "GET", "/transactions/authorize.xml?"+sa, "", "")
	assert.Equal(t, 409, r.status)
	assert.Contains(t, r.body, `<usage_report metric="hits" period="day" exceeded="true">`)

	// max 0 disables a metric; usage 0 is checked but passes.
	srv.SetCounter("s", "a", "hits", core.PeriodDay, 0)
	assert.Equal(t, 409, do(t, srv, "GET", "/transactions/authorize.xml?"+sa+"&usage%5Bupdate%5D=1", "", "").status)
	assert.Equal(t, 200, do(t, srv, "GET", "/transactions/authorize.xml?"+sa+"&usage%5Bupdate%5D=0", "", "").status)

	// "#N" sets every ancestor; authorize checks N itself against the max.
	assert.Equal(t, 409, do(t, srv, "GET", "/transactions/authorize.xml?"+sa+"&usage%5Bsearch%5D=%2311", "", "").status)
	r = do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bsearch%5D=%237", "", "")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.body, `<max_value>10</max_value><current_value>7</current_value>`)
	assert.Equal(t, []int64{7, 7, 3}, []int64{c("hits"), c("search"), c("deep")})
	require.Equal(t, 200, do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bhits%5D=%230", "", "").status)
	assert.Equal(t, int64(0), c("hits"))
}

func TestPeriodRolloverWeekAndEternity(t *testing.T) {
	now := time.Date(2024, 3, 17, 23, 59, 59, 0, time.UTC) // Sunday
	srv := treeServer(t, &now, ts.Limit{Metric: "hits", Period: core.PeriodWeek, Max: 3},
		ts.Limit{Metric: "hits", Period: core.PeriodEternity, Max: 4})
	r := do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bhits%5D=3", "limit_headers=1", "")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.body, "<period_start>2024-03-11 00:00:00 +0000</period_start><period_end>2024-03-18 00:00:00 +0000</period_end>")
	assert.Equal(t, "0", r.header.Get("3scale-limit-remaining"))
	// week (room 0) and eternity (room 1, usage 3) both allow 0 more
	// calls: the tie goes to the longer period.
	assert.Equal(t, "-1", r.header.Get("3scale-limit-reset"))
	assert.Equal(t, "4", r.header.Get("3scale-limit-max-value"))
	r = do(t, srv, "GET", "/transactions/authorize.xml?"+sa+"&usage%5Bhits%5D=0", "limit_headers=1", "")
	assert.Equal(t, []string{"0", "1", "3"}, []string{r.header.Get("3scale-limit-remaining"), r.header.Get("3scale-limit-reset"), r.header.Get("3scale-limit-max-value")},
		"week: room 0, ends in one second")
	assert.Equal(t, 409, do(t, srv, "GET", "/transactions/authorize.xml?"+sa+"&usage%5Bhits%5D=1", "", "").status)

	now = now.Add(time.Second) // Monday: a new week, same eternity
	assert.Equal(t, int64(0), srv.Counter("s", "a", "hits", core.PeriodWeek))
	assert.Equal(t, int64(3), srv.Counter("s", "a", "hits", core.PeriodEternity))
	r = do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bhits%5D=1", "limit_headers=1", "")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.body, "<period_start>2024-03-18 00:00:00 +0000</period_start>")
	assert.Equal(t, []string{"0", "-1", "4"}, []string{r.header.Get("3scale-limit-remaining"), r.header.Get("3scale-limit-reset"), r.header.Get("3scale-limit-max-value")})
	assert.Equal(t, 409, do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bhits%5D=1", "", "").status)

	// Every period is counted, limited or not; month and year roll over too.
	for p, want := range map[core.Period]int64{core.PeriodMinute: 1, core.PeriodHour: 1, core.PeriodDay: 1, core.PeriodMonth: 4, core.PeriodYear: 4} {
		assert.Equal(t, want, srv.Counter("s", "a", "hits", p), p.String())
	}
	now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, int64(0), srv.Counter("s", "a", "hits", core.PeriodYear))
	assert.Equal(t, int64(4), srv.Counter("s", "a", "hits", core.PeriodEternity))
}

func TestReportAppliesBatchesAtomically(t *testing.T) {
	now := fxNow
	srv := treeServer(t, &now)
	require.NoError(t, srv.AddApplication(ts.Application{ServiceID: "s", ID: "b", UserKey: "ukb"}))
	post := func(body string) int {
		return do(t, srv, "POST", "/transactions.xml", "", "service_token=tok&service_id=s&"+body).status
	}
	tx := func(i, kv string) string { return url.QueryEscape("transactions[" + i + "]" + kv) }

	require.Equal(t, 202, post(tx("0", "[app_id]")+"=a&"+tx("0", "[usage][search]")+"=2&"+
		tx("1", "[user_key]")+"=ukb&"+tx("1", "[usage][hits]")+"=%235&"+
		tx("2", "[app_id]")+"=a&"+tx("2", "[usage][hits]")+"=1&"+tx("2", "[timestamp]")+"="+url.QueryEscape("2024-03-13 10:21:35 +0000")+"&"+
		tx("3", "[app_id]")+"=a&"+tx("3", "[usage][hits]")+"=1&"+tx("3", "[log][code]")+"=200"))
	assert.Equal(t, int64(3), srv.Counter("s", "a", "hits", core.PeriodDay), "2 via search + 1 now; yesterday's hit is in yesterday's bucket")
	assert.Equal(t, int64(4), srv.Counter("s", "a", "hits", core.PeriodMonth))
	assert.Equal(t, int64(5), srv.Counter("s", "b", "hits", core.PeriodDay))
	assert.Empty(t, srv.IntegrationErrors())

	bad := []struct{ body, code string }{
		{tx("0", "[app_id]") + "=x&" + tx("0", "[usage][hits]") + "=1", "application_not_found"},
		{tx("0", "[user_key]") + "=nope&" + tx("0", "[usage][hits]") + "=1", "user_key_invalid"},
		{tx("0", "[app_id]") + "=a&" + tx("0", "[user_key]") + "=ukb&" + tx("0", "[usage][hits]") + "=1", "authentication_error"},
		{tx("0", "[app_id]") + "=a&" + tx("0", "[usage][nope]") + "=1", "metric_invalid"},
		{tx("0", "[app_id]") + "=a&" + tx("0", "[usage][hits]") + "=1.5", "usage_value_invalid"},
		{tx("0", "[app_id]") + "=a&" + tx("0", "[usage][hits]") + "=1&" + tx("0", "[timestamp]") + "=1710325294", "transaction_timestamp_too_old"},
		{tx("0", "[app_id]") + "=a&" + tx("0", "[usage][hits]") + "=1&" + tx("0", "[timestamp]") + "=1710415296", "transaction_timestamp_too_new"},
	}
	for i, b := range bad {
		// A valid transaction first: the whole batch must be dropped.
		require.Equal(t, 202, post(tx("9", "[app_id]")+"=a&"+tx("9", "[usage][hits]")+"=1&"+b.body))
		errs := srv.IntegrationErrors()
		require.Len(t, errs, i+1)
		assert.Equal(t, b.code, errs[i].Code)
		assert.Equal(t, "s", errs[i].ServiceID)
	}
	assert.Equal(t, int64(3), srv.Counter("s", "a", "hits", core.PeriodDay))
	// Within the window (now-86400, now+3600) is fine; usage 0 is dropped.
	require.Equal(t, 202, post(tx("0", "[app_id]")+"=a&"+tx("0", "[usage][hits]")+"=1&"+tx("0", "[timestamp]")+"=1710415295&"+
		tx("1", "[app_id]")+"=a&"+tx("1", "[usage][hits]")+"=0"))
	assert.Len(t, srv.IntegrationErrors(), len(bad))
}

func TestRequestsAreRecorded(t *testing.T) {
	srv := ts.NewServer()
	defer srv.Close()
	do(t, srv, "GET", "/transactions/authorize.xml?a=1&usage%5Bhits%5D=2", "no_body=1", "")
	do(t, srv, "POST", "/transactions.xml?x=y", "", "service_token=t&transactions%5B0%5D%5Bapp_id%5D=z")
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, "/transactions/authorize.xml", reqs[0].Path)
	assert.Equal(t, "2", reqs[0].Query.Get("usage[hits]"))
	assert.Equal(t, "no_body=1", reqs[0].Header.Get("3scale-options"))
	assert.Equal(t, "x=y", reqs[1].RawQuery)
	assert.Equal(t, "z", reqs[1].Form.Get("transactions[0][app_id]"))
	assert.Equal(t, "service_token=t&transactions%5B0%5D%5Bapp_id%5D=z", string(reqs[1].Body))
	reqs[1].Form.Set("mutated", "1")
	assert.Empty(t, srv.Requests()[1].Form.Get("mutated"), "Requests returns copies")
	srv.ResetRequests()
	assert.Empty(t, srv.Requests())
}

func TestMiscRoutes(t *testing.T) {
	srv := ts.NewServer()
	defer srv.Close()
	r := do(t, srv, "OPTIONS", "/transactions/authrep.xml", "", "")
	assert.Equal(t, 204, r.status)
	assert.Contains(t, r.header.Get("Access-Control-Allow-Headers"), "3scale-options")
	assert.Equal(t, "86400", r.header.Get("Access-Control-Max-Age"))
	assert.Equal(t, 200, do(t, srv, "HEAD", "/available", "", "").status)
	for _, m := range [][2]string{{"GET", "/transactions.xml"}, {"POST", "/transactions/authorize.xml"}, {"GET", "/available"}} {
		r = do(t, srv, m[0], m[1], "", "")
		assert.Equal(t, 404, r.status, m)
		assert.Empty(t, r.body)
		assert.Equal(t, "pass", r.header.Get("X-Cascade"))
	}
}

func TestUsageNotAHashAndOAuthKeys(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	for _, q := range []string{"&usage=", "&usage=1001", "&usage%5B%5D=1"} {
		r := do(t, srv, "GET", "/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=app1&app_key=key1"+q, "", "")
		assert.Equal(t, 403, r.status, q)
		assert.Empty(t, r.body, q)
		assert.Equal(t, "default-src 'self'", r.header.Get("Content-Security-Policy"))
	}
	o := "/transactions/oauth_authorize.xml?service_token=st_test&service_id=44&app_id=oapp1"
	assert.Contains(t, do(t, srv, "GET", o+"&app_key=", "", "").body, "<reason>application key is missing</reason>")
	assert.Contains(t, do(t, srv, "GET", o+"&app_key=bad", "", "").body, `<reason>application key "bad" is invalid</reason>`)
	assert.Equal(t, 200, do(t, srv, "GET", o+"&app_key=osecret&redirect_url=https://example.com/cb", "", "").status)
	r := do(t, srv, "GET", o+"&redirect_url=https://x&redirect_uri=https://example.com/cb", "", "")
	assert.Contains(t, r.body, `<reason>redirect_url "https://x" is invalid</reason>`)
	assert.Contains(t, r.body, `<redirect_url>https://example.com/cb</redirect_url>`)
	// backend_version 1 never checks app keys; user_key on a v2 service is
	// "application id is missing".
	assert.Equal(t, 200, do(t, srv, "GET", "/transactions/authorize.xml?provider_key=pk_test&service_id=43&user_key=+uk1+&app_key=zz", "", "").status)
	assert.Contains(t, do(t, srv, "GET", "/transactions/authorize.xml?provider_key=pk_test&user_key=uk1", "", "").body, "application id is missing")
	// no_body empties error bodies but keeps the status.
	r = do(t, srv, "GET", "/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=nope", "no_body=1", "")
	assert.Equal(t, 404, r.status)
	assert.Empty(t, r.body)
	// with no_body and usage, an unknown metric wins over a 409 denial.
	assert.Equal(t, 404, do(t, srv, "GET", "/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=app1&app_key=bad&usage%5Bx%5D=1&no_body=1", "", "").status)
	assert.Equal(t, 409, do(t, srv, "GET", "/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=app1&app_key=bad&usage%5Bx%5D=1", "", "").status)
}

func TestReferrerFilters(t *testing.T) {
	srv := fixtureServer(t, func(s *ts.Service, a *ts.Application) {
		s.ReferrerFiltersRequired, a.ReferrerFilters, a.Keys = true, []string{"*.example.com", "exact.org"}, nil
	})
	for ref, want := range map[string]int{"www.example.com": 200, "a.b.example.com": 200, "example.com": 409,
		"exact.org": 200, "exact.org.evil": 409, "*": 200, "": 409} {
		assert.Equal(t, want, do(t, srv, "GET", "/transactions/authorize.xml?"+fxCreds+"&referrer="+url.QueryEscape(ref), "", "").status, ref)
	}
}

func TestAddValidation(t *testing.T) {
	srv := ts.NewServer()
	defer srv.Close()
	require.NoError(t, srv.AddService(ts.Service{ID: "s", Metrics: []ts.Metric{{Name: "hits"}}}))
	for _, svc := range []ts.Service{{ID: ""}, {ID: "s"}, {ID: "v", BackendVersion: "3"},
		{ID: "m", Metrics: []ts.Metric{{Name: "a[b]"}}}, {ID: "d", Metrics: []ts.Metric{{Name: "a"}, {Name: "a"}}},
		{ID: "p", Metrics: []ts.Metric{{Name: "a", Parent: "zz"}}}, {ID: "c", Metrics: []ts.Metric{{Name: "a", Parent: "b"}, {Name: "b", Parent: "a"}}}} {
		assert.Error(t, srv.AddService(svc), svc.ID)
	}
	require.NoError(t, srv.AddApplication(ts.Application{ServiceID: "s", ID: "a", UserKey: "u"}))
	for _, app := range []ts.Application{{ServiceID: "x", ID: "a"}, {ServiceID: "s", ID: "a"}, {ServiceID: "s", ID: "b", UserKey: "u"},
		{ServiceID: "s", ID: "c", Plan: ts.Plan{Limits: []ts.Limit{{Metric: "nope", Period: core.PeriodDay}}}},
		{ServiceID: "s", ID: "d", Plan: ts.Plan{Limits: []ts.Limit{{Metric: "hits"}}}}} {
		assert.Error(t, srv.AddApplication(app), app.ID)
	}
}

// client returns an http.Client whose idle connections are closed at the
// end of the test.
func client(t *testing.T, timeout time.Duration) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

func TestFaults(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	c := client(t, 5*time.Second)
	get := func() (*http.Response, []byte, error) {
		resp, err := c.Get(srv.URL + "/status")
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	srv.InjectFault(ts.Fault{Kind: ts.FaultStatus, Count: 1})
	srv.InjectFault(ts.Fault{Kind: ts.FaultHTML, Count: 1})
	srv.InjectFault(ts.Fault{Kind: ts.FaultStatus, Status: 500, Count: 1})
	resp, body, err := get()
	require.NoError(t, err)
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, "Service Unavailable\n", string(body))
	resp, body, err = get()
	require.NoError(t, err)
	assert.Equal(t, 502, resp.StatusCode)
	assert.Equal(t, "text/html", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(body), "<center><h1>502 Bad Gateway</h1></center>")
	resp, _, err = get()
	require.NoError(t, err)
	assert.Equal(t, 500, resp.StatusCode)
	resp, _, err = get()
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode, "faults with a Count expire")

	srv.InjectFault(ts.Fault{Kind: ts.FaultTruncatedBody, Count: 1})
	resp, body, err = get()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Greater(t, resp.ContentLength, int64(len(body)))
	assert.True(t, strings.HasPrefix(string(body), `<?xml version="1.0" encoding="UTF-8"?><status>`))

	srv.InjectFault(ts.Fault{Kind: ts.FaultDropConnection})
	for range 2 { // Count 0: until ClearFaults
		_, _, err = get()
		require.Error(t, err)
	}
	srv.ClearFaults()
	_, _, err = get()
	require.NoError(t, err)

	// Latency delays but then answers normally (and has the usual effects).
	srv.InjectFault(ts.Fault{Kind: ts.FaultLatency, Latency: time.Millisecond, Count: 1})
	r, err := c.Get(srv.URL + "/transactions/authrep.xml?service_token=st_test&service_id=42&app_id=app1&app_key=key1&usage%5Bhits%5D=1")
	require.NoError(t, err)
	require.NoError(t, r.Body.Close())
	assert.Equal(t, 200, r.StatusCode)
	assert.Equal(t, int64(1), srv.Counter("42", "app1", "hits", core.PeriodEternity))
	assert.Len(t, srv.Requests(), 9, "faulty requests are recorded too")

	// No answer: the request hangs until the client gives up.
	srv.InjectFault(ts.Fault{Kind: ts.FaultNoAnswer, Count: 1})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/status", nil)
	done := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitRequests(t, srv, 10)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	_, _, err = get()
	require.NoError(t, err)
}

// waitRequests blocks until the server has recorded n requests (a
// condition, not a sleep: it polls the recorded requests).
func waitRequests(t *testing.T, srv *ts.Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(srv.Requests()) >= n }, 10*time.Second, time.Millisecond)
}

func TestCloseUnblocksHangsWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := ts.NewServer()
	c := client(t, 0)
	srv.InjectFault(ts.Fault{Kind: ts.FaultNoAnswer})
	srv.InjectFault(ts.Fault{Kind: ts.FaultLatency, Latency: time.Hour})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(srv.URL + "/status")
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	waitRequests(t, srv, 3)
	srv.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.Error(t, err)
	}
	srv.Close() // idempotent
	c.Transport.(*http.Transport).CloseIdleConnections()
}

func TestHostileInputNeverPanics(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	h := srv.Handler()
	pieces := []string{"usage", "[", "]", "[]", "hits", "=", "&", "%", "%ff", "%23", "#", "app_id", "app_key", "user_key",
		"provider_key", "service_id", "42", "service_token", "st_test", "transactions", "[0]", "no_body", "user_id", " ", "+",
		"redirect_uri", "referrer", "*", "app1", "key1", "-1", "99999999999999999999", "log", "[code]", "timestamp"}
	rnd := rand.New(rand.NewSource(1))
	paths := []string{"/transactions/authorize.xml", "/transactions/authrep.xml", "/transactions/oauth_authrep.xml", "/transactions.xml"}
	for range 3000 {
		var b strings.Builder
		for range rnd.Intn(12) {
			b.WriteString(pieces[rnd.Intn(len(pieces))])
		}
		q := b.String()
		path := paths[rnd.Intn(len(paths))]
		method := "GET"
		var body io.Reader
		if path == "/transactions.xml" {
			method, body = "POST", strings.NewReader("service_token=st_test&service_id=42&"+q)
		}
		req, err := http.NewRequest(method, "http://x"+path, body)
		require.NoError(t, err)
		req.URL.RawQuery = q
		req.Header.Set("3scale-options", q)
		if body != nil && rnd.Intn(3) > 0 {
			req.Header.Set("Content-Type", []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/x"}[rnd.Intn(3)])
		}
		rec := httptest.NewRecorder()
		require.NotPanics(t, func() { h.ServeHTTP(rec, req) }, "%s %s", method, q)
		require.True(t, rec.Code >= 200 && rec.Code < 500, "%s %s: %d", method, q, rec.Code)
	}
}

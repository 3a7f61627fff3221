package threescaletest_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	ts "github.com/threescale-go/threescale/core/threescaletest"
)

const (
	fixturesDir = "../../../shared/3scale/fixtures"
	fxSvc       = "2555417777820"
	fxApp       = "3c4b5e2a"
	fxKey       = "9f2a1c0e5d7b4a38"
	fxCreds     = "service_token=st_EXAMPLE&service_id=" + fxSvc + "&app_id=" + fxApp
)

// fxNow is the fixtures' reference time, a Thursday.
var fxNow = time.Date(2024, 3, 14, 10, 21, 35, 0, time.UTC)

var (
	basicDayMonth = ts.Plan{Name: "Basic", Limits: []ts.Limit{{Metric: "hits", Period: core.PeriodMonth, Max: 10000}, {Metric: "hits", Period: core.PeriodDay, Max: 1000}}}
	basicDay      = ts.Plan{Name: "Basic", Limits: []ts.Limit{{Metric: "hits", Period: core.PeriodDay, Max: 1000}}}
	basicDayMin   = ts.Plan{Name: "Basic", Limits: []ts.Limit{{Metric: "hits", Period: core.PeriodDay, Max: 1000}, {Metric: "hits", Period: core.PeriodMinute, Max: 10}}}
)

// fixtureServer seeds the fixtures' service (token st_EXAMPLE, provider key
// pk_EXAMPLE, metrics hits > search, update) and application, after letting
// edit change them.
func fixtureServer(t *testing.T, edit func(*ts.Service, *ts.Application)) *ts.Server {
	svc := ts.Service{ID: fxSvc, Token: "st_EXAMPLE", ProviderKey: "pk_EXAMPLE", Metrics: []ts.Metric{
		{Name: "hits"}, {Name: "search", Parent: "hits"}, {Name: "update", Parent: "hits"}}}
	app := ts.Application{ServiceID: fxSvc, ID: fxApp, Keys: []string{fxKey}, Plan: ts.Plan{Name: "Basic"}}
	if edit != nil {
		edit(&svc, &app)
	}
	srv := ts.NewServer(ts.WithClock(func() time.Time { return fxNow }))
	t.Cleanup(srv.Close)
	require.NoError(t, srv.AddService(svc))
	require.NoError(t, srv.AddApplication(app))
	// A second account, for service_id_invalid with a valid provider key.
	require.NoError(t, srv.AddService(ts.Service{ID: "other", ProviderKey: "pk_OTHER", Metrics: []ts.Metric{{Name: "hits"}}}))
	return srv
}

type fixtureCase struct {
	file     string
	edit     func(*ts.Service, *ts.Application)
	counters map[string]int64 // "metric/period" -> stored value
	method   string           // default GET
	target   string           // path?query
	options  string           // 3scale-options header
	ctype    string
	body     string
	status   int
	headers  map[string]string // "" value = must be absent
}

func TestFixtures(t *testing.T) {
	if _, err := os.Stat(fixturesDir); err != nil {
		t.Skipf("fixtures folder %s not found (shared/ must sit beside the repository root): %v", fixturesDir, err)
	}
	plan := func(p ts.Plan) func(*ts.Service, *ts.Application) {
		return func(_ *ts.Service, a *ts.Application) { a.Plan = p }
	}
	noLimits := map[string]string{"3scale-limit-max-value": ""}
	rr := "rejection_reason_header=1&limit_headers=1"
	authorize, authrep := "/transactions/authorize.xml?", "/transactions/authrep.xml?"
	reportBody := "service_token=st_EXAMPLE&service_id=" + fxSvc + "&transactions%5B0%5D%5Bapp_id%5D=" + fxApp + "&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1"
	many := strings.Repeat("x=1&", 4099) + "y=1" // 4103 parameters with fxCreds
	cases := []fixtureCase{
		{file: "01_authorize_ok_usage_reports.xml", edit: plan(basicDayMonth), counters: map[string]int64{"hits/month": 1523, "hits/day": 87},
			target: authorize + fxCreds + "&app_key=" + fxKey + "&usage%5Bhits%5D=1", status: 200},
		{file: "02_authrep_ok_no_limits.xml", edit: func(_ *ts.Service, a *ts.Application) { a.Plan.Name, a.Keys = "Default", nil },
			target: authrep + "provider_key=pk_EXAMPLE&app_id=" + fxApp + "&usage%5Bhits%5D=1", options: "limit_headers=1", status: 200,
			headers: map[string]string{"3scale-limit-remaining": "-1", "3scale-limit-reset": "-1", "3scale-limit-max-value": ""}},
		{file: "03_authrep_ok_limit_headers.xml", edit: plan(basicDayMin), counters: map[string]int64{"hits/day": 87, "hits/minute": 2},
			target: authrep + fxCreds + "&app_key=" + fxKey + "&usage%5Bhits%5D=1", options: "limit_headers=1", status: 200,
			headers: map[string]string{"3scale-limit-remaining": "7", "3scale-limit-reset": "25", "3scale-limit-max-value": "10"}},
		{file: "04_authrep_denied_limits_exceeded.xml", edit: plan(basicDayMonth), counters: map[string]int64{"hits/month": 5012, "hits/day": 1001},
			target: authrep + fxCreds + "&app_key=" + fxKey + "&usage%5Bhits%5D=1", options: rr, status: 409,
			headers: map[string]string{"3scale-rejection-reason": "limits_exceeded", "3scale-limit-remaining": "0", "3scale-limit-reset": "49105", "3scale-limit-max-value": "1000"}},
		{file: "05_authorize_denied_limits_predicted.xml", edit: plan(basicDayMonth), counters: map[string]int64{"hits/month": 5012, "hits/day": 998},
			target: authorize + fxCreds + "&app_key=" + fxKey + "&usage%5Bhits%5D=5", options: "limit_headers=1", status: 409,
			headers: map[string]string{"3scale-limit-remaining": "0", "3scale-limit-reset": "49105", "3scale-limit-max-value": "1000"}},
		{file: "06_authrep_denied_app_key_invalid.xml", edit: plan(basicDay), counters: map[string]int64{"hits/day": 87},
			target: authrep + fxCreds + "&app_key=wrongkey&usage%5Bhits%5D=1", options: rr, status: 409,
			headers: map[string]string{"3scale-rejection-reason": "application_key_invalid", "3scale-limit-remaining": ""}},
		{file: "07_authorize_denied_app_key_missing.xml", target: authorize + fxCreds + "&app_key=", status: 409},
		{file: "08_authrep_denied_referrer_not_allowed.xml", edit: func(s *ts.Service, a *ts.Application) {
			s.ReferrerFiltersRequired, a.ReferrerFilters = true, []string{"*.example.com"}
		}, target: authrep + fxCreds + "&app_key=" + fxKey + "&referrer=evil.example.net", options: rr, status: 409,
			headers: map[string]string{"3scale-rejection-reason": "referrer_not_allowed"}},
		{file: "08b_authrep_denied_referrer_missing.xml", edit: func(s *ts.Service, a *ts.Application) {
			s.ReferrerFiltersRequired, a.ReferrerFilters = true, []string{"*.example.com"}
		}, target: authrep + fxCreds + "&app_key=" + fxKey, status: 409},
		{file: "09_authorize_denied_application_not_active.xml", edit: func(_ *ts.Service, a *ts.Application) { a.Suspended = true },
			target: authorize + fxCreds + "&app_key=" + fxKey, options: rr, status: 409,
			headers: map[string]string{"3scale-rejection-reason": "application_not_active"}},
		{file: "10_authrep_denied_service_not_active.xml", edit: func(s *ts.Service, _ *ts.Application) { s.Suspended = true },
			target: authrep + fxCreds + "&app_key=" + fxKey, options: rr, status: 409,
			headers: map[string]string{"3scale-rejection-reason": "service_not_active"}},
		{file: "11_error_application_not_found.xml", target: authorize + "service_token=st_EXAMPLE&service_id=" + fxSvc + "&app_id=deadbeef", options: rr, status: 404,
			headers: map[string]string{"3scale-rejection-reason": "", "content-security-policy": ""}},
		{file: "11b_error_application_id_missing.xml", target: "/transactions/oauth_authorize.xml?service_token=st_EXAMPLE&service_id=" + fxSvc + "&user_key=k", status: 404},
		{file: "12_error_user_key_invalid.xml", edit: func(s *ts.Service, a *ts.Application) { s.BackendVersion, a.UserKey = "1", "uk" },
			target: authorize + "service_token=st_EXAMPLE&service_id=" + fxSvc + "&user_key=bad_user_key", status: 403},
		{file: "12b_error_user_key_missing.xml", edit: func(s *ts.Service, a *ts.Application) { s.BackendVersion, a.UserKey = "1", "uk" },
			target: authorize + fxCreds, status: 403},
		{file: "13_error_provider_key_invalid.xml", target: authorize + "provider_key=pk_WRONG&service_token=st_EXAMPLE&service_id=" + fxSvc + "&app_id=" + fxApp, status: 403},
		{file: "14_error_provider_key_invalid_or_service_missing.xml", method: "POST", target: "/transactions.xml",
			body: "provider_key=pk_WRONG&transactions%5B0%5D%5Bapp_id%5D=" + fxApp, status: 403},
		{file: "15_error_service_token_invalid.xml", target: authorize + "service_token=st_WRONG&service_id=" + fxSvc + "&app_id=" + fxApp, status: 403},
		{file: "16_error_provider_key_or_service_token_required.xml", target: authrep + "service_token=&service_id=" + fxSvc, status: 403},
		{file: "17_error_service_id_missing.xml", target: authorize + "service_token=st_EXAMPLE&service_id=+&app_id=" + fxApp, status: 422},
		{file: "18_error_service_id_invalid.xml", target: authorize + "provider_key=pk_EXAMPLE&service_id=999&app_id=" + fxApp, status: 403},
		{file: "18_error_service_id_invalid.xml", target: authorize + "provider_key=pk_OTHER&service_id=999&app_id=" + fxApp, status: 403},
		{file: "19_error_metric_invalid.xml", target: authrep + fxCreds + "&app_key=" + fxKey + "&usage%5Bhitz%5D=1", status: 404},
		{file: "20_error_usage_value_invalid.xml", target: authorize + fxCreds + "&app_key=" + fxKey + "&usage%5Bhits%5D=-1&usage%5Bhitz%5D=1", status: 403},
		{file: "20b_error_usage_value_empty.xml", target: authorize + fxCreds + "&app_key=" + fxKey + "&usage%5Bhits%5D=+", status: 403},
		{file: "21_error_authentication_error.xml", target: "/transactions/oauth_authrep.xml?" + fxCreds + "&user_key=x", status: 403},
		{file: "22_error_end_users_no_longer_supported.xml", method: "POST", target: "/transactions.xml",
			body: reportBody + "&transactions%5B0%5D%5Buser_id%5D=u", status: 400},
		{file: "23_error_not_valid_data.xml", target: authorize + fxCreds + "&user_key=%ff%fe&no_body=1", status: 422},
		{file: "24_error_bad_request.xml", target: authorize + fxCreds + "&usage%5B%5D=1&usage%5Bhits%5D=1", status: 400},
		{file: "24b_error_bad_request_percent_encoding.xml", method: "POST", target: "/transactions.xml", body: "testparam=value1%", status: 400},
		{file: "24c_error_bad_request_too_many_params.xml", target: authorize + fxCreds + "&" + many, options: "no_body=1", status: 400},
		{file: "25_oauth_authorize_ok_application.xml", edit: func(s *ts.Service, a *ts.Application) {
			s.BackendVersion, a.Plan, a.RedirectURL = "oauth", basicDay, "https://app.example.com/callback"
		}, counters: map[string]int64{"hits/day": 87},
			target: "/transactions/oauth_authorize.xml?" + fxCreds + "&redirect_url=https%3A%2F%2Fapp.example.com%2Fcallback", status: 200},
		{file: "26_oauth_authrep_denied_redirect_uri_invalid.xml", edit: func(s *ts.Service, a *ts.Application) {
			s.BackendVersion, a.RedirectURL = "oauth", "https://app.example.com/callback"
		}, target: "/transactions/oauth_authrep.xml?" + fxCreds + "&redirect_uri=https://evil.example.net/cb", options: rr, status: 409,
			headers: map[string]string{"3scale-rejection-reason": "redirect_uri_invalid"}},
		{file: "27_oauth_authorize_denied_oauth_not_enabled.xml", target: "/transactions/oauth_authorize.xml?" + fxCreds, options: rr, status: 409,
			headers: map[string]string{"3scale-rejection-reason": "oauth_not_enabled"}},
		{file: "28_authrep_hierarchy_extension.xml", edit: plan(ts.Plan{Name: "Basic", Limits: []ts.Limit{
			{Metric: "hits", Period: core.PeriodDay, Max: 1000}, {Metric: "search", Period: core.PeriodDay, Max: 500}}}),
			counters: map[string]int64{"hits/day": 87, "search/day": 40},
			target:   authrep + fxCreds + "&app_key=" + fxKey + "&usage%5Bsearch%5D=1", options: "hierarchy=1", status: 200},
		{file: "29_authorize_list_app_keys_extension.xml", edit: func(_ *ts.Service, a *ts.Application) { a.Keys = append(a.Keys, "0b1c2d3e4f5a6b7c") },
			target: authorize + fxCreds + "&app_key=0b1c2d3e4f5a6b7c", options: "list_app_keys=1", status: 200},
		{file: "30_authorize_eternity_and_week_limits.xml", edit: plan(ts.Plan{Name: "Pro", Limits: []ts.Limit{
			{Metric: "hits", Period: core.PeriodWeek, Max: 5000}, {Metric: "hits", Period: core.PeriodEternity, Max: 100000}}}),
			counters: map[string]int64{"hits/eternity": 4521, "hits/week": 1210},
			target:   authorize + fxCreds + "&app_key=" + fxKey, status: 200},
		{file: "31_report_accepted.body", method: "POST", target: "/transactions.xml",
			body: reportBody + "&transactions%5B0%5D%5Btimestamp%5D=2024-03-14+10%3A21%3A30+%2B0000&transactions%5B0%5D%5Blog%5D%5Bcode%5D=200", status: 202},
		{file: "32_report_error_content_type_invalid.xml", method: "POST", target: "/transactions.xml", ctype: "application/json", body: "{}", status: 400},
		{file: "33_report_error_transactions_is_blank.xml", method: "POST", target: "/transactions.xml", body: "service_token=st_EXAMPLE&service_id=" + fxSvc + "&transactions=", status: 400},
		{file: "34_report_error_transactions_format_invalid.xml", method: "POST", target: "/transactions.xml", body: "service_token=st_EXAMPLE&service_id=" + fxSvc + "&transactions=foo", status: 400},
		{file: "34_report_error_transactions_format_invalid.xml", method: "POST", target: "/transactions.xml", body: "service_token=st_EXAMPLE&service_id=" + fxSvc + "&transactions%5B%5D%5Bapp_id%5D=" + fxApp, status: 400},
		{file: "35_report_error_transactions_has_nil_transaction.xml", method: "POST", target: "/transactions.xml", body: reportBody + "&transactions%5B1%5D", status: 400},
		{file: "36_authrep_denied_no_body.body", edit: func(_ *ts.Service, a *ts.Application) { a.Suspended = true },
			target: authrep + fxCreds + "&app_key=" + fxKey, options: "no_body=1&rejection_reason_header=1", status: 409,
			headers: map[string]string{"3scale-rejection-reason": "application_not_active"}},
		{file: "37_status.json", target: "/status", status: 200, headers: map[string]string{"content-type": "application/json", "content-security-policy": "default-src 'self'"}},
		{file: "38_check.txt", target: "/check.txt", status: 200, headers: map[string]string{"content-type": "text/plain;charset=utf-8"}},
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.file, filepath.Ext(c.file)), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(fixturesDir, c.file))
			require.NoError(t, err)
			srv := fixtureServer(t, c.edit)
			for k, v := range c.counters {
				metric, period, _ := strings.Cut(k, "/")
				srv.SetCounter(fxSvc, fxApp, metric, core.ParsePeriod(period), v)
			}
			method := c.method
			if method == "" {
				method = "GET"
			}
			req, err := http.NewRequest(method, srv.URL+c.target, strings.NewReader(c.body))
			require.NoError(t, err)
			if c.options != "" {
				req.Header.Set("3scale-options", c.options)
			}
			if c.ctype == "" && c.body != "" {
				c.ctype = "application/x-www-form-urlencoded"
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, c.status, resp.StatusCode)
			require.Equal(t, string(want), string(got))
			hdr := map[string]string{"content-type": "application/vnd.3scale-v2.0+xml", "access-control-allow-origin": "*",
				"access-control-expose-headers": "ETag, Link, 3scale-rejection-reason"}
			if strings.HasPrefix(string(want), `<?xml version="1.0" encoding="UTF-8"?><error`) {
				hdr["content-security-policy"] = ""
				hdr["3scale-rejection-reason"], hdr["3scale-limit-remaining"] = "", ""
			} else {
				hdr["content-security-policy"] = "default-src 'self'"
			}
			for k, v := range noLimits {
				if c.headers["3scale-limit-remaining"] == "" {
					hdr[k] = v
				}
			}
			for k, v := range c.headers {
				hdr[k] = v
			}
			for k, v := range hdr {
				require.Equal(t, v, resp.Header.Get(k), "header %s", k)
			}
		})
	}
}

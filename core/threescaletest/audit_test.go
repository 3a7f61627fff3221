package threescaletest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	ts "github.com/threescale-go/threescale/core/threescaletest"
)

// errorCode extracts the code of an <error> document ("" if none).
func errorCode(body string) string {
	_, rest, ok := strings.Cut(body, `<error code="`)
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, `"`)
	return code
}

// TestAuthCheckOrder: when a request has two problems, the one earlier in
// protocol.md §3 "Order of synchronous checks" wins.
func TestAuthCheckOrder(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	const st42 = "service_token=st_test&service_id=42"
	cases := []struct {
		name, path, query string
		status            int
		code              string // "" = empty body
		reason            string // for 409s
	}{
		{"utf8 before credentials", "authorize", "app_id=%ff", 422, "not_valid_data", ""},
		{"utf8 in a key", "authorize", "x%ff=1&" + st42, 422, "not_valid_data", ""},
		{"credentials before user_id", "authorize", "user_id=u&app_id=app1", 403, "provider_key_or_service_token_required", ""},
		{"service_id_missing before user_id", "authorize", "service_token=st_test&user_id=u", 422, "service_id_missing", ""},
		{"token before user_id", "authorize", "service_token=bad&service_id=42&user_id=u", 403, "service_token_invalid", ""},
		{"user_id before usage shape", "authorize", st42 + "&user_id=&usage=1", 400, "end_users_no_longer_supported", ""},
		{"usage shape before service resolution", "authorize", "provider_key=bad&service_id=42&usage=1", 403, "", ""},
		{"service resolution before oauth app_id", "oauth_authorize", "provider_key=bad&service_id=44", 403, "provider_key_invalid", ""},
		{"unknown service with valid pk", "authorize", "provider_key=pk_test&service_id=999&app_id=app1", 403, "service_id_invalid", ""},
		{"unknown pk without service id", "authorize", "provider_key=bad&app_id=app1", 403, "provider_key_invalid_or_service_missing", ""},
		{"oauth app_id before app_id+user_key", "oauth_authrep", "service_token=st_test&service_id=44&user_key=x", 404, "application_not_found", ""},
		{"app_id+user_key before user_key lookup (v1)", "authorize", "service_token=st_test&service_id=43&app_id=x&user_key=bad", 403, "authentication_error", ""},
		{"app_id+user_key on v2", "authorize", st42 + "&app_id=nope&user_key=uk1", 403, "authentication_error", ""},
		{"v1 ignores app_id alone", "authorize", "service_token=st_test&service_id=43&app_id=app_uk1", 403, "user_key_invalid", ""},
		{"application before metric", "authrep", st42 + "&app_id=nope&usage%5Bnope%5D=1", 404, "application_not_found", ""},
		{"denial before usage value", "authrep", st42 + "&app_id=app1&app_key=bad&usage%5Bhits%5D=-1", 409, "", `application key "bad" is invalid`},
		{"denial before metric", "authrep", st42 + "&app_id=app_susp&app_key=keys&usage%5Bnope%5D=1", 409, "", "application is not active"},
		{"oauth not enabled before app key", "oauth_authorize", st42 + "&app_id=app1&app_key=bad", 409, "", "oauth is not enabled"},
		{"oauth key before redirect", "oauth_authorize", "service_token=st_test&service_id=44&app_id=oapp1&app_key=bad&redirect_url=x", 409, "", `application key "bad" is invalid`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, srv, "GET", "/transactions/"+c.path+".xml?"+c.query, "", "")
			assert.Equal(t, c.status, r.status)
			if c.reason != "" {
				assert.Contains(t, r.body, "<reason>"+c.reason+"</reason>")
				return
			}
			assert.Equal(t, c.code, errorCode(r.body), r.body)
			if c.code == "" {
				assert.Empty(t, r.body)
			}
		})
	}
}

// TestReportCheckOrder: content type → credentials → UTF-8 → transactions
// shape / user_id → service resolution → 202.
func TestReportCheckOrder(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	tx := "transactions%5B0%5D%5Bapp_id%5D=app1&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1"
	cases := []struct {
		name, ctype, body string
		status            int
		code              string
	}{
		{"content type first", "text/plain", "x=%ff", 400, "content_type_invalid"},
		{"charset and case accepted", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "service_token=st_test&service_id=42&" + tx, 202, ""},
		{"credentials before utf8", "", "x=%ff&" + tx, 403, "provider_key_or_service_token_required"},
		{"service_id missing before utf8", "", "service_token=st_test&x=%ff", 422, "service_id_missing"},
		{"utf8 before transactions", "", "service_token=st_test&service_id=42&x=%ff", 422, "not_valid_data"},
		{"blank transactions before service resolution", "", "provider_key=bad&service_id=42", 400, "transactions_is_blank"},
		{"user_id before service resolution", "", "provider_key=bad&service_id=42&" + tx + "&transactions%5B0%5D%5Buser_id%5D=", 400, "end_users_no_longer_supported"},
		{"service resolution", "", "provider_key=bad&service_id=42&" + tx, 403, "provider_key_invalid"},
		{"provider key wins over token", "", "provider_key=pk_test&service_token=garbage&service_id=42&" + tx, 202, ""},
		{"provider key not stripped on report", "", "provider_key=+pk_test+&service_id=42&" + tx, 403, "provider_key_invalid"},
		{"no content type", "-", "service_token=st_test&service_id=42&" + tx, 202, ""},
		{"empty provider key is given, not absent", "", "provider_key=&service_token=st_test&service_id=42&" + tx, 403, "provider_key_invalid"},
		{"empty provider key without service id", "", "provider_key=&service_token=st_test&" + tx, 403, "provider_key_invalid_or_service_missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", srv.URL+"/transactions.xml", strings.NewReader(c.body))
			require.NoError(t, err)
			switch c.ctype {
			case "":
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			case "-":
			default:
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b := readAll(t, resp)
			assert.Equal(t, c.status, resp.StatusCode, b)
			assert.Equal(t, c.code, errorCode(b), b)
		})
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestNormalisation: §1.1 — whitespace stripped, blank is absent (except
// app_key), non-string values are absent, service_token is not stripped,
// provider_key wins over service_token.
func TestNormalisation(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	get := func(q string) result { return do(t, srv, "GET", "/transactions/authorize.xml?"+q, "", "") }

	assert.Equal(t, 200, get("service_token=st_test&service_id=+42+&app_id=%09app1+&app_key=+key1+").status)
	assert.Equal(t, 200, get("provider_key=+pk_test+&app_id=app1&app_key=key1").status)
	r := get("service_token=+st_test&service_id=42&app_id=app1")
	assert.Equal(t, 403, r.status, "service_token is not stripped")
	assert.Contains(t, r.body, `service token " st_test" or service id "42" is invalid`)

	// provider_key wins, even with a garbage token; blank or non-string
	// provider_key falls back to the token.
	assert.Equal(t, 200, get("provider_key=pk_test&service_token=garbage&service_id=42&app_id=app1&app_key=key1").status)
	assert.Equal(t, 200, get("provider_key=+&service_token=st_test&service_id=42&app_id=app1&app_key=key1").status)
	assert.Equal(t, 200, get("provider_key%5B%5D=pk_test&service_token=st_test&service_id=42&app_id=app1&app_key=key1").status)
	assert.Equal(t, "provider_key_or_service_token_required", errorCode(get("provider_key=&service_token=&service_id=42").body))

	// Non-string and blank ids are absent.
	assert.Contains(t, get("service_token=st_test&service_id=42&app_id%5B%5D=app1").body, "application id is missing")
	assert.Contains(t, get("service_token=st_test&service_id=42&app_id=+").body, "application id is missing")
	assert.Equal(t, "service_id_missing", errorCode(get("service_token=st_test&service_id%5Bx%5D=42&app_id=app1").body))
	assert.Contains(t, get("service_token=st_test&service_id=43&user_key=+").body, "user key is missing")
	// A blank app_key stays "" (missing), a non-string one is absent.
	assert.Contains(t, get("service_token=st_test&service_id=42&app_id=app1&app_key=+").body, "<reason>application key is missing</reason>")
	assert.Contains(t, get("service_token=st_test&service_id=42&app_id=app1&app_key%5B%5D=key1").body, "<reason>application key is missing</reason>")
	// Unknown parameters are ignored; duplicate keys: last wins.
	assert.Equal(t, 200, get("service_token=st_test&service_id=42&app_id=nope&app_id=app1&app_key=key1&foo=bar&timestamp=1").status)
}

// TestAppKeyRules: §1.1 application-key rules per backend version.
func TestAppKeyRules(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	require.NoError(t, srv.AddApplication(ts.Application{ServiceID: "44", ID: "nokeys"}))
	require.NoError(t, srv.AddApplication(ts.Application{ServiceID: "42", ID: "nokeys"}))
	get := func(ep, q string) result {
		return do(t, srv, "GET", "/transactions/"+ep+".xml?service_token=st_test&"+q, "", "")
	}

	// v2: an app without keys takes any or no key; with keys the key must match.
	for _, k := range []string{"", "&app_key=", "&app_key=whatever"} {
		assert.Equal(t, 200, get("authorize", "service_id=42&app_id=nokeys"+k).status, k)
	}
	assert.Contains(t, get("authorize", "service_id=42&app_id=app1").body, "<reason>application key is missing</reason>")
	assert.Contains(t, get("authorize", "service_id=42&app_id=app1&app_key=key2").body, `<reason>application key "key2" is invalid</reason>`)
	// OAuth service, any endpoint: absent passes, empty is missing even
	// without keys, present must match.
	for _, ep := range []string{"authorize", "oauth_authorize", "authrep", "oauth_authrep"} {
		assert.Equal(t, 200, get(ep, "service_id=44&app_id=oapp1").status, ep)
		assert.Equal(t, 200, get(ep, "service_id=44&app_id=oapp1&app_key=osecret").status, ep)
		assert.Contains(t, get(ep, "service_id=44&app_id=nokeys&app_key=").body, "<reason>application key is missing</reason>", ep)
		assert.Contains(t, get(ep, "service_id=44&app_id=nokeys&app_key=x").body, `<reason>application key "x" is invalid</reason>`, ep)
	}
	// The OAuth <application> element: key = first key, empty if none.
	assert.Contains(t, get("oauth_authorize", "service_id=44&app_id=nokeys").body, "<application><id>nokeys</id><key></key><redirect_url></redirect_url></application>")
	assert.NotContains(t, get("authorize", "service_id=44&app_id=oapp1").body, "<application>")
}

// TestRedirectURL: oauth_* only; redirect_url wins over redirect_uri; the
// name used decides the element name; empty is not checked.
func TestRedirectURL(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	o := "/transactions/oauth_authorize.xml?service_token=st_test&service_id=44&app_id=oapp1"
	cb := url.QueryEscape("https://example.com/cb")

	r := do(t, srv, "GET", o+"&redirect_uri="+cb, "", "")
	assert.Equal(t, 200, r.status)
	assert.Contains(t, r.body, "<redirect_uri>https://example.com/cb</redirect_uri></application>")
	r = do(t, srv, "GET", o+"&redirect_uri=https://x", "rejection_reason_header=1", "")
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "redirect_uri_invalid", r.header.Get("3scale-rejection-reason"))
	assert.Contains(t, r.body, `<reason>redirect_uri "https://x" is invalid</reason>`)
	assert.Contains(t, r.body, "<redirect_uri>https://example.com/cb</redirect_uri>")
	r = do(t, srv, "GET", o+"&redirect_url=https://x", "rejection_reason_header=1", "")
	assert.Equal(t, "redirect_url_invalid", r.header.Get("3scale-rejection-reason"))
	assert.Equal(t, 200, do(t, srv, "GET", o+"&redirect_url=", "", "").status, "empty: not checked")
	assert.Equal(t, 200, do(t, srv, "GET", o+"&redirect_url="+cb+"&redirect_uri=https://x", "", "").status, "redirect_url wins")
	// Not checked on the non-OAuth endpoints.
	assert.Equal(t, 200, do(t, srv, "GET", "/transactions/authorize.xml?service_token=st_test&service_id=44&app_id=oapp1&redirect_url=https://x", "", "").status)
	// The redirect check comes before the referrer and state checks.
	srv2 := fixtureServer(t, func(s *ts.Service, a *ts.Application) {
		s.BackendVersion, s.ReferrerFiltersRequired = "oauth", true
		a.ReferrerFilters, a.Suspended, a.RedirectURL = []string{"ok.org"}, true, "https://a&b"
	})
	r = do(t, srv2, "GET", "/transactions/oauth_authorize.xml?"+fxCreds+"&redirect_url=https://x", "", "")
	assert.Contains(t, r.body, `<reason>redirect_url "https://x" is invalid</reason>`)
	assert.Contains(t, r.body, "<redirect_url>https://a&amp;b</redirect_url>", "redirect URL is escaped")
	r = do(t, srv2, "GET", "/transactions/oauth_authorize.xml?"+fxCreds+"&referrer=bad.org", "", "")
	assert.Contains(t, r.body, `<reason>referrer "bad.org" is not allowed</reason>`)
	r = do(t, srv2, "GET", "/transactions/oauth_authorize.xml?"+fxCreds+"&referrer=ok.org", "", "")
	assert.Contains(t, r.body, "<reason>application is not active</reason>")
}

// TestReferrerRules: checked only when the service requires filters and
// the app has some; "*" in a filter matches any sequence; "*" bypasses.
func TestReferrerRules(t *testing.T) {
	for _, c := range []struct {
		required bool
		filters  []string
		ref      string
		want     int
	}{
		{false, []string{"a.org"}, "evil.org", 200},
		{true, nil, "evil.org", 200},
		{true, nil, "", 200},
		{true, []string{"a.org"}, "*", 200},
		{true, []string{"*"}, "anything", 200},
		{true, []string{"*"}, "", 409},
		{true, []string{"a*b*c"}, "axxbyyc", 200},
		{true, []string{"a*b*c"}, "axxbyycd", 409},
		{true, []string{"a*bc*bc"}, "abcbc", 200},
		{true, []string{"*.a.org"}, "x.a.org.evil", 409},
		{true, []string{"a.org"}, "A.org", 409},
		{true, []string{"a.org", "b.org"}, "b.org", 200},
	} {
		srv := fixtureServer(t, func(s *ts.Service, a *ts.Application) {
			s.ReferrerFiltersRequired, a.ReferrerFilters, a.Keys = c.required, c.filters, nil
		})
		q := fxCreds
		if c.ref != "" {
			q += "&referrer=" + url.QueryEscape(c.ref)
		}
		assert.Equal(t, c.want, do(t, srv, "GET", "/transactions/authorize.xml?"+q, "", "").status, "%+v", c)
	}
}

// TestUsageValidation: §1.4 — per metric in hash order, the value before
// the name; accepted value syntax; names stripped and case-sensitive.
func TestUsageValidation(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	base := "/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=app1&app_key=key1&"
	cases := []struct {
		usage  string
		status int
		msg    string
	}{
		{"usage%5Bnope%5D=-1", 403, `usage value "-1" for metric "nope" is invalid`},
		{"usage%5Bnope%5D=", 403, `usage value for metric "nope" can not be empty`},
		{"usage%5Bnope%5D", 403, `usage value for metric "nope" can not be empty`},
		{"usage%5Bhits%5D%5B%5D=1", 403, `usage value for metric "hits" can not be empty`},
		{"usage%5Bhits%5D%5Bx%5D=1", 403, `usage value for metric "hits" can not be empty`},
		{"usage%5Bnope%5D=1&usage%5Bhits%5D=-1", 404, `metric "nope" is invalid`},
		{"usage%5Bhits%5D=1&usage%5Bnope%5D=x", 403, `usage value "x" for metric "nope" is invalid`},
		{"usage%5B+hits+%5D=1", 200, ""},
		{"usage%5BHits%5D=1", 404, `metric "Hits" is invalid`},
		{"usage%5Bhits%5D=+%232+", 200, ""},
		{"usage%5Bhits%5D=1.5", 403, `usage value "1.5" for metric "hits" is invalid`},
		{"usage%5Bhits%5D=%23%233", 403, `usage value "##3" for metric "hits" is invalid`},
		{"usage%5Bhits%5D=%23", 403, `usage value "#" for metric "hits" is invalid`},
		{"usage%5Bhits%5D=-%235", 403, `usage value "-#5" for metric "hits" is invalid`},
		{"usage%5Bhits%5D=0", 200, ""},
		{"usage%5Bhits%5D=99999999999999999999999", 409, ""},
	}
	for _, c := range cases {
		r := do(t, srv, "GET", base+c.usage, "", "")
		assert.Equal(t, c.status, r.status, c.usage)
		if c.msg != "" {
			assert.Contains(t, r.body, c.msg+"</error>", c.usage)
		}
	}
	// usage not a hash: 403 with an empty body, also with no_body and on
	// every auth endpoint.
	for _, ep := range []string{"authorize", "authrep", "oauth_authorize", "oauth_authrep"} {
		r := do(t, srv, "GET", "/transactions/"+ep+".xml?service_token=st_test&service_id=44&app_id=oapp1&usage=1", "", "")
		assert.Equal(t, 403, r.status, ep)
		assert.Empty(t, r.body, ep)
	}
}

// TestSetUsagePropagation: §1.3 — "#N" sets the metric and all its
// ancestors in every period; "#0" resets; with several set children the
// last one processed wins; authorize checks N against the max.
func TestSetUsagePropagation(t *testing.T) {
	now := fxNow
	srv := treeServer(t, &now, ts.Limit{Metric: "hits", Period: core.PeriodDay, Max: 10})
	c := func(m string, p core.Period) int64 { return srv.Counter("s", "a", m, p) }
	for _, p := range []core.Period{core.PeriodMinute, core.PeriodMonth, core.PeriodEternity} {
		srv.SetCounter("s", "a", "hits", p, 4)
	}
	require.Equal(t, 200, do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bdeep%5D=%236", "", "").status)
	for _, m := range []string{"hits", "search", "deep"} {
		for _, p := range []core.Period{core.PeriodMinute, core.PeriodDay, core.PeriodMonth, core.PeriodEternity} {
			assert.Equal(t, int64(6), c(m, p), "%s/%s", m, p)
		}
	}
	assert.Equal(t, int64(0), c("update", core.PeriodDay))
	// Two set children: the last in hash order wins for the parent.
	require.Equal(t, 200, do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bsearch%5D=%232&usage%5Bupdate%5D=%233", "", "").status)
	assert.Equal(t, int64(3), c("hits", core.PeriodDay))
	assert.Equal(t, int64(2), c("search", core.PeriodDay))
	// A set below the current value is allowed even when the stored
	// counter is over the limit (authorize compares N itself).
	srv.SetCounter("s", "a", "hits", core.PeriodDay, 50)
	assert.Equal(t, 200, do(t, srv, "GET", "/transactions/authorize.xml?"+sa+"&usage%5Bhits%5D=%2310", "", "").status)
	assert.Equal(t, 409, do(t, srv, "GET", "/transactions/authorize.xml?"+sa+"&usage%5Bhits%5D=%2311", "", "").status)
	assert.Equal(t, int64(50), c("hits", core.PeriodDay), "authorize records nothing")
	// #0 resets.
	require.Equal(t, 200, do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bsearch%5D=%230", "", "").status)
	assert.Equal(t, int64(0), c("hits", core.PeriodDay))
	assert.Equal(t, int64(0), c("search", core.PeriodEternity))
	// In reports too.
	require.Equal(t, 202, do(t, srv, "POST", "/transactions.xml", "", "service_token=tok&service_id=s&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bdeep%5D=%239").status)
	assert.Equal(t, []int64{9, 9, 9}, []int64{c("hits", core.PeriodDay), c("search", core.PeriodDay), c("deep", core.PeriodDay)})
}

func limitHdrs(r result) []string {
	return []string{r.header.Get("3scale-limit-remaining"), r.header.Get("3scale-limit-reset"), r.header.Get("3scale-limit-max-value")}
}

// TestLimitHeaderAlgorithm: §5.
func TestLimitHeaderAlgorithm(t *testing.T) {
	now := fxNow // 10:21:35, Thursday
	srv := treeServer(t, &now, ts.Limit{Metric: "hits", Period: core.PeriodDay, Max: 100},
		ts.Limit{Metric: "hits", Period: core.PeriodMinute, Max: 10}, ts.Limit{Metric: "update", Period: core.PeriodHour, Max: 20})
	get := func(ep, usage string) result {
		return do(t, srv, "GET", "/transactions/"+ep+".xml?"+sa+usage, "limit_headers=1&rejection_reason_header=1", "")
	}
	srv.SetCounter("s", "a", "hits", core.PeriodMinute, 2)
	srv.SetCounter("s", "a", "hits", core.PeriodDay, 50)

	// authorize reports one more than authrep for the same state.
	assert.Equal(t, []string{"4", "25", "10"}, limitHdrs(get("authorize", "&usage%5Bsearch%5D=2")), "(10-2)/2")
	assert.Equal(t, []string{"3", "25", "10"}, limitHdrs(get("authrep", "&usage%5Bsearch%5D=2")), "(10-4)/2")
	// Candidate reports: the metrics in usage and their ancestors only
	// (update/hour, full, is not a candidate for search)...
	srv.SetCounter("s", "a", "update", core.PeriodHour, 20)
	assert.Equal(t, []string{"6", "25", "10"}, limitHdrs(get("authorize", "&usage%5Bsearch%5D=1")), "(10-4)/1")
	// ... but without usage every report is, each unconstrained unless full.
	assert.Equal(t, []string{"0", "2305", "20"}, limitHdrs(get("authorize", "")))
	srv.SetCounter("s", "a", "update", core.PeriodHour, 0)
	assert.Equal(t, []string{"-1", "-1", ""}, limitHdrs(get("authorize", "")))
	// Usage 0: unconstrained unless the room is already 0.
	assert.Equal(t, []string{"-1", "-1", ""}, limitHdrs(get("authorize", "&usage%5Bhits%5D=0")))
	srv.SetCounter("s", "a", "hits", core.PeriodMinute, 10)
	assert.Equal(t, []string{"0", "25", "10"}, limitHdrs(get("authorize", "&usage%5Bhits%5D=0")))
	// Ties go to the longer period.
	srv.SetCounter("s", "a", "hits", core.PeriodMinute, 0)
	srv.SetCounter("s", "a", "hits", core.PeriodDay, 90)
	assert.Equal(t, []string{"10", "49105", "100"}, limitHdrs(get("authorize", "&usage%5Bhits%5D=1")))
	assert.Equal(t, []string{"5", "49105", "100"}, limitHdrs(get("authorize", "&usage%5Bhits%5D=2")))
	// A limits_exceeded denial carries the headers (remaining 0); current
	// values stay the stored ones.
	r := get("authrep", "&usage%5Bhits%5D=11")
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "limits_exceeded", r.header.Get("3scale-rejection-reason"))
	assert.Equal(t, []string{"0", "49105", "100"}, limitHdrs(r), "minute 10/11 and day 10/11 both 0: the day wins")
	assert.Equal(t, int64(90), srv.Counter("s", "a", "hits", core.PeriodDay))
	// Errors carry no limit headers.
	r = do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bnope%5D=1", "limit_headers=1", "")
	assert.Equal(t, 404, r.status)
	assert.Equal(t, []string{"", "", ""}, limitHdrs(r))
}

// TestLimitSemantics: §7 with and without usage, §2 current_value and the
// exceeded attribute.
func TestLimitSemantics(t *testing.T) {
	now := fxNow
	srv := treeServer(t, &now, ts.Limit{Metric: "hits", Period: core.PeriodDay, Max: 10},
		ts.Limit{Metric: "update", Period: core.PeriodDay, Max: 3}, ts.Limit{Metric: "search", Period: core.PeriodDay, Max: 5})
	get := func(ep, usage string) result { return do(t, srv, "GET", "/transactions/"+ep+".xml?"+sa+usage, "", "") }
	report := func(m string, max, cur int64, exceeded bool) string {
		x := ""
		if exceeded {
			x = ` exceeded="true"`
		}
		return fmt.Sprintf(`<usage_report metric="%s" period="day"%s><period_start>2024-03-14 00:00:00 +0000</period_start>`+
			`<period_end>2024-03-15 00:00:00 +0000</period_end><max_value>%d</max_value><current_value>%d</current_value></usage_report>`, m, x, max, cur)
	}
	srv.SetCounter("s", "a", "update", core.PeriodDay, 4) // over its limit
	srv.SetCounter("s", "a", "hits", core.PeriodDay, 4)
	// Limits of metrics not in the (propagated) usage are ignored.
	r := get("authrep", "&usage%5Bsearch%5D=2")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.body, report("hits", 10, 6, false)+report("search", 5, 2, false)+report("update", 3, 4, true))
	// authorize: stored values, predicted usage not added.
	r = get("authorize", "&usage%5Bsearch%5D=3")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.body, report("hits", 10, 6, false)+report("search", 5, 2, false))
	// Over the limit with this usage: denied, no exceeded attribute (the
	// stored value is not above max), stored values.
	r = get("authrep", "&usage%5Bsearch%5D=4")
	require.Equal(t, 409, r.status)
	assert.Contains(t, r.body, "<reason>usage limits are exceeded</reason>")
	assert.Contains(t, r.body, report("hits", 10, 6, false)+report("search", 5, 2, false))
	// Without usage: denied only if some stored counter is above max.
	r = get("authorize", "")
	assert.Equal(t, 409, r.status)
	srv.SetCounter("s", "a", "update", core.PeriodDay, 3)
	assert.Equal(t, 200, get("authorize", "").status, "at exactly max")
	assert.Equal(t, 200, get("authrep", "").status)
	assert.Equal(t, int64(6), srv.Counter("s", "a", "hits", core.PeriodDay), "authrep without usage records nothing")
	// A parent over its limit denies its child's usage, except with
	// flat_usage (then only the named metrics are checked and recorded).
	srv.SetCounter("s", "a", "hits", core.PeriodDay, 11)
	assert.Equal(t, 409, get("authrep", "&usage%5Bsearch%5D=1").status)
	r = do(t, srv, "GET", "/transactions/authrep.xml?"+sa+"&usage%5Bsearch%5D=1", "flat_usage=1", "")
	require.Equal(t, 200, r.status)
	assert.Contains(t, r.body, report("hits", 10, 11, true)+report("search", 5, 3, false))
	assert.Equal(t, int64(11), srv.Counter("s", "a", "hits", core.PeriodDay))
}

// TestNoBody: the no_body extension (header, or URL param with any value
// but 0/false) empties bodies of 200, 409 and <error>s, except
// not_valid_data and Rack parsing errors; the status is kept.
func TestNoBody(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	const q = "/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=app1&app_key=key1"
	for _, v := range []string{"1", "true", "yes", ""} {
		r := do(t, srv, "GET", q+"&no_body="+v, "", "")
		assert.Equal(t, 200, r.status, v)
		assert.Empty(t, r.body, v)
	}
	for _, v := range []string{"0", "false"} {
		assert.NotEmpty(t, do(t, srv, "GET", q+"&no_body="+v, "", "").body, v)
		assert.NotEmpty(t, do(t, srv, "GET", q, "no_body="+v, "").body, v)
	}
	assert.NotEmpty(t, do(t, srv, "GET", q+"&no_body", "", "").body, "no value: nil, not enabled")
	// Boolean extensions need exactly 1.
	assert.NotContains(t, do(t, srv, "GET", q, "hierarchy=true", "").body, "<hierarchy>")
	assert.Contains(t, do(t, srv, "GET", q, "hierarchy=1", "").body, "<hierarchy>")
	assert.Empty(t, do(t, srv, "GET", q, "no_body=yes", "").body)

	for _, c := range []struct{ target, body string }{
		{"/transactions/authorize.xml?service_token=bad&service_id=42", ""},
		{"/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=app1&app_key=key1&usage%5Bhits%5D=-1", ""},
		{"/transactions/authorize.xml?service_token=st_test&service_id=42&user_id=x", ""},
		{"/transactions.xml", "service_token=st_test&service_id=42&transactions="},
		{"/transactions.xml", "service_token=st_test&service_id=42&no_body=1&transactions=x"},
	} {
		method, opts := "GET", "no_body=1"
		if c.body != "" {
			method = "POST"
		}
		r := do(t, srv, method, c.target, opts, c.body)
		assert.GreaterOrEqual(t, r.status, 400, c.target)
		assert.Empty(t, r.body, c.target)
	}
	for _, target := range []string{
		"/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=%ff",
		"/transactions/authorize.xml?service_token=st_test&service_id=42&app_id=%f",
		"/transactions/authorize.xml?service_token=st_test&service_id=42&usage%5B%5D=1&usage%5Bhits%5D=1",
	} {
		r := do(t, srv, "GET", target+"&no_body=1", "no_body=1", "")
		assert.NotEmpty(t, r.body, target)
		assert.Contains(t, []string{"not_valid_data", "bad_request"}, errorCode(r.body), target)
	}
}

// TestReportTransactions: timestamp formats and window, transactions
// without usage or with all-zero usage dropped (even with a log), atomic
// batches.
func TestReportTransactions(t *testing.T) {
	now := fxNow // 2024-03-14 10:21:35 UTC = 1710411695
	srv := treeServer(t, &now)
	post := func(txns ...string) int {
		body := "service_token=tok&service_id=s"
		for i, tx := range txns {
			for _, kv := range strings.Split(tx, "&") {
				k, v, _ := strings.Cut(kv, "=")
				body += "&" + url.QueryEscape(fmt.Sprintf("transactions[%d]%s", i, k)) + "=" + url.QueryEscape(v)
			}
		}
		return do(t, srv, "POST", "/transactions.xml", "", body).status
	}
	at := func(ts string) {
		before := len(srv.IntegrationErrors())
		require.Equal(t, 202, post("[app_id]=a&[usage][hits]=1&[timestamp]="+ts))
		require.Len(t, srv.IntegrationErrors(), before, ts)
	}
	counterAt := func(tm time.Time) int64 {
		saved := now
		now = tm
		defer func() { now = saved }()
		return srv.Counter("s", "a", "hits", core.PeriodHour)
	}
	for ts, want := range map[string]time.Time{
		"1710408000":                 time.Date(2024, 3, 14, 9, 20, 0, 0, time.UTC),
		"2024-03-14 08:30:00":        time.Date(2024, 3, 14, 8, 30, 0, 0, time.UTC),
		"2024-03-14 09:59:59 +0200":  time.Date(2024, 3, 14, 7, 59, 59, 0, time.UTC),
		"2024-03-14 04:00:00 -02:00": time.Date(2024, 3, 14, 6, 0, 0, 0, time.UTC),
		"2024-03-14 05:10:00 UTC":    time.Date(2024, 3, 14, 5, 10, 0, 0, time.UTC),
		"2024/03/14":                 time.Date(2024, 3, 14, 0, 0, 0, 0, time.UTC),
		"2024garbage2024":            now,
		"":                           now,
	} {
		before := counterAt(want)
		at(ts)
		assert.Equal(t, before+1, counterAt(want), "%q", ts)
	}
	// Window: now-86400 <= ts <= now+3600.
	errs := len(srv.IntegrationErrors())
	require.Equal(t, 202, post("[app_id]=a&[usage][hits]=1&[timestamp]=1710325295"))
	require.Equal(t, 202, post("[app_id]=a&[usage][hits]=1&[timestamp]=1710415295"))
	assert.Len(t, srv.IntegrationErrors(), errs, "the window's edges are inside")
	require.Equal(t, 202, post("[app_id]=a&[usage][hits]=1&[timestamp]=1710325294"))
	require.Equal(t, 202, post("[app_id]=a&[usage][hits]=1&[timestamp]=1710415296"))
	require.Len(t, srv.IntegrationErrors(), errs+2)

	// Dropped transactions: no usage, empty usage, all-zero usage (even
	// with a log); nothing recorded, no error.
	day := srv.Counter("s", "a", "hits", core.PeriodDay)
	require.Equal(t, 202, post("[app_id]=a&[log][code]=200", "[app_id]=a&[usage][hits]=0&[usage][search]=0",
		"[app_id]=a&[usage]=", "[app_id]=a&[usage][hits]=0&[log][code]=500"))
	assert.Equal(t, day, srv.Counter("s", "a", "hits", core.PeriodDay))
	assert.Len(t, srv.IntegrationErrors(), errs+2)
	// An atomic batch: a bad usage value in the last transaction drops all.
	require.Equal(t, 202, post("[app_id]=a&[usage][hits]=1", "[app_id]=a&[usage][hits]=-1"))
	assert.Equal(t, day, srv.Counter("s", "a", "hits", core.PeriodDay))
	assert.Len(t, srv.IntegrationErrors(), errs+3)
	// flat_usage applies to reports.
	r := do(t, srv, "POST", "/transactions.xml", "flat_usage=1", "service_token=tok&service_id=s&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bsearch%5D=1")
	require.Equal(t, 202, r.status)
	assert.Empty(t, r.body)
	assert.Equal(t, day, srv.Counter("s", "a", "hits", core.PeriodDay))
	assert.Equal(t, int64(1), srv.Counter("s", "a", "search", core.PeriodDay))
}

// TestConcurrentAuthrep: parallel authreps on one application never lose
// an increment (run with -race).
func TestConcurrentAuthrep(t *testing.T) {
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	defer srv.Close()
	require.NoError(t, srv.AddApplication(ts.Application{ServiceID: "42", ID: "free"}))
	const workers, each = 8, 25
	c := client(t, 10*time.Second)
	h := srv.Handler()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				target := "/transactions/authrep.xml?service_token=st_test&service_id=42&app_id=free&usage%5Bsearch%5D=1"
				if w%2 == 0 { // half through the listener, half through Handler
					resp, err := c.Get(srv.URL + target)
					if assert.NoError(t, err) {
						assert.Equal(t, 200, resp.StatusCode)
						resp.Body.Close()
					}
				} else {
					req, _ := http.NewRequest("GET", "http://x"+target, nil)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					assert.Equal(t, 200, rec.Code)
				}
				_ = srv.Counter("42", "free", "hits", core.PeriodDay)
				_ = srv.Requests()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(workers*each), srv.Counter("42", "free", "hits", core.PeriodDay))
	assert.Equal(t, int64(workers*each), srv.Counter("42", "free", "search", core.PeriodEternity))
	assert.Len(t, srv.Requests(), workers*each)
}

// TestEmptyProviderKeyNeverMatches: a service registered without a
// provider key is not reachable with an empty provider_key= (report takes
// provider_key verbatim, so "" is "given").
func TestEmptyProviderKeyNeverMatches(t *testing.T) {
	now := fxNow
	srv := treeServer(t, &now) // service "s" has a token but no provider key
	r := do(t, srv, "POST", "/transactions.xml", "", "provider_key=&service_id=s&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1")
	assert.Equal(t, 403, r.status)
	assert.Contains(t, r.body, `<error code="provider_key_invalid">provider key "" is invalid</error>`)
	assert.Equal(t, int64(0), srv.Counter("s", "a", "hits", core.PeriodDay))
	// On the auth endpoints a blank provider_key is absent: the token is used.
	assert.Equal(t, 200, do(t, srv, "GET", "/transactions/authorize.xml?provider_key=&"+sa, "", "").status)
}

// TestExtensionsDocumentParts: §2/§5 — <app_keys> and <hierarchy> are
// present even if empty, at most 256 keys are listed, the rejection
// reason header is only sent on 409s, <plan> is escaped and <reason> is
// not.
func TestExtensionsDocumentParts(t *testing.T) {
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%03d", i)
	}
	srv := fixtureServer(t, func(s *ts.Service, a *ts.Application) {
		s.ReferrerFiltersRequired = true
		a.Keys, a.Plan.Name, a.ReferrerFilters = keys, "A&B <x>", []string{"ok.org"}
	})
	q := "/transactions/authorize.xml?" + fxCreds + "&app_key=k299&referrer=ok.org"
	r := do(t, srv, "GET", q, "list_app_keys=1&hierarchy=1&rejection_reason_header=1", "")
	require.Equal(t, 200, r.status)
	assert.Empty(t, r.header.Get("3scale-rejection-reason"))
	assert.Contains(t, r.body, "<plan>A&amp;B &lt;x&gt;</plan><app_keys app=\""+fxApp+"\" svc=\""+fxSvc+"\"><key id=\"k000\"/>")
	assert.Equal(t, 256, strings.Count(r.body, "<key id="))
	assert.True(t, strings.HasSuffix(r.body, `<key id="k255"/></app_keys><hierarchy></hierarchy></status>`), r.body)

	r = do(t, srv, "GET", "/transactions/authrep.xml?"+fxCreds+"&app_key=k001&referrer=a%26b", "rejection_reason_header=1&limit_headers=1", "")
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "referrer_not_allowed", r.header.Get("3scale-rejection-reason"))
	assert.Empty(t, r.header.Get("3scale-limit-remaining"), "only limits_exceeded denials carry limit headers")
	assert.Contains(t, r.body, `<reason>referrer "a&b" is not allowed</reason>`)

	srv2 := fixtureServer(t, func(_ *ts.Service, a *ts.Application) { a.Keys = nil })
	r = do(t, srv2, "GET", "/transactions/authorize.xml?"+fxCreds, "list_app_keys=1&hierarchy=1", "")
	assert.True(t, strings.HasSuffix(r.body, `<plan>Basic</plan><app_keys app="`+fxApp+`" svc="`+fxSvc+`"></app_keys><hierarchy></hierarchy></status>`), r.body)
}

// TestReportBodies: multipart bodies are accepted; Rack's size limit is a
// bad_request that keeps its body even with no_body.
func TestReportBodies(t *testing.T) {
	now := fxNow
	srv := treeServer(t, &now)
	var b strings.Builder
	for _, kv := range [][2]string{{"service_token", "tok"}, {"service_id", "s"}, {"transactions[0][app_id]", "a"}, {"transactions[0][usage][search]", "2"}} {
		b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"" + kv[0] + "\"\r\n\r\n" + kv[1] + "\r\n")
	}
	b.WriteString("--XyZ--\r\n")
	req, err := http.NewRequest("POST", srv.URL+"/transactions.xml", strings.NewReader(b.String()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=XyZ")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	assert.Empty(t, readAll(t, resp))
	assert.Equal(t, 202, resp.StatusCode)
	assert.Equal(t, int64(2), srv.Counter("s", "a", "hits", core.PeriodDay))
	assert.Equal(t, "2", srv.Requests()[0].Form.Get("transactions[0][usage][search]"))

	r := do(t, srv, "POST", "/transactions.xml", "no_body=1", "service_token=tok&service_id=s&x="+strings.Repeat("a", 4194304))
	assert.Equal(t, 400, r.status)
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><error code="bad_request">total query size exceeds limit (4194304)</error>`, r.body)
}

package core

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const defaultOptions = "rejection_reason_header=1&limit_headers=1"

type authCall func(c *Client, ctx context.Context, req AuthRequest) (*AuthResult, error)

var (
	callAuthorize      authCall = (*Client).Authorize
	callAuthRep        authCall = (*Client).AuthRep
	callOAuthAuthorize authCall = (*Client).OAuthAuthorize
	callOAuthAuthRep   authCall = (*Client).OAuthAuthRep
)

var authCalls = []struct {
	name string
	call authCall
	path string
}{
	{"authorize", callAuthorize, "/transactions/authorize.xml"},
	{"authrep", callAuthRep, "/transactions/authrep.xml"},
	{"oauth_authorize", callOAuthAuthorize, "/transactions/oauth_authorize.xml"},
	{"oauth_authrep", callOAuthAuthRep, "/transactions/oauth_authrep.xml"},
}

func TestAuthRequestEncoding(t *testing.T) {
	on := func(f func(*Extensions)) *Extensions { e := Extensions{}; f(&e); return &e }
	cases := []struct {
		name    string
		opts    []Option
		call    authCall
		path    string
		req     AuthRequest
		query   string
		options string // "" = no 3scale-options header at all
	}{
		{name: "authorize app_id+app_key", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", "k"), Usage: Hits(1)},
			query:   "service_token=st&service_id=42&app_id=a&app_key=k&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "authrep with log code", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", "k"), Usage: Hits(1), LogCode: 200},
			query:   "service_token=st&service_id=42&app_id=a&app_key=k&usage%5Bhits%5D=1&log%5Bcode%5D=200",
			options: defaultOptions},
		{name: "authorize never sends log code", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", "k"), Usage: Hits(1), LogCode: 503},
			query:   "service_token=st&service_id=42&app_id=a&app_key=k&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "oauth_authorize never sends log code", call: callOAuthAuthorize, path: "/transactions/oauth_authorize.xml",
			req:     AuthRequest{Credentials: OAuthApp("cid", ""), Usage: Hits(1), LogCode: 503},
			query:   "service_token=st&service_id=42&app_id=cid&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "oauth_authrep sends log code", call: callOAuthAuthRep, path: "/transactions/oauth_authrep.xml",
			req:     AuthRequest{Credentials: OAuthApp("cid", "secret"), Usage: Hits(2), LogCode: 404},
			query:   "service_token=st&service_id=42&app_id=cid&app_key=secret&usage%5Bhits%5D=2&log%5Bcode%5D=404",
			options: defaultOptions},
		{name: "app_id without key", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1)},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "user_key", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: UserKey("uk"), Usage: Hits(1)},
			query:   "service_token=st&service_id=42&user_key=uk&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "oauth redirect_url", call: callOAuthAuthorize, path: "/transactions/oauth_authorize.xml",
			req:     AuthRequest{Credentials: OAuthApp("cid", "").WithRedirectURL("https://app.example.com/cb?x=1&y=2"), Usage: Hits(1)},
			query:   "service_token=st&service_id=42&app_id=cid&redirect_url=https%3A%2F%2Fapp.example.com%2Fcb%3Fx%3D1%26y%3D2&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "oauth redirect_uri", call: callOAuthAuthRep, path: "/transactions/oauth_authrep.xml",
			req:     AuthRequest{Credentials: OAuthApp("cid", "s").WithRedirectURI("https://app.example.com/cb"), Usage: Hits(1)},
			query:   "service_token=st&service_id=42&app_id=cid&app_key=s&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "redirect only on oauth endpoints", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: OAuthApp("cid", "").WithRedirectURL("https://app.example.com/cb"), Usage: Hits(1)},
			query:   "service_token=st&service_id=42&app_id=cid&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "oauth call with app_id credentials", call: callOAuthAuthorize, path: "/transactions/oauth_authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", "k"), Usage: Hits(1)},
			query:   "service_token=st&service_id=42&app_id=a&app_key=k&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "referrer escaped", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: UserKey("uk"), Usage: Hits(1), Referrer: "a&b c=d#e"},
			query:   "service_token=st&service_id=42&user_key=uk&usage%5Bhits%5D=1&referrer=a%26b+c%3Dd%23e",
			options: defaultOptions},
		{name: "several metrics sorted, zero kept", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Usage{"search": 2, "hits": 0, "Upload": 7}},
			query:   "service_token=st&service_id=42&app_id=a&usage%5BUpload%5D=7&usage%5Bhits%5D=0&usage%5Bsearch%5D=2",
			options: defaultOptions},
		{name: "metric names and values escaped", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a/b", "k+y"), Usage: Usage{"my metric/é": 9223372036854775807}},
			query:   "service_token=st&service_id=42&app_id=a%2Fb&app_key=k%2By&usage%5Bmy+metric%2F%C3%A9%5D=9223372036854775807",
			options: defaultOptions},
		{name: "default usage hits=1", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", "k")},
			query:   "service_token=st&service_id=42&app_id=a&app_key=k&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "empty non-nil usage uses the default", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", "k"), Usage: Usage{}},
			query:   "service_token=st&service_id=42&app_id=a&app_key=k&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "WithDefaultUsage(nil) sends no usage", opts: []Option{WithDefaultUsage(nil)}, call: callAuthorize,
			path:    "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", "k")},
			query:   "service_token=st&service_id=42&app_id=a&app_key=k",
			options: defaultOptions},
		{name: "WithDefaultUsage custom", opts: []Option{WithDefaultUsage(Usage{"calls": 3})}, call: callAuthRep,
			path:    "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", "k")},
			query:   "service_token=st&service_id=42&app_id=a&app_key=k&usage%5Bcalls%5D=3",
			options: defaultOptions},
		{name: "provider key without service id", opts: []Option{WithProviderKey("pk", "")}, call: callAuthorize,
			path:    "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1)},
			query:   "provider_key=pk&app_id=a&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "provider key with service id", opts: []Option{WithProviderKey("pk", "42")}, call: callAuthorize,
			path:    "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1)},
			query:   "provider_key=pk&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "per-request provider key wins over token", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Service: &Service{ID: "7", Token: "st7", ProviderKey: "pk7"}},
			query:   "provider_key=pk7&service_id=7&app_id=a&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "per-request service override", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Service: &Service{ID: "99", Token: "st99"}},
			query:   "service_token=st99&service_id=99&app_id=a&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "service token with special characters", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Service: &Service{ID: "9 9", Token: "s/t+&="}},
			query:   "service_token=s%2Ft%2B%26%3D&service_id=9+9&app_id=a&usage%5Bhits%5D=1",
			options: defaultOptions},
		{name: "extensions off per request", call: callAuthorize, path: "/transactions/authorize.xml",
			req:   AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Extensions: &Extensions{}},
			query: "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1"},
		{name: "extensions off per client", opts: []Option{WithExtensions(Extensions{})}, call: callAuthorize,
			path:  "/transactions/authorize.xml",
			req:   AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1)},
			query: "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1"},
		{name: "all extensions", call: callAuthorize, path: "/transactions/authorize.xml",
			req: AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Extensions: &Extensions{
				RejectionReasonHeader: true, LimitHeaders: true, NoBody: true, Hierarchy: true, FlatUsage: true, ListAppKeys: true}},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: "rejection_reason_header=1&limit_headers=1&no_body=1&hierarchy=1&flat_usage=1&list_app_keys=1"},
		{name: "only rejection_reason_header", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Extensions: on(func(e *Extensions) { e.RejectionReasonHeader = true })},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: "rejection_reason_header=1"},
		{name: "only limit_headers", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Extensions: on(func(e *Extensions) { e.LimitHeaders = true })},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: "limit_headers=1"},
		{name: "only no_body", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Extensions: on(func(e *Extensions) { e.NoBody = true })},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: "no_body=1"},
		{name: "only hierarchy", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Extensions: on(func(e *Extensions) { e.Hierarchy = true })},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: "hierarchy=1"},
		{name: "only flat_usage", call: callAuthRep, path: "/transactions/authrep.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Extensions: on(func(e *Extensions) { e.FlatUsage = true })},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: "flat_usage=1"},
		{name: "only list_app_keys", call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1), Extensions: on(func(e *Extensions) { e.ListAppKeys = true })},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: "list_app_keys=1"},
		{name: "client extensions with hierarchy", opts: []Option{WithExtensions(Extensions{RejectionReasonHeader: true, Hierarchy: true})},
			call: callAuthorize, path: "/transactions/authorize.xml",
			req:     AuthRequest{Credentials: AppID("a", ""), Usage: Hits(1)},
			query:   "service_token=st&service_id=42&app_id=a&usage%5Bhits%5D=1",
			options: "rejection_reason_header=1&hierarchy=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			c := newTestClient(t, rec, tc.opts...)
			res, err := tc.call(c, context.Background(), tc.req)
			require.NoError(t, err)
			require.True(t, res.Authorized)
			reqs := rec.all()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, http.MethodGet, r.Method)
			assert.Equal(t, "http", r.Scheme)
			assert.Equal(t, "127.0.0.1:3000", r.URLHost)
			assert.Equal(t, "127.0.0.1:3000", r.Host)
			assert.Equal(t, tc.path, r.Path)
			assert.Equal(t, tc.query, r.RawQuery)
			if tc.options == "" {
				_, has := r.Header["3scale-Options"]
				assert.False(t, has, "no 3scale-options header expected, got %q", r.Header.Get("3scale-options"))
			} else {
				assert.Equal(t, []string{tc.options}, r.Header.Values("3scale-options"))
			}
			assert.False(t, r.HasBody, "GET must not carry a body")
			assert.Zero(t, r.CLength)
			assert.Empty(t, r.Header.Get("Content-Type"))
			assert.Equal(t, UserAgent, r.Header.Get("User-Agent"))

			// The query is what url.Values would decode, and never has user_id.
			q, err := url.ParseQuery(r.RawQuery)
			require.NoError(t, err)
			assert.NotContains(t, q, "user_id")
			if _, pk := q["provider_key"]; pk {
				assert.NotContains(t, q, "service_token", "provider_key wins: the token is not sent")
			}
		})
	}
}

func TestAuthRequestMisc(t *testing.T) {
	t.Run("base path and https", func(t *testing.T) {
		rec := &recorder{}
		c := newTestClient(t, rec, WithBackendURL("https://backend.example:8443/prefix/"))
		_, err := c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		r := rec.all()[0]
		assert.Equal(t, "https", r.Scheme)
		assert.Equal(t, "backend.example:8443", r.Host)
		assert.Equal(t, "/prefix/transactions/authorize.xml", r.Path)
	})
	t.Run("user agent", func(t *testing.T) {
		rec := &recorder{}
		c := newTestClient(t, rec, WithUserAgent("gw/1.0"))
		_, err := c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		assert.Equal(t, []string{"gw/1.0"}, rec.all()[0].Header.Values("User-Agent"))

		rec = &recorder{}
		c = newTestClient(t, rec, WithUserAgent(""))
		_, err = c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		assert.Empty(t, rec.all()[0].Header.Values("User-Agent"))
	})
	t.Run("caller usage is not mutated", func(t *testing.T) {
		rec := &recorder{}
		c := newTestClient(t, rec)
		u := Usage{"search": 2, "hits": 1}
		for _, ac := range authCalls {
			_, err := ac.call(c, context.Background(), AuthRequest{Credentials: AppID("a", ""), Usage: u})
			require.NoError(t, err)
		}
		_, err := c.Report(context.Background(), ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: u}}})
		require.NoError(t, err)
		assert.Equal(t, Usage{"search": 2, "hits": 1}, u)
	})
	t.Run("default usage is copied", func(t *testing.T) {
		rec := &recorder{}
		du := Usage{"calls": 1}
		c := newTestClient(t, rec, WithDefaultUsage(du))
		du["calls"] = 5
		du["other"] = 1
		_, err := c.AuthRep(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		assert.Equal(t, "service_token=st&service_id=42&app_id=a&usage%5Bcalls%5D=1", rec.all()[0].RawQuery)
	})
	t.Run("per-request extensions do not leak into the client", func(t *testing.T) {
		rec := &recorder{}
		c := newTestClient(t, rec)
		_, err := c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", ""), Extensions: &Extensions{Hierarchy: true}})
		require.NoError(t, err)
		_, err = c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		reqs := rec.all()
		assert.Equal(t, "hierarchy=1", reqs[0].Header.Get("3scale-options"))
		assert.Equal(t, defaultOptions, reqs[1].Header.Get("3scale-options"))
	})
	t.Run("per-request service does not leak into the client", func(t *testing.T) {
		rec := &recorder{}
		c := newTestClient(t, rec)
		_, err := c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", ""), Service: &Service{ID: "7", Token: "t7"}})
		require.NoError(t, err)
		_, err = c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		reqs := rec.all()
		assert.True(t, strings.HasPrefix(reqs[0].RawQuery, "service_token=t7&service_id=7&"))
		assert.True(t, strings.HasPrefix(reqs[1].RawQuery, "service_token=st&service_id=42&"))
		assert.Equal(t, Service{ID: "42", Token: "st"}, c.Service())
	})
	t.Run("no_body extension gives a NoBody result", func(t *testing.T) {
		rec := &recorder{respond: func(r *http.Request, _ int) *http.Response {
			h := http.Header{}
			h.Set("3scale-rejection-reason", "limits_exceeded")
			return newResponse(r, 409, h, "")
		}}
		c := newTestClient(t, rec, WithExtensions(Extensions{NoBody: true, RejectionReasonHeader: true}))
		res, err := c.AuthRep(context.Background(), AuthRequest{Credentials: AppID("a", "")})
		require.NoError(t, err)
		assertAuth(t, &AuthResult{StatusCode: 409, NoBody: true, Reason: ReasonLimitsExceeded}, res)
	})
	t.Run("escaping matches url.QueryEscape", func(t *testing.T) {
		for _, s := range []string{"", "abc", "a b", "a+b", "ü€", "[]#?&=%/\\", "\x00\x7f\xff", "-_.~"} {
			assert.Equal(t, url.QueryEscape(s), string(appendEscaped(nil, s)), "%q", s)
		}
	})
}

func TestReportEncoding(t *testing.T) {
	now := time.Date(2024, 3, 14, 10, 21, 35, 0, time.UTC)
	clock := WithClock(func() time.Time { return now })
	ts := time.Date(2024, 3, 14, 10, 21, 30, 0, time.UTC)
	cet := time.FixedZone("CET", 3600)

	cases := []struct {
		name    string
		opts    []Option
		req     ReportRequest
		body    string
		options string
	}{
		{name: "two transactions",
			req: ReportRequest{Transactions: []Transaction{
				{Credentials: AppID("a", "k_not_sent"), Usage: Hits(1), Timestamp: ts},
				{Credentials: UserKey("uk"), Usage: Usage{"search": 3, "hits": 1}, LogCode: 200},
			}},
			body: "service_token=st&service_id=42" +
				"&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1&transactions%5B0%5D%5Btimestamp%5D=1710411690" +
				"&transactions%5B1%5D%5Buser_key%5D=uk&transactions%5B1%5D%5Busage%5D%5Bhits%5D=1&transactions%5B1%5D%5Busage%5D%5Bsearch%5D=3&transactions%5B1%5D%5Blog%5D%5Bcode%5D=200"},
		{name: "protocol example (timestamp in another zone, log code)",
			req: ReportRequest{Transactions: []Transaction{
				{Credentials: AppID("3c4b5e2a", ""), Usage: Hits(1), Timestamp: ts.In(cet), LogCode: 200},
			}},
			body: "service_token=st&service_id=42&transactions%5B0%5D%5Bapp_id%5D=3c4b5e2a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1&transactions%5B0%5D%5Btimestamp%5D=1710411690&transactions%5B0%5D%5Blog%5D%5Bcode%5D=200"},
		{name: "default usage", req: ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", "")}}},
			body: "service_token=st&service_id=42&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1"},
		{name: "oauth credentials report as app_id", req: ReportRequest{Transactions: []Transaction{{Credentials: OAuthApp("cid", "sec").WithRedirectURL("https://x"), Usage: Hits(2)}}},
			body: "service_token=st&service_id=42&transactions%5B0%5D%5Bapp_id%5D=cid&transactions%5B0%5D%5Busage%5D%5Bhits%5D=2"},
		{name: "provider key", opts: []Option{WithProviderKey("pk", "")},
			req:  ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1)}}},
			body: "provider_key=pk&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1"},
		{name: "per-request provider key wins",
			req:  ReportRequest{Service: &Service{ID: "5", Token: "st5", ProviderKey: "pk5"}, Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1)}}},
			body: "provider_key=pk5&service_id=5&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1"},
		{name: "per-request service",
			req:  ReportRequest{Service: &Service{ID: "5", Token: "st5"}, Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1)}}},
			body: "service_token=st5&service_id=5&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1"},
		{name: "flat usage", req: ReportRequest{FlatUsage: true, Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Usage{"search": 1, "hits": 1}}}},
			body:    "service_token=st&service_id=42&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1&transactions%5B0%5D%5Busage%5D%5Bsearch%5D=1",
			options: "flat_usage=1"},
		{name: "flat usage from the client's extensions", opts: []Option{WithExtensions(Extensions{FlatUsage: true})},
			req:     ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1)}}},
			body:    "service_token=st&service_id=42&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1",
			options: "flat_usage=1"},
		{name: "timestamps at the window edges",
			req: ReportRequest{Transactions: []Transaction{
				{Credentials: AppID("a", ""), Usage: Hits(1), Timestamp: now.Add(-24 * time.Hour)},
				{Credentials: AppID("a", ""), Usage: Hits(1), Timestamp: now.Add(time.Hour)},
			}},
			body: "service_token=st&service_id=42" +
				"&transactions%5B0%5D%5Bapp_id%5D=a&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1&transactions%5B0%5D%5Btimestamp%5D=" + strconv.FormatInt(now.Add(-24*time.Hour).Unix(), 10) +
				"&transactions%5B1%5D%5Bapp_id%5D=a&transactions%5B1%5D%5Busage%5D%5Bhits%5D=1&transactions%5B1%5D%5Btimestamp%5D=" + strconv.FormatInt(now.Add(time.Hour).Unix(), 10)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			c := newTestClient(t, rec, append([]Option{clock}, tc.opts...)...)
			res, err := c.Report(context.Background(), tc.req)
			require.NoError(t, err)
			assert.Equal(t, &ReportResult{Batches: 1, Transactions: len(tc.req.Transactions)}, res)
			reqs := rec.all()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, http.MethodPost, r.Method)
			assert.Equal(t, "/transactions.xml", r.Path)
			assert.Equal(t, "", r.RawQuery, "credentials must not go in the URL")
			assert.Equal(t, []string{"application/x-www-form-urlencoded"}, r.Header.Values("Content-Type"))
			assert.Equal(t, tc.body, r.Body)
			assert.Equal(t, int64(len(tc.body)), r.CLength)
			if tc.options == "" {
				assert.Empty(t, r.Header.Values("3scale-options"))
			} else {
				assert.Equal(t, []string{tc.options}, r.Header.Values("3scale-options"))
			}
			form, err := url.ParseQuery(r.Body)
			require.NoError(t, err)
			for k := range form {
				assert.NotContains(t, k, "user_id")
				assert.NotContains(t, k, "app_key", "report does not send app keys")
			}
		})
	}
}

// formTransactions decodes a report body into per-index app_ids and counts
// its parameters.
func formTransactions(t *testing.T, body string) (appIDs []string, params int) {
	t.Helper()
	form, err := url.ParseQuery(body)
	require.NoError(t, err)
	for _, v := range form {
		params += len(v)
	}
	for i := 0; ; i++ {
		id := form.Get(fmt.Sprintf("transactions[%d][app_id]", i))
		if id == "" {
			return appIDs, params
		}
		appIDs = append(appIDs, id)
	}
}

func TestReportBatching(t *testing.T) {
	t.Run("2500 transactions make 3 requests of at most 1000", func(t *testing.T) {
		rec := &recorder{}
		c := newTestClient(t, rec)
		txs := make([]Transaction, 2500)
		for i := range txs {
			txs[i] = Transaction{Credentials: AppID("app"+strconv.Itoa(i), ""), Usage: Hits(1)}
		}
		res, err := c.Report(context.Background(), ReportRequest{Transactions: txs})
		require.NoError(t, err)
		assert.Equal(t, &ReportResult{Batches: 3, Transactions: 2500}, res)
		reqs := rec.all()
		require.Len(t, reqs, 3)
		var all []string
		for i, r := range reqs {
			ids, params := formTransactions(t, r.Body)
			assert.Len(t, ids, []int{1000, 1000, 500}[i], "batch %d", i)
			assert.Less(t, params, 4096, "batch %d", i)
			assert.True(t, strings.HasPrefix(r.Body, "service_token=st&service_id=42&transactions%5B0%5D"), "every batch has the credentials and starts at index 0")
			all = append(all, ids...)
		}
		for i, id := range all {
			require.Equal(t, "app"+strconv.Itoa(i), id, "order is preserved across batches")
		}
	})
	t.Run("transactions with many metrics are split under 4000 params", func(t *testing.T) {
		now := time.Date(2024, 3, 14, 10, 21, 35, 0, time.UTC)
		rec := &recorder{}
		c := newTestClient(t, rec, WithClock(func() time.Time { return now }))
		u := Usage{}
		for i := 0; i < 10; i++ {
			u[fmt.Sprintf("m%d", i)] = int64(i + 1)
		}
		txs := make([]Transaction, 1000)
		for i := range txs {
			txs[i] = Transaction{Credentials: AppID("app"+strconv.Itoa(i), ""), Usage: u, Timestamp: now, LogCode: 200}
		}
		// 13 parameters per transaction + 2 service parameters.
		res, err := c.Report(context.Background(), ReportRequest{Transactions: txs})
		require.NoError(t, err)
		reqs := rec.all()
		require.Greater(t, len(reqs), 1, "1000 transactions x 13 params must be split")
		assert.Equal(t, len(reqs), res.Batches)
		assert.Equal(t, 1000, res.Transactions)
		var all []string
		for i, r := range reqs {
			ids, params := formTransactions(t, r.Body)
			assert.LessOrEqual(t, params, 4000, "batch %d", i)
			if i < len(reqs)-1 {
				assert.Greater(t, params+13, 4000, "batch %d is not full", i)
			}
			all = append(all, ids...)
		}
		require.Len(t, all, 1000)
		for i, id := range all {
			require.Equal(t, "app"+strconv.Itoa(i), id)
		}
		assert.Equal(t, 4, len(reqs)) // floor(3998/13)=307 per batch
	})
	t.Run("a failing batch stops the report and counts what was accepted", func(t *testing.T) {
		rec := &recorder{respond: func(r *http.Request, n int) *http.Response {
			if n == 2 {
				return newResponse(r, 403, nil, xmlDecl+`<error code="service_token_invalid">service token "st" or service id "42" is invalid</error>`)
			}
			return newResponse(r, 202, nil, "")
		}}
		c := newTestClient(t, rec)
		txs := make([]Transaction, 2500)
		for i := range txs {
			txs[i] = Transaction{Credentials: AppID("a", ""), Usage: Hits(1)}
		}
		res, err := c.Report(context.Background(), ReportRequest{Transactions: txs})
		assertError(t, wantErr{kind: ErrServiceCredentials, status: 403, code: "service_token_invalid",
			message: `service token "[redacted]" or service id "42" is invalid`}, err)
		require.NotNil(t, res)
		assert.Equal(t, &ReportResult{Batches: 1, Transactions: 1000}, res)
		assert.Equal(t, 2, rec.count(), "no batch is sent after a failure")
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "report", e.Op)
	})
}

// TestReportAnswers replays the report fixtures through Client.Report.
func TestReportAnswers(t *testing.T) {
	dir := sharedDir(t, "fixtures")
	cases := []struct {
		file   string
		status int
		err    *wantErr
	}{
		{"31_report_accepted.body", 202, nil},
		{"32_report_error_content_type_invalid.xml", 400, &wantErr{kind: ErrBadRequest, status: 400, code: "content_type_invalid", message: "invalid Content-Type: application/json"}},
		{"33_report_error_transactions_is_blank.xml", 400, &wantErr{kind: ErrBadRequest, status: 400, code: "transactions_is_blank", message: "transactions parameter is blank"}},
		{"34_report_error_transactions_format_invalid.xml", 400, &wantErr{kind: ErrBadRequest, status: 400, code: "transactions_format_invalid", message: "transactions format is invalid"}},
		{"35_report_error_transactions_has_nil_transaction.xml", 400, &wantErr{kind: ErrBadRequest, status: 400, code: "transactions_has_nil_transaction", message: "transactions has a nil transaction"}},
		{"14_error_provider_key_invalid_or_service_missing.xml", 403, &wantErr{kind: ErrServiceCredentials, status: 403, code: "provider_key_invalid_or_service_missing", message: `provider key "pk_WRONG" invalid and/or service ID missing`}},
		{"22_error_end_users_no_longer_supported.xml", 400, &wantErr{kind: ErrBadRequest, status: 400, code: "end_users_no_longer_supported", message: "End-users are no longer supported, do not specify the user_id parameter"}},
		{"37_status.json", 200, &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, tc.file))
			require.NoError(t, err)
			rec := &recorder{respond: func(r *http.Request, _ int) *http.Response { return newResponse(r, tc.status, hErr(), string(body)) }}
			c := newTestClient(t, rec)
			res, err := c.Report(context.Background(), ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1)}}})
			if tc.err == nil {
				require.NoError(t, err)
				assert.Equal(t, &ReportResult{Batches: 1, Transactions: 1}, res)
				return
			}
			assertError(t, *tc.err, err)
			assert.Equal(t, &ReportResult{}, res)
		})
	}
}

func TestReportRefusesTransactionTooLargeForOneRequest(t *testing.T) {
	c := newTestClient(t, failTransport(t))
	u := Usage{}
	for i := range 4000 {
		u["m"+strconv.Itoa(i)] = 1
	}
	_, err := c.Report(context.Background(), ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: u}}})
	require.ErrorIs(t, err, ErrInvalidInput)
	assert.Contains(t, err.Error(), "do not fit in one request")
}

package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
)

// e2eNow is a fixed clock shared by the simulator and the client.
var e2eNow = time.Date(2024, 3, 14, 10, 21, 35, 0, time.UTC)

func newE2E(t *testing.T, opts ...core.Option) (*threescaletest.Server, *core.Client) {
	t.Helper()
	now := func() time.Time { return e2eNow }
	srv := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()), threescaletest.WithClock(now))
	t.Cleanup(srv.Close)
	base := []core.Option{core.WithBackendURL(srv.URL), core.WithServiceToken("42", threescaletest.DemoServiceToken), core.WithClock(now)}
	c, err := core.NewClient(append(base, opts...)...)
	require.NoError(t, err)
	return srv, c
}

func TestE2EAuthorizeAndAuthRep(t *testing.T) {
	srv, c := newE2E(t)
	ctx := context.Background()

	res, err := c.Authorize(ctx, core.AuthRequest{Credentials: core.AppID("app1", "key1")})
	require.NoError(t, err)
	assert.True(t, res.Authorized)
	assert.Equal(t, core.ReasonNone, res.Reason)
	assert.Equal(t, "Basic", res.Plan)
	require.Len(t, res.UsageReports, 2)
	for _, r := range res.UsageReports {
		assert.Equal(t, "hits", r.Metric)
		assert.Zero(t, r.CurrentValue)
		assert.False(t, r.PeriodStart.IsZero())
	}
	assert.True(t, res.RateLimit.Present)
	assert.Equal(t, int64(5), res.RateLimit.Remaining)
	assert.Zero(t, srv.Counter("42", "app1", "hits", core.PeriodDay), "authorize records nothing")

	for i := 1; i <= 5; i++ {
		res, err = c.AuthRep(ctx, core.AuthRequest{Credentials: core.AppID("app1", "key1"), Usage: core.Hits(1), LogCode: 200})
		require.NoError(t, err)
		require.True(t, res.Authorized, "call %d", i)
		assert.Equal(t, int64(5-i), res.RateLimit.Remaining, "call %d", i)
		assert.Equal(t, int64(5), res.RateLimit.MaxValue)
		assert.True(t, res.RateLimit.HasReset)
	}
	assert.Equal(t, int64(5), srv.Counter("42", "app1", "hits", core.PeriodMinute))

	// Over the minute limit: a denial, not an error.
	res, err = c.AuthRep(ctx, core.AuthRequest{Credentials: core.AppID("app1", "key1"), Usage: core.Hits(1)})
	require.NoError(t, err)
	assert.False(t, res.Authorized)
	assert.Equal(t, core.ReasonLimitsExceeded, res.Reason)
	assert.Equal(t, "usage limits are exceeded", res.ReasonText)
	assert.True(t, res.LimitsExceeded())
	assert.Equal(t, 409, res.StatusCode)
	assert.True(t, res.RateLimit.Present)
	assert.Zero(t, res.RateLimit.Remaining)
	assert.Equal(t, int64(5), srv.Counter("42", "app1", "hits", core.PeriodMinute), "a denied authrep records nothing")

	// What went over the wire.
	reqs := srv.Requests()
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.NotContains(t, r.Query, "user_id")
		assert.Equal(t, "rejection_reason_header=1&limit_headers=1", r.Header.Get("3scale-options"))
	}
}

func TestE2EDenials(t *testing.T) {
	_, c := newE2E(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		call   func(context.Context, core.AuthRequest) (*core.AuthResult, error)
		req    core.AuthRequest
		reason core.ReasonCode
		text   string
	}{
		{"wrong app key", c.AuthRep, core.AuthRequest{Credentials: core.AppID("app2", "wrong")}, core.ReasonApplicationKeyInvalid, `application key "wrong" is invalid`},
		{"missing app key", c.Authorize, core.AuthRequest{Credentials: core.AppID("app2", "")}, core.ReasonApplicationKeyInvalid, "application key is missing"},
		{"suspended app", c.Authorize, core.AuthRequest{Credentials: core.AppID("app_susp", "keys")}, core.ReasonApplicationNotActive, "application is not active"},
		{"oauth on a non-oauth service", c.OAuthAuthorize, core.AuthRequest{Credentials: core.OAuthApp("app2", "")}, core.ReasonOAuthNotEnabled, "oauth is not enabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.call(ctx, tc.req)
			require.NoError(t, err)
			assert.False(t, res.Authorized)
			assert.Equal(t, tc.reason, res.Reason)
			assert.Equal(t, tc.text, res.ReasonText)
			assert.Equal(t, "Basic", res.Plan)
		})
	}
}

func TestE2EErrorClasses(t *testing.T) {
	_, c := newE2E(t)
	ctx := context.Background()
	cases := []struct {
		name string
		req  core.AuthRequest
		kind error
		code string
	}{
		{"unknown app", core.AuthRequest{Credentials: core.AppID("nope", "key1")}, core.ErrApplicationNotFound, "application_not_found"},
		{"bad service token", core.AuthRequest{Credentials: core.AppID("app2", "key2"), Service: &core.Service{ID: "42", Token: "bad"}}, core.ErrServiceCredentials, "service_token_invalid"},
		{"unknown service", core.AuthRequest{Credentials: core.AppID("app2", "key2"), Service: &core.Service{ID: "999", Token: threescaletest.DemoServiceToken}}, core.ErrServiceCredentials, "service_token_invalid"},
		{"bad provider key", core.AuthRequest{Credentials: core.AppID("app2", "key2"), Service: &core.Service{ID: "42", ProviderKey: "bad"}}, core.ErrServiceCredentials, "provider_key_invalid"},
		{"unknown metric", core.AuthRequest{Credentials: core.AppID("app2", "key2"), Usage: core.Usage{"nonexistent": 1}}, core.ErrMetricInvalid, "metric_invalid"},
		{"invalid user key", core.AuthRequest{Credentials: core.UserKey("bad"), Service: &core.Service{ID: "43", Token: threescaletest.DemoServiceToken}}, core.ErrUserKeyInvalid, "user_key_invalid"},
		{"user key on an app_id service", core.AuthRequest{Credentials: core.UserKey("uk1")}, core.ErrApplicationNotFound, "application_not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.AuthRep(ctx, tc.req)
			assert.Nil(t, res)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.kind)
			var e *core.Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, "authrep", e.Op)
			assert.NotContains(t, err.Error(), threescaletest.DemoServiceToken)
		})
	}
}

func TestE2EOtherCredentials(t *testing.T) {
	srv, c := newE2E(t)
	ctx := context.Background()

	res, err := c.AuthRep(ctx, core.AuthRequest{Credentials: core.UserKey("uk1"), Service: &core.Service{ID: "43", Token: threescaletest.DemoServiceToken}})
	require.NoError(t, err)
	assert.True(t, res.Authorized)
	assert.Equal(t, "UK", res.Plan)

	res, err = c.OAuthAuthRep(ctx, core.AuthRequest{Credentials: core.OAuthApp("oapp1", "").WithRedirectURL("https://example.com/cb"),
		Service: &core.Service{ID: "44", Token: threescaletest.DemoServiceToken}})
	require.NoError(t, err)
	assert.True(t, res.Authorized)
	assert.Equal(t, &core.OAuthApplication{ID: "oapp1", Key: "osecret", RedirectURL: "https://example.com/cb"}, res.Application)

	res, err = c.OAuthAuthorize(ctx, core.AuthRequest{Credentials: core.OAuthApp("oapp1", "").WithRedirectURI("https://evil.example/cb"),
		Service: &core.Service{ID: "44", Token: threescaletest.DemoServiceToken}})
	require.NoError(t, err)
	assert.False(t, res.Authorized)
	assert.Equal(t, core.ReasonRedirectURIInvalid, res.Reason)

	// Provider key without a service id: the account's default service (42).
	pk, err := core.NewClient(core.WithBackendURL(srv.URL), core.WithProviderKey(threescaletest.DemoProviderKey, ""))
	require.NoError(t, err)
	res, err = pk.Authorize(ctx, core.AuthRequest{Credentials: core.AppID("app2", "key2")})
	require.NoError(t, err)
	assert.True(t, res.Authorized)
	last := srv.Requests()[len(srv.Requests())-1]
	assert.Equal(t, "provider_key=pk_test&app_id=app2&app_key=key2&usage%5Bhits%5D=1", last.RawQuery)
}

func TestE2EReportThenAuthorize(t *testing.T) {
	srv, c := newE2E(t)
	ctx := context.Background()

	rr, err := c.Report(ctx, core.ReportRequest{Transactions: []core.Transaction{
		{Credentials: core.AppID("app_report", ""), Usage: core.Hits(1), Timestamp: e2eNow.Add(-time.Minute), LogCode: 200},
		{Credentials: core.AppID("app_report", ""), Usage: core.Usage{"search": 2}},
	}})
	require.NoError(t, err)
	assert.Equal(t, &core.ReportResult{Batches: 1, Transactions: 2}, rr)
	assert.Empty(t, srv.IntegrationErrors())

	res, err := c.Authorize(ctx, core.AuthRequest{Credentials: core.AppID("app_report", "keyr"),
		Extensions: &core.Extensions{RejectionReasonHeader: true, LimitHeaders: true, Hierarchy: true}})
	require.NoError(t, err)
	assert.True(t, res.Authorized)
	require.NotEmpty(t, res.UsageReports)
	for _, r := range res.UsageReports {
		if r.Period == core.PeriodDay {
			assert.Equal(t, int64(3), r.CurrentValue, "hits = 1 + search 2 propagated to its parent")
		}
	}
	assert.Equal(t, map[string][]string{"hits": {"search"}}, res.Hierarchy)

	// An unknown application is accepted (202) and rejected by the worker.
	_, err = c.Report(ctx, core.ReportRequest{Transactions: []core.Transaction{{Credentials: core.AppID("nope", ""), Usage: core.Hits(1)}}})
	require.NoError(t, err)
	ie := srv.IntegrationErrors()
	require.Len(t, ie, 1)
	assert.Equal(t, "application_not_found", ie[0].Code)

	// Batches over 1000 transactions.
	txs := make([]core.Transaction, 2100)
	for i := range txs {
		txs[i] = core.Transaction{Credentials: core.AppID("app_eternal", ""), Usage: core.Usage{"search": 1}}
	}
	rr, err = c.Report(ctx, core.ReportRequest{Transactions: txs})
	require.NoError(t, err)
	assert.Equal(t, &core.ReportResult{Batches: 3, Transactions: 2100}, rr)
	assert.Equal(t, int64(2100), srv.Counter("42", "app_eternal", "search", core.PeriodEternity))
}

func TestE2EEternityAndNoBody(t *testing.T) {
	_, c := newE2E(t)
	ctx := context.Background()
	res, err := c.AuthRep(ctx, core.AuthRequest{Credentials: core.AppID("app_eternal", ""), Usage: core.Hits(3)})
	require.NoError(t, err)
	assert.True(t, res.Authorized)
	require.Len(t, res.UsageReports, 1)
	assert.Equal(t, core.PeriodEternity, res.UsageReports[0].Period)
	assert.True(t, res.UsageReports[0].PeriodStart.IsZero())
	assert.False(t, res.RateLimit.HasReset, "eternity never resets")

	res, err = c.AuthRep(ctx, core.AuthRequest{Credentials: core.AppID("app_eternal", ""), Extensions: &core.Extensions{NoBody: true, RejectionReasonHeader: true}})
	require.NoError(t, err)
	assert.True(t, res.NoBody)
	assert.False(t, res.Authorized)
	assert.Equal(t, core.ReasonLimitsExceeded, res.Reason)
}

func TestE2EFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault threescaletest.Fault
		kind  error
	}{
		{"HTML 502", threescaletest.Fault{Kind: threescaletest.FaultHTML, Count: 1}, core.ErrBackendUnavailable},
		{"503", threescaletest.Fault{Kind: threescaletest.FaultStatus, Status: 503, Count: 1}, core.ErrBackendUnavailable},
		{"truncated body", threescaletest.Fault{Kind: threescaletest.FaultTruncatedBody, Count: 1}, core.ErrBackendUnavailable},
		{"dropped connection", threescaletest.Fault{Kind: threescaletest.FaultDropConnection, Count: 1}, core.ErrBackendUnavailable},
		{"no answer", threescaletest.Fault{Kind: threescaletest.FaultNoAnswer, Count: 1}, core.ErrTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newE2E(t, core.WithTimeout(200*time.Millisecond))
			srv.InjectFault(tc.fault)
			res, err := c.Authorize(context.Background(), core.AuthRequest{Credentials: core.AppID("app1", "key1")})
			assert.Nil(t, res)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.kind)
			assert.ErrorIs(t, err, core.ErrBackendUnavailable)
			assert.NotContains(t, err.Error(), threescaletest.DemoServiceToken)

			// The fault is spent: the next call works.
			res, err = c.Authorize(context.Background(), core.AuthRequest{Credentials: core.AppID("app1", "key1")})
			require.NoError(t, err)
			assert.True(t, res.Authorized)
		})
	}
}

package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failTransport fails the test if any request reaches it.
func failTransport(t *testing.T) http.RoundTripper {
	return rt(func(r *http.Request) (*http.Response, error) {
		t.Errorf("transport called for %s %s: validation must happen before any network call", r.Method, r.URL.Path)
		return nil, errors.New("unexpected network call")
	})
}

func assertInvalidInput(t *testing.T, op string, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidInput)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, op, e.Op)
	assert.Zero(t, e.StatusCode)
	for _, k := range allKinds {
		if k != ErrInvalidInput {
			assert.NotErrorIs(t, err, k)
		}
	}
}

func TestAuthValidation(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		opts  []Option
		calls []int // indexes into authCalls; nil = all
		req   AuthRequest
		is    error // an extra errors.Is target
	}{
		{name: "zero credentials", req: AuthRequest{}, is: ErrNoCredentials},
		{name: "empty app_id", req: AuthRequest{Credentials: AppID("", "k")}},
		{name: "empty oauth client id", req: AuthRequest{Credentials: OAuthApp("", "s")}},
		{name: "empty user_key", req: AuthRequest{Credentials: UserKey("")}},
		{name: "user_key on oauth calls", calls: []int{2, 3}, req: AuthRequest{Credentials: UserKey("uk")}},
		{name: "empty metric name", req: AuthRequest{Credentials: AppID("a", ""), Usage: Usage{"": 1}}},
		{name: "[ in metric name", req: AuthRequest{Credentials: AppID("a", ""), Usage: Usage{"hits[x": 1}}},
		{name: "] in metric name", req: AuthRequest{Credentials: AppID("a", ""), Usage: Usage{"hits]": 1}}},
		{name: "metric name with spaces around", req: AuthRequest{Credentials: AppID("a", ""), Usage: Usage{" hits": 1}}},
		{name: "negative value", req: AuthRequest{Credentials: AppID("a", ""), Usage: Usage{"hits": 1, "search": -1}}},
		{name: "log code 99", calls: []int{1, 3}, req: AuthRequest{Credentials: AppID("a", ""), LogCode: 99}},
		{name: "log code 1000", calls: []int{1, 3}, req: AuthRequest{Credentials: AppID("a", ""), LogCode: 1000}},
		{name: "negative log code", calls: []int{1, 3}, req: AuthRequest{Credentials: AppID("a", ""), LogCode: -200}},
		{name: "no service credentials", opts: []Option{}, req: AuthRequest{Credentials: AppID("a", "")}},
		{name: "service id without token", req: AuthRequest{Credentials: AppID("a", ""), Service: &Service{ID: "42"}}},
		{name: "token without service id", req: AuthRequest{Credentials: AppID("a", ""), Service: &Service{Token: "st"}}},
		{name: "empty service override", req: AuthRequest{Credentials: AppID("a", ""), Service: &Service{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithServiceToken("42", "st")}
			if tc.opts != nil {
				opts = tc.opts
			}
			opts = append(opts, WithBackendURL("http://127.0.0.1:3000"), WithHTTPClient(&http.Client{Transport: failTransport(t)}))
			c, err := NewClient(opts...)
			require.NoError(t, err)
			idx := tc.calls
			if idx == nil {
				idx = []int{0, 1, 2, 3}
			}
			for _, i := range idx {
				ac := authCalls[i]
				res, err := ac.call(c, ctx, tc.req)
				assert.Nil(t, res, ac.name)
				assertInvalidInput(t, ac.name, err)
				if tc.is != nil {
					assert.ErrorIs(t, err, tc.is)
				}
			}
		})
	}
}

func TestNilAndZeroClient(t *testing.T) {
	ctx := context.Background()
	for _, c := range []*Client{nil, {}} {
		for _, ac := range authCalls {
			var (
				res *AuthResult
				err error
			)
			require.NotPanics(t, func() { res, err = ac.call(c, ctx, AuthRequest{Credentials: AppID("a", "")}) })
			assert.Nil(t, res)
			assertInvalidInput(t, ac.name, err)
		}
		var (
			rr  *ReportResult
			err error
		)
		require.NotPanics(t, func() {
			rr, err = c.Report(ctx, ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1)}}})
		})
		assert.Nil(t, rr)
		assertInvalidInput(t, "report", err)
	}
}

// TestNilContext: a nil context is a programming error, refused before any
// network call (as http.NewRequestWithContext does), not silently replaced.
func TestNilContext(t *testing.T) {
	c := newTestClient(t, failTransport(t))
	for _, ac := range authCalls {
		var (
			res *AuthResult
			err error
		)
		require.NotPanics(t, func() {
			res, err = ac.call(c, nil, AuthRequest{Credentials: AppID("a", "")})
		})
		assert.Nil(t, res)
		assertInvalidInput(t, ac.name, err)
	}
	var err error
	require.NotPanics(t, func() {
		_, err = c.Report(nil, ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1)}}})
	})
	assertInvalidInput(t, "report", err)
}

func TestReportValidation(t *testing.T) {
	now := time.Date(2024, 3, 14, 10, 21, 35, 0, time.UTC)
	ok := Transaction{Credentials: AppID("a", ""), Usage: Hits(1)}
	cases := []struct {
		name string
		opts []Option
		req  ReportRequest
	}{
		{name: "no transactions", req: ReportRequest{}},
		{name: "empty transactions", req: ReportRequest{Transactions: []Transaction{}}},
		{name: "zero credentials", req: ReportRequest{Transactions: []Transaction{ok, {Usage: Hits(1)}}}},
		{name: "empty app_id", req: ReportRequest{Transactions: []Transaction{{Credentials: AppID("", ""), Usage: Hits(1)}}}},
		{name: "empty user_key", req: ReportRequest{Transactions: []Transaction{{Credentials: UserKey(""), Usage: Hits(1)}}}},
		{name: "empty metric", req: ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Usage{"": 1}}}}},
		{name: "bracket in metric", req: ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Usage{"a[0]": 1}}}}},
		{name: "negative usage", req: ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Usage{"hits": -5}}}}},
		{name: "no usage and no default", opts: []Option{WithDefaultUsage(nil)},
			req: ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", "")}}}},
		{name: "timestamp older than 24h", req: ReportRequest{Transactions: []Transaction{
			ok, {Credentials: AppID("a", ""), Usage: Hits(1), Timestamp: now.Add(-24*time.Hour - time.Second)}}}},
		{name: "timestamp more than 1h ahead", req: ReportRequest{Transactions: []Transaction{
			{Credentials: AppID("a", ""), Usage: Hits(1), Timestamp: now.Add(time.Hour + time.Second)}}}},
		{name: "timestamp in 1970", req: ReportRequest{Transactions: []Transaction{
			{Credentials: AppID("a", ""), Usage: Hits(1), Timestamp: time.Unix(1, 0)}}}},
		{name: "log code 42", req: ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1), LogCode: 42}}}},
		{name: "log code 1000", req: ReportRequest{Transactions: []Transaction{{Credentials: AppID("a", ""), Usage: Hits(1), LogCode: 1000}}}},
		{name: "no service credentials", opts: []Option{WithServiceToken("42", "st"), func(c *Client) error { c.service = Service{}; return nil }},
			req: ReportRequest{Transactions: []Transaction{ok}}},
		{name: "service token without id", req: ReportRequest{Service: &Service{Token: "st"}, Transactions: []Transaction{ok}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]Option{WithClock(func() time.Time { return now })}, tc.opts...)
			c := newTestClient(t, failTransport(t), opts...)
			res, err := c.Report(context.Background(), tc.req)
			assert.Nil(t, res)
			assertInvalidInput(t, "report", err)
		})
	}
	// The same transactions with a valid clock pass (the test can fail).
	rec := &recorder{}
	c := newTestClient(t, rec, WithClock(func() time.Time { return now }))
	_, err := c.Report(context.Background(), ReportRequest{Transactions: []Transaction{
		{Credentials: AppID("a", ""), Usage: Hits(1), Timestamp: now.Add(-24 * time.Hour)},
		{Credentials: AppID("a", ""), Usage: Hits(1), Timestamp: now.Add(time.Hour)},
	}})
	require.NoError(t, err)
	assert.Equal(t, 1, rec.count())
}

func TestOptionValidation(t *testing.T) {
	cases := map[string]Option{
		"ftp backend":            WithBackendURL("ftp://backend.example"),
		"no host":                WithBackendURL("http://"),
		"relative URL":           WithBackendURL("backend.example:3000"),
		"unparseable URL":        WithBackendURL("http://[::1"),
		"token without id":       WithServiceToken("", "st"),
		"id without token":       WithServiceToken("42", ""),
		"empty provider key":     WithProviderKey("", "42"),
		"zero max body":          WithMaxResponseBytes(0),
		"negative max body":      WithMaxResponseBytes(-1),
		"bad default usage":      WithDefaultUsage(Usage{"a]": 1}),
		"negative default usage": WithDefaultUsage(Usage{"hits": -1}),
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(opt)
			assert.Nil(t, c)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidInput)
		})
	}
	t.Run("nil options are ignored", func(t *testing.T) {
		c, err := NewClient(nil, WithServiceToken("42", "st"), nil)
		require.NoError(t, err)
		assert.Equal(t, Service{ID: "42", Token: "st"}, c.Service())
	})
}

func TestCredentialsAndServiceDescriptions(t *testing.T) {
	secrets := []string{"k_secret", "uk_secret", "st_secret", "pk_secret", "cs_secret"}
	values := []any{
		AppID("app", "k_secret"), UserKey("uk_secret"), OAuthApp("cid", "cs_secret").WithRedirectURI("https://x"),
		Service{ID: "42", Token: "st_secret"}, Service{ID: "42", ProviderKey: "pk_secret", Token: "st_secret"},
	}
	for _, v := range values {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			s := fmt.Sprintf(format, v)
			for _, sec := range secrets {
				assert.NotContains(t, s, sec, "format %s of %T", format, v)
			}
		}
	}
	assert.Equal(t, KindAppID, AppID("a", "").Kind())
	assert.Equal(t, KindUserKey, UserKey("u").Kind())
	assert.Equal(t, KindOAuth, OAuthApp("c", "").Kind())
	assert.True(t, Credentials{}.IsZero())
	k, has := AppID("a", "").AppKey()
	assert.Equal(t, "", k)
	assert.False(t, has)
	u, asURI := OAuthApp("c", "").WithRedirectURI("https://x").RedirectURL()
	assert.Equal(t, "https://x", u)
	assert.True(t, asURI)
}

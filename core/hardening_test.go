package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSecretsNotInFormattedValues: a user who logs the client or a request
// (fmt, slog text or JSON) must not log the service token, provider key,
// app key or user key.
func TestSecretsNotInFormattedValues(t *testing.T) {
	c, err := NewClient(WithServiceToken("42", secToken))
	require.NoError(t, err)
	pk, err := NewClient(WithProviderKey(secPK, "42"))
	require.NoError(t, err)
	auth := AuthRequest{Credentials: AppID("a", secApp), Usage: Hits(1), Referrer: "r", LogCode: 200,
		Service: &Service{ID: "1", Token: secToken, ProviderKey: secPK}, Extensions: &Extensions{Hierarchy: true}}
	report := ReportRequest{Service: &Service{ID: "1", Token: secToken}, FlatUsage: true, Transactions: []Transaction{
		{Credentials: UserKey(secUser), Usage: Hits(1), Timestamp: time.Unix(1710411690, 0), LogCode: 200},
		{Credentials: OAuthApp("cid", secApp), Usage: Hits(1)}}}
	type wrapper struct {
		S Service
		R AuthRequest
		C *Client
	}
	values := map[string]any{
		"*Client": c, "Client": *c, "provider key *Client": pk,
		"Service": Service{ID: "1", Token: secToken}, "*Service": &Service{ProviderKey: secPK},
		"AuthRequest": auth, "*AuthRequest": &auth,
		"ReportRequest": report, "*ReportRequest": &report, "Transaction": report.Transactions[0],
		"Credentials": AppID("a", secApp), "user key": UserKey(secUser),
	}
	check := func(t *testing.T, what, out string) {
		t.Helper()
		for _, s := range secrets {
			assert.NotContains(t, out, s, what)
		}
	}
	logged := func(h func(*bytes.Buffer) slog.Handler, v any) string {
		var b bytes.Buffer
		slog.New(h(&b)).Info("call", "v", v)
		return b.String()
	}
	jsonH := func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }
	textH := func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				check(t, verb, fmt.Sprintf(verb, v))
			}
			check(t, "slog JSON", logged(jsonH, v))
			check(t, "slog text", logged(textH, v))
		})
	}
	// Nested in a caller's struct: fmt and slog's text handler use the
	// fields' String methods. (slog's JSON handler uses encoding/json for
	// nested structs, which a String/LogValue method cannot reach.)
	w := wrapper{S: Service{Token: secToken}, R: auth, C: c}
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		check(t, "wrapper "+verb, fmt.Sprintf(verb, w))
	}
	check(t, "wrapper slog text", logged(textH, w))

	// The descriptions still say something useful.
	assert.Contains(t, fmt.Sprint(c), `service id="42"`)
	assert.Contains(t, fmt.Sprint(c), "su1.3scale.net")
	assert.Contains(t, logged(jsonH, auth), `"app_id":"a"`)
	assert.Contains(t, logged(jsonH, report), `"transactions":2`)
	var nilClient *Client
	assert.NotPanics(t, func() { _ = fmt.Sprint(nilClient); _ = logged(textH, nilClient) })
}

// TestBufPoolDropsLargeBuffers: a call with a huge query must not leave a
// huge buffer in the pool.
func TestBufPoolDropsLargeBuffers(t *testing.T) {
	rec := &recorder{}
	c := newTestClient(t, rec)
	u := Usage{}
	for i := 0; i < 3000; i++ {
		u["metric_with_a_long_name_"+strconv.Itoa(i)] = int64(i)
	}
	for i := 0; i < 20; i++ {
		_, err := c.Authorize(context.Background(), AuthRequest{Credentials: AppID("a", ""), Usage: u})
		require.NoError(t, err)
		bp := bufPool.Get().(*[]byte)
		assert.LessOrEqual(t, cap(*bp), maxPooledBuf, "a grown buffer went back to the pool")
		assert.Zero(t, len(*bp))
		bufPool.Put(bp)
	}
	// The query was copied out of the buffer before it was pooled: a later
	// call that reuses the buffer does not change an earlier request.
	first := rec.all()[0].RawQuery
	_, err := c.Authorize(context.Background(), AuthRequest{Credentials: AppID("zzz", ""), Usage: Hits(7)})
	require.NoError(t, err)
	assert.Equal(t, first, rec.all()[0].RawQuery)
	assert.Contains(t, first, "app_id=a&")
}

// TestDefaultTransport: the default transport must not cap WithTimeout (a
// fixed ResponseHeaderTimeout of 10 s silently bounded WithTimeout(30s) and
// WithTimeout(0)), and a replaced http.DefaultTransport (instrumentation
// wrappers do that) must not make NewClient panic.
func TestDefaultTransport(t *testing.T) {
	t.Run("no header timeout capping WithTimeout", testNoHeaderTimeout)
	t.Run("replaced http.DefaultTransport", testReplacedDefaultTransport)
}

func testNoHeaderTimeout(t *testing.T) {
	for _, d := range []time.Duration{0, 30 * time.Second, time.Hour} {
		c, err := NewClient(WithTimeout(d))
		require.NoError(t, err)
		tr, ok := c.hc.Transport.(*http.Transport)
		require.True(t, ok)
		if tr.ResponseHeaderTimeout != 0 {
			assert.True(t, d > 0 && tr.ResponseHeaderTimeout >= d,
				"WithTimeout(%v) is capped by the transport's ResponseHeaderTimeout %v", d, tr.ResponseHeaderTimeout)
		}
	}
}

func testReplacedDefaultTransport(t *testing.T) {
	orig := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = orig })
	http.DefaultTransport = rt(func(r *http.Request) (*http.Response, error) { return orig.RoundTrip(r) })
	var c *Client
	require.NotPanics(t, func() {
		var err error
		c, err = NewClient(WithServiceToken("42", "st"))
		require.NoError(t, err)
	})
	tr, ok := c.hc.Transport.(*http.Transport)
	require.True(t, ok)
	assert.NotNil(t, tr.Proxy, "proxy settings from the environment are kept")
	require.NotPanics(t, func() { _, _ = NewClient(WithHTTPClient(nil)) })
}

// slowBodyServer answers 200 with headers and half a document, then stalls
// until the client goes away.
func slowBodyServer(t *testing.T) string {
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(202)
		} else {
			w.WriteHeader(200)
		}
		_, _ = w.Write([]byte(xmlDecl + "<status><authorized>tr"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	return srv.URL
}

// TestBodyReadTimeout: a deadline that fires while the body is being read
// is ErrTimeout (not a generic backend error), whichever bound fires; a
// cancellation during the body read is ErrCanceled.
func TestBodyReadTimeout(t *testing.T) {
	url := slowBodyServer(t)
	cases := []struct {
		name   string
		opts   []Option
		ctx    func() (context.Context, context.CancelFunc)
		kind   error
		ctxErr error
	}{
		{name: "WithTimeout", opts: []Option{WithTimeout(100 * time.Millisecond)}, kind: ErrTimeout, ctxErr: context.DeadlineExceeded},
		{name: "http.Client Timeout", opts: []Option{WithTimeout(0), WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond})},
			kind: ErrTimeout, ctxErr: context.DeadlineExceeded},
		{name: "http.Client Timeout shorter than WithTimeout", opts: []Option{WithTimeout(time.Hour), WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond})},
			kind: ErrTimeout, ctxErr: context.DeadlineExceeded},
		{name: "caller deadline shorter than the client timeout", opts: []Option{WithTimeout(time.Hour)},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			},
			kind: ErrTimeout, ctxErr: context.DeadlineExceeded},
		{name: "caller cancels during the body", opts: []Option{WithTimeout(time.Hour)},
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			},
			kind: ErrCanceled, ctxErr: context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(append([]Option{WithBackendURL(url), WithServiceToken("42", secToken)}, tc.opts...)...)
			require.NoError(t, err)
			for _, call := range []string{"authrep", "report"} {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if tc.ctx != nil {
					ctx, cancel = tc.ctx()
				}
				start := time.Now()
				if call == "authrep" {
					_, err = c.AuthRep(ctx, AuthRequest{Credentials: AppID("app", secApp)})
				} else {
					_, err = c.Report(ctx, ReportRequest{Transactions: []Transaction{{Credentials: UserKey(secUser), Usage: Hits(1)}}})
				}
				cancel()
				assert.Less(t, time.Since(start), 5*time.Second, call)
				assertError(t, wantErr{kind: tc.kind, anyMsg: true}, err)
				assert.ErrorIs(t, err, tc.ctxErr, call)
				assertNoSecrets(t, err)
			}
		})
	}
}

// TestParseRobustness: documents a re-formatting proxy or another backend
// version may send.
func TestParseRobustness(t *testing.T) {
	day := func(cur int64) UsageReport {
		return UsageReport{Metric: "hits", Period: PeriodDay, PeriodStart: utc(t, "2024-03-14 00:00:00"),
			PeriodEnd: utc(t, "2024-03-15 00:00:00"), MaxValue: 10, CurrentValue: cur}
	}
	const reportXML = `<usage_report metric="hits" period="day"><period_start>2024-03-14 00:00:00 +0000</period_start><period_end>2024-03-15 00:00:00 +0000</period_end><max_value>10</max_value><current_value>3</current_value></usage_report>`
	cases := []struct {
		name   string
		status int
		body   string
		want   *AuthResult
		err    *wantErr
	}{
		{name: "UTF-8 BOM", status: 200,
			body: "\xEF\xBB\xBF" + string(statusDoc(`<authorized>true</authorized><plan>B</plan>`)),
			want: &AuthResult{Authorized: true, StatusCode: 200, Plan: "B"}},
		{name: "UTF-8 BOM on an error document", status: 404,
			body: "\xEF\xBB\xBF" + xmlDecl + `<error code="application_not_found">application with id="x" was not found</error>`,
			err:  &wantErr{kind: ErrApplicationNotFound, status: 404, code: "application_not_found", message: `application with id="x" was not found`}},
		{name: "status with attributes", status: 200,
			body: xmlDecl + `<status xmlns="urn:x" version='2'><authorized>true</authorized><plan>B</plan></status>`,
			want: &AuthResult{Authorized: true, StatusCode: 200, Plan: "B"}},
		{name: "self-closing status", status: 200, body: `<status/>`,
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "statusx is not status", status: 200, body: `<statusx><authorized>true</authorized></statusx>`,
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "errors is not an error document", status: 403, body: `<errors code="x">y</errors>`,
			err: &wantErr{kind: ErrBackendUnavailable, status: 403, anyMsg: true}},
		{name: "pretty-printed with CRLF and single quotes", status: 409,
			body: xmlDecl + "\r\n<status>\r\n  <authorized>false</authorized>\r\n  <reason>usage limits are exceeded</reason>\r\n  <plan>Basic</plan>\r\n" +
				"  <usage_reports>\r\n    <usage_report metric='hits' period='day' exceeded='true'>\r\n" +
				"      <period_start>2024-03-14 00:00:00 +0000</period_start>\r\n      <period_end>2024-03-15 00:00:00 +0000</period_end>\r\n" +
				"      <max_value> 10 </max_value>\r\n      <current_value>\r\n11\r\n</current_value>\r\n    </usage_report>\r\n  </usage_reports>\r\n" +
				"  <hierarchy>\r\n    <metric name='hits' children='search list'/>\r\n  </hierarchy>\r\n</status>\r\n",
			want: &AuthResult{StatusCode: 409, Reason: ReasonLimitsExceeded, ReasonText: "usage limits are exceeded", Plan: "Basic",
				UsageReports: []UsageReport{func() UsageReport { r := day(11); r.Exceeded = true; return r }()},
				Hierarchy:    map[string][]string{"hits": {"search", "list"}}}},
		{name: "authorized padded with white space", status: 200,
			body: string(statusDoc("<authorized>\n true \n</authorized>")),
			want: &AuthResult{Authorized: true, StatusCode: 200}},
		{name: "reason followed by hierarchy and app_keys (no plan)", status: 409,
			body: string(statusDoc(`<authorized>false</authorized><reason>application is not active</reason><hierarchy><metric name="hits" children=""/></hierarchy><app_keys app="a" svc="s"><key id="k1"/></app_keys>`)),
			want: &AuthResult{StatusCode: 409, Reason: ReasonApplicationNotActive, ReasonText: "application is not active",
				Hierarchy: map[string][]string{"hits": nil}, AppKeys: &AppKeys{App: "a", Service: "s", Keys: []string{"k1"}}}},
		{name: "every element in reverse order", status: 409,
			body: string(statusDoc(`<hierarchy><metric name="hits" children="a"/></hierarchy><app_keys svc="s" app="a"><key id="k"/></app_keys><usage_reports>` + reportXML + `</usage_reports><plan>P</plan><application><redirect_url>u</redirect_url><key>k</key><id>i</id></application><reason>usage limits are exceeded</reason><authorized>false</authorized>`)),
			want: &AuthResult{StatusCode: 409, Reason: ReasonLimitsExceeded, ReasonText: "usage limits are exceeded", Plan: "P",
				UsageReports: []UsageReport{day(3)}, Hierarchy: map[string][]string{"hits": {"a"}},
				AppKeys: &AppKeys{App: "a", Service: "s", Keys: []string{"k"}}, Application: &OAuthApplication{ID: "i", Key: "k", RedirectURL: "u"}}},
		{name: "usage_report children in any order", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report period="day" metric="hits"><current_value>3</current_value><max_value>10</max_value><period_end>2024-03-15 00:00:00 +0000</period_end><period_start>2024-03-14 00:00:00 +0000</period_start></usage_report></usage_reports>`)),
			want: &AuthResult{Authorized: true, StatusCode: 200, UsageReports: []UsageReport{day(3)}}},
		{name: "white space around attribute '='", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report metric = "hits"  period= 'day'><max_value>10</max_value><current_value>3</current_value></usage_report></usage_reports>`)),
			want: &AuthResult{Authorized: true, StatusCode: 200, UsageReports: []UsageReport{{Metric: "hits", Period: PeriodDay, MaxValue: 10, CurrentValue: 3}}}},
		{name: "max_value beyond int64 saturates", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report metric="hits" period="eternity"><max_value>99999999999999999999999</max_value><current_value>-99999999999999999999999</current_value></usage_report></usage_reports>`)),
			want: &AuthResult{Authorized: true, StatusCode: 200, UsageReports: []UsageReport{{Metric: "hits", Period: PeriodEternity, MaxValue: math.MaxInt64, CurrentValue: math.MinInt64}}}},
		{name: "negative current_value and unknown period are kept", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report metric="hits" period="decade"><max_value>5</max_value><current_value> -2 </current_value></usage_report></usage_reports>`)),
			want: &AuthResult{Authorized: true, StatusCode: 200, UsageReports: []UsageReport{{Metric: "hits", Period: PeriodUnknown, MaxValue: 5, CurrentValue: -2}}}},
		{name: "numbers with a sign or decimals are not numbers", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report metric="hits" period="day"><max_value>1.5</max_value><current_value>0</current_value></usage_report></usage_reports>`)),
			err:  &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var res *AuthResult
			var err error
			require.NotPanics(t, func() { res, err = ParseAuthResponse(tc.status, nil, []byte(tc.body)) })
			if tc.err != nil {
				assert.Nil(t, res)
				assertError(t, *tc.err, err)
				return
			}
			require.NoError(t, err)
			assertAuth(t, tc.want, res)
		})
	}
}

func TestUsageReportRemainingNoOverflow(t *testing.T) {
	cases := []struct {
		max, cur, want int64
	}{
		{10, 3, 7}, {10, 10, 0}, {10, 11, 0}, {10, -2, 10},
		{math.MaxInt64, -5, math.MaxInt64}, {math.MaxInt64, math.MinInt64, math.MaxInt64},
		{-1, 0, 0}, {math.MinInt64, math.MaxInt64, 0}, {0, 0, 0},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, UsageReport{MaxValue: tc.max, CurrentValue: tc.cur}.Remaining(), "max %d cur %d", tc.max, tc.cur)
	}
}

// TestReportPartialFailureSaysSo: when a later batch fails, the error text
// says how much was accepted and what was not recorded; a failure of the
// first batch does not claim anything was accepted.
func TestReportPartialFailureSaysSo(t *testing.T) {
	txs := make([]Transaction, 2500)
	for i := range txs {
		txs[i] = Transaction{Credentials: AppID("a", ""), Usage: Hits(1)}
	}
	for _, failAt := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			rec := &recorder{respond: func(r *http.Request, n int) *http.Response {
				if n == failAt {
					return newResponse(r, 503, nil, "Service Unavailable")
				}
				return newResponse(r, 202, nil, "")
			}}
			c := newTestClient(t, rec)
			res, err := c.Report(context.Background(), ReportRequest{Transactions: txs})
			assertError(t, wantErr{kind: ErrBackendUnavailable, status: 503, anyMsg: true}, err)
			accepted := (failAt - 1) * 1000
			assert.Equal(t, &ReportResult{Batches: failAt - 1, Transactions: accepted}, res)
			if failAt == 1 {
				assert.NotContains(t, err.Error(), "accepted")
				return
			}
			assert.Contains(t, err.Error(), fmt.Sprintf("batch %d failed", failAt))
			assert.Contains(t, err.Error(), fmt.Sprintf("%d transaction(s) in earlier batches were accepted", accepted))
			assert.Contains(t, err.Error(), fmt.Sprintf("the other %d were not confirmed", 2500-accepted))
			var e *Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, "report", e.Op)
			assert.True(t, strings.HasPrefix(err.Error(), "threescale: report: 503 "), err.Error())
		})
	}
	t.Run("transport error keeps its cause", func(t *testing.T) {
		n := 0
		c := newTestClient(t, rt(func(r *http.Request) (*http.Response, error) {
			if n++; n == 2 {
				return nil, errors.New("connection reset by peer")
			}
			return newResponse(r, 202, nil, ""), nil
		}))
		_, err := c.Report(context.Background(), ReportRequest{Transactions: txs})
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrBackendUnavailable)
		assert.Contains(t, err.Error(), "1000 transaction(s) in earlier batches were accepted")
	})
}

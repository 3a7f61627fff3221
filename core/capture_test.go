package core

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureCase is the expected outcome of one real apisonator capture.
type captureCase struct {
	// auth is the result ParseAuthResponse must give (nil when an error is
	// expected).
	auth *AuthResult
	// err is the error ParseAuthResponse must give.
	err *wantErr
	// noBody is the result of parseAuthResponse(noBody=true) for the empty
	// bodies of the no_body extension.
	noBody *AuthResult
	// report marks answers to POST /transactions.xml: they are replayed
	// through Client.Report (202 = accepted).
	report bool
}

func TestCaptures(t *testing.T) {
	dir := sharedDir(t, "captures")

	day := func(cur int64) UsageReport {
		return UsageReport{Metric: "hits", Period: PeriodDay, PeriodStart: utc(t, "2026-12-04 00:00:00"),
			PeriodEnd: utc(t, "2026-12-05 00:00:00"), MaxValue: 1000, CurrentValue: cur}
	}
	minute := func(cur int64) UsageReport {
		return UsageReport{Metric: "hits", Period: PeriodMinute, PeriodStart: utc(t, "2026-12-04 19:25:00"),
			PeriodEnd: utc(t, "2026-12-04 19:26:00"), MaxValue: 5, CurrentValue: cur}
	}
	basic := func(d, m int64) []UsageReport { return []UsageReport{day(d), minute(m)} }
	hour := func(cur int64) []UsageReport {
		return []UsageReport{{Metric: "hits", Period: PeriodHour, PeriodStart: utc(t, "2026-12-04 19:00:00"),
			PeriodEnd: utc(t, "2026-12-04 20:00:00"), MaxValue: 50, CurrentValue: cur}}
	}
	eternity := func(cur int64) []UsageReport {
		return []UsageReport{{Metric: "hits", Period: PeriodEternity, MaxValue: 3, CurrentValue: cur}}
	}
	rl := func(rem, resetSec, max int64) RateLimit {
		r := RateLimit{Present: true, Remaining: rem}
		if resetSec >= 0 {
			r.Reset, r.HasReset = time.Duration(resetSec)*time.Second, true
		}
		if max >= 0 {
			r.MaxValue, r.HasMax = max, true
		}
		return r
	}
	unlimited := RateLimit{Present: true, Unlimited: true}
	ok := func(plan string, reps []UsageReport) *AuthResult {
		return &AuthResult{Authorized: true, StatusCode: 200, Plan: plan, UsageReports: reps}
	}
	denied := func(reason ReasonCode, text, plan string, reps []UsageReport) *AuthResult {
		return &AuthResult{StatusCode: 409, Reason: reason, ReasonText: text, Plan: plan, UsageReports: reps}
	}
	with := func(r *AuthResult, f func(*AuthResult)) *AuthResult { f(r); return r }
	emptyBody := func(status int) *wantErr {
		return &wantErr{kind: ErrBackendUnavailable, status: status, anyMsg: true}
	}

	cases := map[string]captureCase{
		"01_authorize_ok.http": {auth: ok("Basic", basic(0, 0))},
		"02_authrep_ok_limit_headers.http": {auth: with(ok("Basic", basic(1, 1)), func(r *AuthResult) {
			r.RateLimit = rl(4, 48, 5)
		})},
		"03_authrep_last_ok_before_limit.http": {auth: with(ok("Basic", basic(5, 5)), func(r *AuthResult) {
			r.RateLimit = rl(0, 48, 5)
		})},
		"04_authrep_limits_exceeded_409.http": {auth: with(denied(ReasonLimitsExceeded, "usage limits are exceeded", "Basic", basic(5, 5)), func(r *AuthResult) {
			r.RateLimit = rl(0, 48, 5)
		})},
		// No rejection_reason_header: the code is inferred from the text.
		"05_authrep_limits_exceeded_no_options.http": {auth: denied(ReasonLimitsExceeded, "usage limits are exceeded", "Basic", basic(5, 5))},
		"06_authorize_at_limit_no_usage.http": {auth: with(ok("Basic", basic(5, 5)), func(r *AuthResult) {
			r.RateLimit = rl(0, 48, 5)
		})},
		"06b_authorize_at_limit_with_usage.http": {auth: with(denied(ReasonLimitsExceeded, "usage limits are exceeded", "Basic", basic(5, 5)), func(r *AuthResult) {
			r.RateLimit = rl(0, 48, 5)
		})},
		"07_wrong_app_key.http":    {auth: denied(ReasonApplicationKeyInvalid, `application key "wrong" is invalid`, "Basic", basic(0, 0))},
		"07b_app_key_missing.http": {auth: denied(ReasonApplicationKeyInvalid, "application key is missing", "Basic", basic(0, 0))},
		"08_unknown_app.http": {err: &wantErr{kind: ErrApplicationNotFound, status: 404, code: "application_not_found",
			message: `application with id="nope" was not found`}},
		"09_wrong_service_token.http": {err: &wantErr{kind: ErrServiceCredentials, status: 403, code: "service_token_invalid",
			message: `service token "bad" or service id "42" is invalid`}},
		"10_service_id_missing_with_token.http": {err: &wantErr{kind: ErrServiceCredentials, status: 422, code: "service_id_missing",
			message: "Service ID is missing"}},
		"10b_service_id_missing_with_provider_key.http": {auth: with(ok("Basic", basic(0, 0)), func(r *AuthResult) {
			r.RateLimit = unlimited
		})},
		"11_service_id_invalid_provider_key.http": {err: &wantErr{kind: ErrServiceCredentials, status: 403, code: "service_id_invalid",
			message: `service id "999" is invalid`}},
		"11b_service_id_unknown_with_token.http": {err: &wantErr{kind: ErrServiceCredentials, status: 403, code: "service_token_invalid",
			message: `service token "st_test" or service id "999" is invalid`}},
		"12_provider_key_invalid.http": {err: &wantErr{kind: ErrServiceCredentials, status: 403, code: "provider_key_invalid",
			message: `provider key "bad" is invalid`}},
		"12b_no_credentials.http": {err: &wantErr{kind: ErrServiceCredentials, status: 403, code: "provider_key_or_service_token_required",
			message: "Provider key or service token are required"}},
		"13_user_key_invalid_s43.http": {err: &wantErr{kind: ErrUserKeyInvalid, status: 403, code: "user_key_invalid",
			message: `user key "bad" is invalid`}},
		"14_user_key_ok_s43.http": {auth: with(ok("UK", []UsageReport{{Metric: "hits", Period: PeriodDay,
			PeriodStart: utc(t, "2026-12-04 00:00:00"), PeriodEnd: utc(t, "2026-12-05 00:00:00"), MaxValue: 100, CurrentValue: 1}}),
			func(r *AuthResult) { r.RateLimit = rl(99, 16488, 100) })},
		"15_metric_invalid.http": {err: &wantErr{kind: ErrMetricInvalid, status: 404, code: "metric_invalid",
			message: `metric "nonexistent" is invalid`}},
		"16_usage_value_invalid_minus1.http": {err: &wantErr{kind: ErrUsageValueInvalid, status: 403, code: "usage_value_invalid",
			message: `usage value "-1" for metric "hits" is invalid`}},
		"16b_usage_value_invalid_abc.http": {err: &wantErr{kind: ErrUsageValueInvalid, status: 403, code: "usage_value_invalid",
			message: `usage value "abc" for metric "hits" is invalid`}},
		"17_app_id_and_user_key.http": {err: &wantErr{kind: ErrCredentialsConflict, status: 403, code: "authentication_error",
			message: "either app_id or user_key is allowed, not both"}},
		"18_user_id_param.http": {err: &wantErr{kind: ErrBadRequest, status: 400, code: "end_users_no_longer_supported",
			message: "End-users are no longer supported, do not specify the user_id parameter"}},
		// The backend repeats <metric name="hits"> once per usage report.
		"19_hierarchy_option.http": {auth: with(ok("Basic", basic(0, 0)), func(r *AuthResult) {
			r.Hierarchy = map[string][]string{"hits": {"search"}}
		})},
		"19b_hierarchy_query_param_ignored.http": {auth: ok("Basic", basic(0, 0))},
		"20_no_body_query_param.http": {err: emptyBody(200),
			noBody: &AuthResult{Authorized: true, StatusCode: 200, NoBody: true}},
		"20b_no_body_option.http": {err: emptyBody(200),
			noBody: &AuthResult{Authorized: true, StatusCode: 200, NoBody: true, RateLimit: unlimited}},
		// A denial without body nor rejection header: the code is unknown.
		"20c_no_body_on_denial.http": {err: emptyBody(409),
			noBody: &AuthResult{StatusCode: 409, NoBody: true, Reason: ReasonUnknown}},
		"21_list_app_keys_option.http": {auth: with(ok("Basic", basic(1, 1)), func(r *AuthResult) {
			r.AppKeys = &AppKeys{App: "app2", Service: "42", Keys: []string{"key2"}}
		})},
		"22_oauth_authorize_oauth_service.http": {auth: with(ok("OAuth", hour(0)), func(r *AuthResult) {
			r.Application = &OAuthApplication{ID: "oapp1", Key: "osecret", RedirectURL: "https://example.com/cb"}
		})},
		"22b_oauth_authorize_v2_service.http": {auth: with(denied(ReasonOAuthNotEnabled, "oauth is not enabled", "Basic", basic(1, 1)), func(r *AuthResult) {
			r.Application = &OAuthApplication{ID: "app2", Key: "key2"}
		})},
		"22c_authorize_oauth_service_no_key.http": {auth: ok("OAuth", hour(0))},
		"22d_oauth_authrep_oauth_service.http": {auth: with(ok("OAuth", hour(1)), func(r *AuthResult) {
			r.Application = &OAuthApplication{ID: "oapp1", Key: "osecret", RedirectURL: "https://example.com/cb"}
			r.RateLimit = rl(49, 2087, 50)
		})},
		"23_suspended_app.http":             {auth: denied(ReasonApplicationNotActive, "application is not active", "Basic", basic(0, 0))},
		"24_report_2_transactions_202.http": {report: true, err: emptyBody(202)},
		"25_authorize_after_report.http": {auth: with(ok("Basic", basic(3, 3)), func(r *AuthResult) {
			r.Hierarchy = map[string][]string{"hits": {"search"}}
		})},
		"26_report_bad_content_type.http": {report: true, err: &wantErr{kind: ErrBadRequest, status: 400, code: "content_type_invalid",
			message: "invalid Content-Type: application/json"}},
		"26b_report_no_transactions.http": {report: true, err: &wantErr{kind: ErrBadRequest, status: 400, code: "transactions_is_blank",
			message: "transactions parameter is blank"}},
		"26c_report_unknown_app_202.http": {report: true, err: emptyBody(202)},
		// No usage was sent: nothing constrains the call (-1/-1, no max).
		"27_eternity_authorize.http": {auth: with(ok("Eternal", eternity(0)), func(r *AuthResult) {
			r.RateLimit = unlimited
		})},
		// Eternity: reset -1 means "never", not "unlimited".
		"27b_eternity_authrep_ok.http": {auth: with(ok("Eternal", eternity(3)), func(r *AuthResult) {
			r.RateLimit = rl(0, -1, 3)
		})},
		"27c_eternity_authrep_exceeded.http": {auth: with(denied(ReasonLimitsExceeded, "usage limits are exceeded", "Eternal", eternity(3)), func(r *AuthResult) {
			r.RateLimit = rl(0, -1, 3)
		})},
		"28_unknown_path_404.http": {err: &wantErr{kind: ErrBackendUnavailable, status: 404, anyMsg: true}},
		"29_status.http":           {err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
	}

	files := listDir(t, dir, ".http")
	require.Len(t, files, 45, "the shared corpus holds 45 captures")
	for _, name := range files {
		_, known := cases[name]
		assert.True(t, known, "capture %s has no expectation in the table", name)
	}
	for name := range cases {
		assert.FileExists(t, filepath.Join(dir, name))
	}

	for _, name := range files {
		tc, known := cases[name]
		if !known {
			continue
		}
		t.Run(name, func(t *testing.T) {
			c := readCapture(t, filepath.Join(dir, name))
			res, err := ParseAuthResponse(c.Status, c.Header, c.Body)
			switch {
			case tc.auth != nil:
				require.NoError(t, err)
				assertAuth(t, tc.auth, res)
			default:
				require.NotNil(t, tc.err)
				assert.Nil(t, res)
				assertError(t, *tc.err, err)
			}

			if tc.noBody != nil {
				res, perr := parseAuthResponse(c.Status, c.Header, c.Body, true)
				require.Nil(t, perr)
				assertAuth(t, tc.noBody, res)
			}
		})
	}
}

// TestCapturesThroughClient replays every capture from a real HTTP server
// on 127.0.0.1 and checks the client gives the same outcome as the parser
// (or, for report answers, that 202 means accepted).
func TestCapturesThroughClient(t *testing.T) {
	dir := sharedDir(t, "captures")
	for _, name := range listDir(t, dir, ".http") {
		t.Run(name, func(t *testing.T) {
			c := readCapture(t, filepath.Join(dir, name))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.Header {
					if k == "Content-Length" {
						continue
					}
					w.Header()[k] = v
				}
				w.WriteHeader(c.Status)
				_, _ = w.Write(c.Body)
			}))
			t.Cleanup(srv.Close)
			cl, err := NewClient(WithBackendURL(srv.URL), WithServiceToken("42", "st_test"))
			require.NoError(t, err)
			ctx := context.Background()

			isReport := strings.HasPrefix(name, "24_") || strings.HasPrefix(name, "26")
			if isReport {
				rr, err := cl.Report(ctx, ReportRequest{Transactions: []Transaction{{Credentials: AppID("app_report", ""), Usage: Hits(1)}}})
				if c.Status == http.StatusAccepted {
					require.NoError(t, err)
					assert.Equal(t, &ReportResult{Batches: 1, Transactions: 1}, rr)
					return
				}
				require.Error(t, err)
				want, perr := parseAuthResponse(c.Status, c.Header, c.Body, false)
				require.Nil(t, want)
				requireSameError(t, perr, err, "report")
				return
			}

			got, err := cl.AuthRep(ctx, AuthRequest{Credentials: AppID("app1", "key1")})
			want, perr := ParseAuthResponse(c.Status, c.Header, c.Body)
			if perr != nil {
				require.Error(t, err)
				assert.Nil(t, got)
				requireSameError(t, perr, err, "authrep")
				return
			}
			require.NoError(t, err)
			assertAuth(t, want, got)
		})
	}
}

func requireSameError(t *testing.T, want, got error, op string) {
	t.Helper()
	var we, ge *Error
	require.ErrorAs(t, want, &we)
	require.ErrorAs(t, got, &ge)
	assert.Equal(t, op, ge.Op)
	assert.Equal(t, we.Kind, ge.Kind)
	assert.Equal(t, we.StatusCode, ge.StatusCode)
	assert.Equal(t, we.Code, ge.Code)
	// The client's own service token (st_test, as in the captures) is
	// redacted from backend messages.
	assert.Equal(t, strings.ReplaceAll(we.Message, "st_test", "[redacted]"), ge.Message)
	assert.NotContains(t, ge.Error(), "st_test")
}

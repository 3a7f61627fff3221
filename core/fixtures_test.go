package core

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hOK / hErr are the header sets of fixtures/README.md, plus extras.
func hOK(kv ...string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/vnd.3scale-v2.0+xml")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "ETag, Link, 3scale-rejection-reason")
	h.Set("Content-Security-Policy", "default-src 'self'")
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1]) // canonicalises, like net/http
	}
	return h
}

func hErr() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/vnd.3scale-v2.0+xml")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "ETag, Link, 3scale-rejection-reason")
	return h
}

type fixtureCase struct {
	status int
	header http.Header
	auth   *AuthResult
	err    *wantErr
	noBody *AuthResult // parseAuthResponse(noBody=true)
}

func TestFixtures(t *testing.T) {
	dir := sharedDir(t, "fixtures")

	month := func(cur int64) UsageReport {
		return UsageReport{Metric: "hits", Period: PeriodMonth, PeriodStart: utc(t, "2024-03-01 00:00:00"),
			PeriodEnd: utc(t, "2024-04-01 00:00:00"), MaxValue: 10000, CurrentValue: cur}
	}
	day := func(metric string, max, cur int64) UsageReport {
		return UsageReport{Metric: metric, Period: PeriodDay, PeriodStart: utc(t, "2024-03-14 00:00:00"),
			PeriodEnd: utc(t, "2024-03-15 00:00:00"), MaxValue: max, CurrentValue: cur}
	}
	minute := func(cur int64) UsageReport {
		return UsageReport{Metric: "hits", Period: PeriodMinute, PeriodStart: utc(t, "2024-03-14 10:21:00"),
			PeriodEnd: utc(t, "2024-03-14 10:22:00"), MaxValue: 10, CurrentValue: cur}
	}
	exceeded := func(r UsageReport) UsageReport { r.Exceeded = true; return r }
	ok := func(plan string, reps ...UsageReport) *AuthResult {
		return &AuthResult{Authorized: true, StatusCode: 200, Plan: plan, UsageReports: reps}
	}
	denied := func(reason ReasonCode, text string, reps ...UsageReport) *AuthResult {
		return &AuthResult{StatusCode: 409, Reason: reason, ReasonText: text, Plan: "Basic", UsageReports: reps}
	}
	with := func(r *AuthResult, f func(*AuthResult)) *AuthResult { f(r); return r }
	e := func(kind error, status int, code, msg string) *wantErr {
		return &wantErr{kind: kind, status: status, code: code, message: msg}
	}
	app := &OAuthApplication{ID: "3c4b5e2a", Key: "9f2a1c0e5d7b4a38", RedirectURL: "https://app.example.com/callback"}

	cases := map[string]fixtureCase{
		"01_authorize_ok_usage_reports.xml": {status: 200, header: hOK(),
			auth: ok("Basic", month(1523), day("hits", 1000, 87))},
		"02_authrep_ok_no_limits.xml": {status: 200, header: hOK("3scale-limit-remaining", "-1", "3scale-limit-reset", "-1"),
			auth: with(ok("Default"), func(r *AuthResult) { r.RateLimit = RateLimit{Present: true, Unlimited: true} })},
		"03_authrep_ok_limit_headers.xml": {status: 200,
			header: hOK("3scale-limit-remaining", "7", "3scale-limit-reset", "25", "3scale-limit-max-value", "10"),
			auth: with(ok("Basic", day("hits", 1000, 88), minute(3)), func(r *AuthResult) {
				r.RateLimit = RateLimit{Present: true, Remaining: 7, Reset: 25 * time.Second, HasReset: true, MaxValue: 10, HasMax: true}
			})},
		"04_authrep_denied_limits_exceeded.xml": {status: 409,
			header: hOK("3scale-rejection-reason", "limits_exceeded", "3scale-limit-remaining", "0",
				"3scale-limit-reset", "49105", "3scale-limit-max-value", "1000"),
			auth: with(denied(ReasonLimitsExceeded, "usage limits are exceeded", month(5012), exceeded(day("hits", 1000, 1001))), func(r *AuthResult) {
				r.RateLimit = RateLimit{Present: true, Remaining: 0, Reset: 49105 * time.Second, HasReset: true, MaxValue: 1000, HasMax: true}
			})},
		// No header: the code is inferred; no exceeded attribute (998 <= 1000).
		"05_authorize_denied_limits_predicted.xml": {status: 409, header: hOK(),
			auth: denied(ReasonLimitsExceeded, "usage limits are exceeded", month(5012), day("hits", 1000, 998))},
		"06_authrep_denied_app_key_invalid.xml": {status: 409, header: hOK("3scale-rejection-reason", "application_key_invalid"),
			auth: denied(ReasonApplicationKeyInvalid, `application key "wrongkey" is invalid`, day("hits", 1000, 87))},
		"07_authorize_denied_app_key_missing.xml": {status: 409, header: hOK(),
			auth: denied(ReasonApplicationKeyInvalid, "application key is missing")},
		"08_authrep_denied_referrer_not_allowed.xml": {status: 409, header: hOK("3scale-rejection-reason", "referrer_not_allowed"),
			auth: denied(ReasonReferrerNotAllowed, `referrer "evil.example.net" is not allowed`)},
		"08b_authrep_denied_referrer_missing.xml": {status: 409, header: hOK(),
			auth: denied(ReasonReferrerNotAllowed, "referrer is missing")},
		"09_authorize_denied_application_not_active.xml": {status: 409, header: hOK(),
			auth: denied(ReasonApplicationNotActive, "application is not active")},
		"10_authrep_denied_service_not_active.xml": {status: 409, header: hOK("3scale-rejection-reason", "service_not_active"),
			auth: denied(ReasonServiceNotActive, "service is not active")},
		"11_error_application_not_found.xml": {status: 404, header: hErr(),
			err: e(ErrApplicationNotFound, 404, "application_not_found", `application with id="deadbeef" was not found`)},
		"11b_error_application_id_missing.xml": {status: 404, header: hErr(),
			err: e(ErrApplicationNotFound, 404, "application_not_found", "application id is missing")},
		"12_error_user_key_invalid.xml": {status: 403, header: hErr(),
			err: e(ErrUserKeyInvalid, 403, "user_key_invalid", `user key "bad_user_key" is invalid`)},
		"12b_error_user_key_missing.xml": {status: 403, header: hErr(),
			err: e(ErrUserKeyInvalid, 403, "user_key_invalid", "user key is missing")},
		"13_error_provider_key_invalid.xml": {status: 403, header: hErr(),
			err: e(ErrServiceCredentials, 403, "provider_key_invalid", `provider key "pk_WRONG" is invalid`)},
		"14_error_provider_key_invalid_or_service_missing.xml": {status: 403, header: hErr(),
			err: e(ErrServiceCredentials, 403, "provider_key_invalid_or_service_missing", `provider key "pk_WRONG" invalid and/or service ID missing`)},
		"15_error_service_token_invalid.xml": {status: 403, header: hErr(),
			err: e(ErrServiceCredentials, 403, "service_token_invalid", `service token "st_WRONG" or service id "2555417777820" is invalid`)},
		"16_error_provider_key_or_service_token_required.xml": {status: 403, header: hErr(),
			err: e(ErrServiceCredentials, 403, "provider_key_or_service_token_required", "Provider key or service token are required")},
		"17_error_service_id_missing.xml": {status: 422, header: hErr(),
			err: e(ErrServiceCredentials, 422, "service_id_missing", "Service ID is missing")},
		"18_error_service_id_invalid.xml": {status: 403, header: hErr(),
			err: e(ErrServiceCredentials, 403, "service_id_invalid", `service id "999" is invalid`)},
		"19_error_metric_invalid.xml": {status: 404, header: hErr(),
			err: e(ErrMetricInvalid, 404, "metric_invalid", `metric "hitz" is invalid`)},
		"20_error_usage_value_invalid.xml": {status: 403, header: hErr(),
			err: e(ErrUsageValueInvalid, 403, "usage_value_invalid", `usage value "-1" for metric "hits" is invalid`)},
		"20b_error_usage_value_empty.xml": {status: 403, header: hErr(),
			err: e(ErrUsageValueInvalid, 403, "usage_value_invalid", `usage value for metric "hits" can not be empty`)},
		"21_error_authentication_error.xml": {status: 403, header: hErr(),
			err: e(ErrCredentialsConflict, 403, "authentication_error", "either app_id or user_key is allowed, not both")},
		"22_error_end_users_no_longer_supported.xml": {status: 400, header: hErr(),
			err: e(ErrBadRequest, 400, "end_users_no_longer_supported", "End-users are no longer supported, do not specify the user_id parameter")},
		"23_error_not_valid_data.xml": {status: 422, header: hErr(),
			err: e(ErrBadRequest, 422, "not_valid_data", "all data must be valid UTF8")},
		"24_error_bad_request.xml": {status: 400, header: hErr(),
			err: e(ErrBadRequest, 400, "bad_request", "request contains syntax errors, should not be repeated without modification")},
		"24b_error_bad_request_percent_encoding.xml": {status: 400, header: hErr(),
			err: e(ErrBadRequest, 400, "bad_request", "Invalid query parameters: invalid %-encoding")},
		"24c_error_bad_request_too_many_params.xml": {status: 400, header: hErr(),
			err: e(ErrBadRequest, 400, "bad_request", "total number of query parameters (4103) exceeds limit (4096)")},
		"25_oauth_authorize_ok_application.xml": {status: 200, header: hOK(),
			auth: with(ok("Basic", day("hits", 1000, 87)), func(r *AuthResult) { r.Application = app })},
		// The request used redirect_uri, so the element is <redirect_uri>.
		"26_oauth_authrep_denied_redirect_uri_invalid.xml": {status: 409, header: hOK(),
			auth: with(denied(ReasonRedirectURIInvalid, `redirect_uri "https://evil.example.net/cb" is invalid`), func(r *AuthResult) {
				r.Application = app
			})},
		"27_oauth_authorize_denied_oauth_not_enabled.xml": {status: 409, header: hOK("3scale-rejection-reason", "oauth_not_enabled"),
			auth: with(denied(ReasonOAuthNotEnabled, "oauth is not enabled"), func(r *AuthResult) {
				r.Application = &OAuthApplication{ID: "3c4b5e2a", Key: "9f2a1c0e5d7b4a38"}
			})},
		"28_authrep_hierarchy_extension.xml": {status: 200, header: hOK(),
			auth: with(ok("Basic", day("hits", 1000, 88), day("search", 500, 41)), func(r *AuthResult) {
				r.Hierarchy = map[string][]string{"hits": {"search", "update"}, "search": {}}
			})},
		"29_authorize_list_app_keys_extension.xml": {status: 200, header: hOK(),
			auth: with(ok("Basic"), func(r *AuthResult) {
				r.AppKeys = &AppKeys{App: "3c4b5e2a", Service: "2555417777820", Keys: []string{"9f2a1c0e5d7b4a38", "0b1c2d3e4f5a6b7c"}}
			})},
		"30_authorize_eternity_and_week_limits.xml": {status: 200, header: hOK(),
			auth: ok("Pro",
				UsageReport{Metric: "hits", Period: PeriodEternity, MaxValue: 100000, CurrentValue: 4521},
				UsageReport{Metric: "hits", Period: PeriodWeek, PeriodStart: utc(t, "2024-03-11 00:00:00"),
					PeriodEnd: utc(t, "2024-03-18 00:00:00"), MaxValue: 5000, CurrentValue: 1210})},
		// A 202 is no answer to an auth call; Report handles it (see
		// TestReportAcceptsFixture).
		"31_report_accepted.body": {status: 202, header: hOK(),
			err: &wantErr{kind: ErrBackendUnavailable, status: 202, anyMsg: true}},
		"32_report_error_content_type_invalid.xml": {status: 400, header: hErr(),
			err: e(ErrBadRequest, 400, "content_type_invalid", "invalid Content-Type: application/json")},
		"33_report_error_transactions_is_blank.xml": {status: 400, header: hErr(),
			err: e(ErrBadRequest, 400, "transactions_is_blank", "transactions parameter is blank")},
		"34_report_error_transactions_format_invalid.xml": {status: 400, header: hErr(),
			err: e(ErrBadRequest, 400, "transactions_format_invalid", "transactions format is invalid")},
		"35_report_error_transactions_has_nil_transaction.xml": {status: 400, header: hErr(),
			err: e(ErrBadRequest, 400, "transactions_has_nil_transaction", "transactions has a nil transaction")},
		"36_authrep_denied_no_body.body": {status: 409, header: hOK("3scale-rejection-reason", "application_not_active"),
			err:    &wantErr{kind: ErrBackendUnavailable, status: 409, anyMsg: true},
			noBody: &AuthResult{StatusCode: 409, NoBody: true, Reason: ReasonApplicationNotActive}},
		"37_status.json": {status: 200, header: http.Header{"Content-Type": {"application/json"}},
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		"38_check.txt": {status: 200, header: http.Header{"Content-Type": {"text/plain;charset=utf-8"}},
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
	}

	files := listDir(t, dir)
	require.Len(t, files, 44, "the shared corpus holds 44 fixtures (plus README.md)")
	for _, name := range files {
		_, known := cases[name]
		assert.True(t, known, "fixture %s has no expectation in the table", name)
	}
	for _, name := range files {
		tc, known := cases[name]
		if !known {
			continue
		}
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			res, err := ParseAuthResponse(tc.status, tc.header, body)
			if tc.auth != nil {
				require.NoError(t, err)
				assertAuth(t, tc.auth, res)
			} else {
				require.NotNil(t, tc.err)
				assert.Nil(t, res)
				assertError(t, *tc.err, err)
			}
			if tc.noBody != nil {
				res, perr := parseAuthResponse(tc.status, tc.header, body, true)
				require.Nil(t, perr)
				assertAuth(t, tc.noBody, res)
			}
		})
	}
}

package core

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>`

func statusDoc(inner string) []byte {
	return []byte(xmlDecl + "<status>" + inner + "</status>")
}

// TestParseTolerance: documents that real backends and proxies send that are
// not well-formed XML, or not 3scale documents at all.
func TestParseTolerance(t *testing.T) {
	denied := func(reason ReasonCode, text, plan string) *AuthResult {
		return &AuthResult{StatusCode: 409, Reason: reason, ReasonText: text, Plan: plan}
	}
	cases := []struct {
		name   string
		status int
		header http.Header
		body   string
		auth   *AuthResult
		err    *wantErr
	}{
		{
			name: "reason with unescaped & < \" (referrer a&b<c)", status: 409,
			body: string(statusDoc(`<authorized>false</authorized><reason>referrer "a&b<c" is not allowed</reason><plan>Basic</plan>`)),
			auth: denied(ReasonReferrerNotAllowed, `referrer "a&b<c" is not allowed`, "Basic"),
		},
		{
			name: "reason with unescaped & < and the header code", status: 409,
			header: http.Header{"3scale-Rejection-Reason": {"referrer_not_allowed"}},
			body:   string(statusDoc(`<authorized>false</authorized><reason>referrer "a&b<c" is not allowed</reason><plan>Basic</plan>`)),
			auth:   denied(ReasonReferrerNotAllowed, `referrer "a&b<c" is not allowed`, "Basic"),
		},
		{
			name: "app key containing </reason> and tags", status: 409,
			body: string(statusDoc(`<authorized>false</authorized><reason>application key "x</reason><plan>evil</plan>" is invalid</reason><plan>Basic</plan>`)),
			auth: denied(ReasonApplicationKeyInvalid, `application key "x</reason><plan>evil</plan>" is invalid`, "Basic"),
		},
		{
			name: "reason is the last element", status: 409,
			body: string(statusDoc(`<authorized>false</authorized><reason>application is not active</reason>`)),
			auth: denied(ReasonApplicationNotActive, "application is not active", ""),
		},
		{
			name: "redirect_uri reason with a query string", status: 409,
			body: string(statusDoc(`<authorized>false</authorized><reason>redirect_uri "https://e.example/cb?a=1&b=<2>" is invalid</reason><application><id>a</id><key></key><redirect_uri>https://app.example/cb?x=1&amp;y=2</redirect_uri></application><plan>Basic</plan>`)),
			auth: func() *AuthResult {
				r := denied(ReasonRedirectURIInvalid, `redirect_uri "https://e.example/cb?a=1&b=<2>" is invalid`, "Basic")
				r.Application = &OAuthApplication{ID: "a", RedirectURL: "https://app.example/cb?x=1&y=2"}
				return r
			}(),
		},
		{
			name: "plan with escaped entities", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><plan>Gold &amp; Silver &lt;beta&gt; &#233;&#x41;</plan>`)),
			auth: &AuthResult{Authorized: true, StatusCode: 200, Plan: "Gold & Silver <beta> éA"},
		},
		{
			name: "plan with an unknown entity kept as is", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><plan>A &nbsp; B &</plan>`)),
			auth: &AuthResult{Authorized: true, StatusCode: 200, Plan: "A &nbsp; B &"},
		},
		{
			name: "empty plan element", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><plan></plan>`)),
			auth: &AuthResult{Authorized: true, StatusCode: 200},
		},
		{
			name: "self-closing plan", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><plan/>`)),
			auth: &AuthResult{Authorized: true, StatusCode: 200},
		},
		{
			name: "whitespace and newlines around the document", status: 200,
			body: "\r\n  " + string(statusDoc(`<authorized>true</authorized><plan>Basic</plan>`)) + "\n",
			auth: &AuthResult{Authorized: true, StatusCode: 200, Plan: "Basic"},
		},
		{
			name: "no XML declaration", status: 200,
			body: `<status><authorized>true</authorized><plan>Basic</plan></status>`,
			auth: &AuthResult{Authorized: true, StatusCode: 200, Plan: "Basic"},
		},
		{
			name: "unknown denial text without header", status: 409,
			body: string(statusDoc(`<authorized>false</authorized><reason>something new</reason><plan>Basic</plan>`)),
			auth: denied(ReasonUnknown, "something new", "Basic"),
		},
		{
			name: "denial without reason nor header", status: 409,
			body: string(statusDoc(`<authorized>false</authorized><plan>Basic</plan>`)),
			auth: denied(ReasonUnknown, "", "Basic"),
		},
		{
			name: "header code wins over the text", status: 409,
			header: http.Header{"3scale-Rejection-Reason": {"limits_exceeded"}},
			body:   string(statusDoc(`<authorized>false</authorized><reason>application is not active</reason><plan>Basic</plan>`)),
			auth:   denied(ReasonLimitsExceeded, "application is not active", "Basic"),
		},
		{
			name: "rejection header ignored on 200", status: 200,
			header: http.Header{"3scale-Rejection-Reason": {"limits_exceeded"}},
			body:   string(statusDoc(`<authorized>true</authorized><plan>Basic</plan>`)),
			auth:   &AuthResult{Authorized: true, StatusCode: 200, Plan: "Basic"},
		},
		{
			name: "garbage limit headers are ignored", status: 200,
			header: http.Header{"3scale-Limit-Remaining": {"lots"}, "3scale-Limit-Reset": {"soon"}},
			body:   string(statusDoc(`<authorized>true</authorized><plan>Basic</plan>`)),
			auth:   &AuthResult{Authorized: true, StatusCode: 200, Plan: "Basic"},
		},
		{
			name: "remaining without reset or max", status: 200,
			header: http.Header{"3scale-Limit-Remaining": {" 3 "}},
			body:   string(statusDoc(`<authorized>true</authorized><plan>Basic</plan>`)),
			auth:   &AuthResult{Authorized: true, StatusCode: 200, Plan: "Basic", RateLimit: RateLimit{Present: true, Remaining: 3}},
		},
		{
			name: "empty usage_reports and hierarchy and app_keys", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><plan>B</plan><usage_reports></usage_reports><app_keys app="a" svc="s"></app_keys><hierarchy></hierarchy>`)),
			auth: &AuthResult{Authorized: true, StatusCode: 200, Plan: "B", AppKeys: &AppKeys{App: "a", Service: "s"}, Hierarchy: map[string][]string{}},
		},
		{
			name: "self-closing app_keys and hierarchy", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><plan>B</plan><app_keys app="a" svc="s"/><hierarchy/>`)),
			auth: &AuthResult{Authorized: true, StatusCode: 200, Plan: "B", AppKeys: &AppKeys{App: "a", Service: "s"}, Hierarchy: map[string][]string{}},
		},
		{
			name: "int64 counters", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><plan>B</plan><usage_reports><usage_report metric="hits" period="eternity"><max_value>9223372036854775807</max_value><current_value>4294967296</current_value></usage_report></usage_reports>`)),
			auth: &AuthResult{Authorized: true, StatusCode: 200, Plan: "B", UsageReports: []UsageReport{
				{Metric: "hits", Period: PeriodEternity, MaxValue: 9223372036854775807, CurrentValue: 4294967296}}},
		},
		{
			name: "unknown period and a non-UTC offset", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><plan>B</plan><usage_reports><usage_report metric="m" period="fortnight"><period_start>2024-03-14 02:00:00 +0200</period_start><period_end>garbage</period_end><max_value>1</max_value><current_value>0</current_value></usage_report></usage_reports>`)),
			auth: &AuthResult{Authorized: true, StatusCode: 200, Plan: "B", UsageReports: []UsageReport{
				{Metric: "m", Period: PeriodUnknown, PeriodStart: utc(t, "2024-03-14 00:00:00"), MaxValue: 1}}},
		},

		// Not 3scale documents: backend unavailable, whatever the status.
		{name: "HTML 502 from a proxy", status: 502, header: http.Header{"Content-Type": {"text/html"}},
			body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			err:  &wantErr{kind: ErrBackendUnavailable, status: 502, anyMsg: true}},
		{name: "HTML 503 with meta closed by head (istio #148)", status: 503,
			body: `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>upstream connect error</body></html>`,
			err:  &wantErr{kind: ErrBackendUnavailable, status: 503, anyMsg: true}},
		{name: "HTML 200 from a captive proxy", status: 200, body: `<html><body>Please log in</body></html>`,
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "HTML 409", status: 409, body: `<html><body>conflict</body></html>`,
			err: &wantErr{kind: ErrBackendUnavailable, status: 409, anyMsg: true}},
		{name: "HTML 403 from a WAF", status: 403, body: `<html><body>Forbidden</body></html>`,
			err: &wantErr{kind: ErrBackendUnavailable, status: 403, anyMsg: true}},
		{name: "HTML 404", status: 404, body: `<!DOCTYPE html><html><body>Not Found</body></html>`,
			err: &wantErr{kind: ErrBackendUnavailable, status: 404, anyMsg: true}},
		{name: "500 Internal Server Error text", status: 500, body: "Internal Server Error\n",
			err: &wantErr{kind: ErrBackendUnavailable, status: 500, anyMsg: true}},
		{name: "500 with an error document", status: 500,
			body: xmlDecl + `<error code="internal">boom</error>`,
			err:  &wantErr{kind: ErrBackendUnavailable, status: 500, code: "internal", message: "boom"}},
		{name: "503 empty", status: 503, err: &wantErr{kind: ErrBackendUnavailable, status: 503, anyMsg: true}},
		{name: "empty 200", status: 200, err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "whitespace-only 200", status: 200, body: " \r\n\t",
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "empty 409", status: 409, err: &wantErr{kind: ErrBackendUnavailable, status: 409, anyMsg: true}},
		{name: "empty 403 (usage not a hash)", status: 403,
			err: &wantErr{kind: ErrBackendUnavailable, status: 403, anyMsg: true}},
		{name: "truncated status document", status: 200,
			body: xmlDecl + `<status><authorized>true</authorized><plan>Bas`,
			err:  &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "truncated error document", status: 404,
			body: xmlDecl + `<error code="application_not_found">application with id="x" was`,
			err:  &wantErr{kind: ErrBackendUnavailable, status: 404, anyMsg: true}},
		{name: "garbage bytes", status: 200, body: "\x00\xff\xfe<<<>>>&&&",
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "JSON on 409", status: 409, body: `{"authorized":false}`,
			err: &wantErr{kind: ErrBackendUnavailable, status: 409, anyMsg: true}},
		{name: "status without authorized", status: 200, body: string(statusDoc(`<plan>Basic</plan>`)),
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "authorized with a bad value", status: 200, body: string(statusDoc(`<authorized>yes</authorized>`)),
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "200 but authorized false", status: 200, body: string(statusDoc(`<authorized>false</authorized><reason>x</reason>`)),
			err: &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "409 but authorized true", status: 409, body: string(statusDoc(`<authorized>true</authorized>`)),
			err: &wantErr{kind: ErrBackendUnavailable, status: 409, anyMsg: true}},
		{name: "usage report without max_value", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report metric="hits" period="day"><current_value>1</current_value></usage_report></usage_reports>`)),
			err:  &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "usage report with a non-numeric current_value", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report metric="hits" period="day"><max_value>1</max_value><current_value>many</current_value></usage_report></usage_reports>`)),
			err:  &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},
		{name: "unterminated usage_report", status: 200,
			body: string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report metric="hits" period="day"><max_value>1</max_value>`)),
			err:  &wantErr{kind: ErrBackendUnavailable, status: 200, anyMsg: true}},

		// An <error> document where a status document was expected is still
		// typed by its code.
		{name: "error document on 200", status: 200,
			body: xmlDecl + `<error code="application_not_found">application id is missing</error>`,
			err:  &wantErr{kind: ErrApplicationNotFound, status: 200, code: "application_not_found", message: "application id is missing"}},
		{name: "error message with entities and raw quotes", status: 404,
			body: xmlDecl + `<error code="application_not_found">application with id="a&amp;b&lt;c" was not found</error>`,
			err:  &wantErr{kind: ErrApplicationNotFound, status: 404, code: "application_not_found", message: `application with id="a&b<c" was not found`}},
		{name: "self-closing error", status: 403, body: xmlDecl + `<error code="service_id_invalid"/>`,
			err: &wantErr{kind: ErrServiceCredentials, status: 403, code: "service_id_invalid"}},
		{name: "unknown error code on 4xx", status: 418, body: xmlDecl + `<error code="teapot">short and stout</error>`,
			err: &wantErr{kind: ErrBadRequest, status: 418, code: "teapot", message: "short and stout"}},
		{name: "error without code", status: 400, body: xmlDecl + `<error>oops</error>`,
			err: &wantErr{kind: ErrBadRequest, status: 400, message: "oops"}},
		{name: "redirect answer", status: 302, header: http.Header{"Location": {"https://elsewhere.example/"}},
			err: &wantErr{kind: ErrBackendUnavailable, status: 302, anyMsg: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var (
				res *AuthResult
				err error
			)
			require.NotPanics(t, func() { res, err = ParseAuthResponse(tc.status, tc.header, []byte(tc.body)) })
			if tc.auth != nil {
				require.NoError(t, err)
				assertAuth(t, tc.auth, res)
				return
			}
			require.Nil(t, res)
			assertError(t, *tc.err, err)
		})
	}
}

// TestParseNonCanonicalHeaderKeys: ParseAuthResponse is exported for callers
// that transport requests themselves; the code says it copes with header
// maps "built by hand" whose keys are not canonical (e.g. lower-case, as the
// backend sends them on the wire).
func TestParseNonCanonicalHeaderKeys(t *testing.T) {
	h := http.Header{
		"3scale-rejection-reason": {"limits_exceeded"},
		"3scale-limit-remaining":  {"0"},
		"3scale-limit-reset":      {"48"},
		"3scale-limit-max-value":  {"5"},
	}
	res, err := ParseAuthResponse(409, h, statusDoc(`<authorized>false</authorized><reason>application is not active</reason><plan>Basic</plan>`))
	require.NoError(t, err)
	assert.Equal(t, ReasonLimitsExceeded, res.Reason, "rejection reason from a lower-case header key")
	assert.True(t, res.RateLimit.Present, "limit headers from lower-case header keys")
}

// TestParseTruncatedEverywhere cuts every real body at every byte: a prefix
// of a document is never a result, it is ErrBackendUnavailable (never a
// panic, never a half-parsed result).
func TestParseTruncatedEverywhere(t *testing.T) {
	type doc struct {
		name   string
		status int
		body   []byte
	}
	var docs []doc
	if dir := filepath.Join("..", "..", "shared", "3scale", "captures"); dirExists(dir) {
		for _, name := range listDir(t, dir, ".http") {
			c := readCapture(t, filepath.Join(dir, name))
			docs = append(docs, doc{name, c.Status, c.Body})
		}
	}
	docs = append(docs,
		doc{"inline-ok", 200, statusDoc(`<authorized>true</authorized><plan>Basic</plan><usage_reports><usage_report metric="hits" period="day"><period_start>2024-03-14 00:00:00 +0000</period_start><period_end>2024-03-15 00:00:00 +0000</period_end><max_value>1000</max_value><current_value>88</current_value></usage_report></usage_reports><app_keys app="a" svc="s"><key id="k"/></app_keys><hierarchy><metric name="hits" children="search"/></hierarchy>`)},
		doc{"inline-error", 404, []byte(xmlDecl + `<error code="metric_invalid">metric "x" is invalid</error>`)},
	)
	for _, d := range docs {
		body := strings.TrimRight(string(d.body), " \r\n")
		if body == "" {
			continue
		}
		for n := 0; n < len(body); n++ {
			prefix := []byte(body[:n])
			var (
				res *AuthResult
				err error
			)
			require.NotPanics(t, func() { res, err = ParseAuthResponse(d.status, nil, prefix) }, "%s cut at %d", d.name, n)
			require.Nil(t, res, "%s cut at %d gave a result: %q", d.name, n, prefix)
			require.ErrorIs(t, err, ErrBackendUnavailable, "%s cut at %d: %q", d.name, n, prefix)
		}
	}
}

func dirExists(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

// TestNoBodyParsing covers the no_body extension: empty bodies are results
// only when the client asked for no_body.
func TestNoBodyParsing(t *testing.T) {
	h := http.Header{}
	h.Set("3scale-rejection-reason", "limits_exceeded")
	h.Set("3scale-limit-remaining", "0")
	h.Set("3scale-limit-reset", "12")
	h.Set("3scale-limit-max-value", "5")

	res, perr := parseAuthResponse(409, h, nil, true)
	require.Nil(t, perr)
	assertAuth(t, &AuthResult{StatusCode: 409, NoBody: true, Reason: ReasonLimitsExceeded,
		RateLimit: RateLimit{Present: true, Remaining: 0, Reset: 12e9, HasReset: true, MaxValue: 5, HasMax: true}}, res)
	assert.True(t, res.LimitsExceeded())

	// Without no_body, the same answer is a broken response.
	_, err := ParseAuthResponse(409, h, nil)
	assertError(t, wantErr{kind: ErrBackendUnavailable, status: 409, anyMsg: true}, err)

	// An error status with an empty body under no_body keeps its status.
	_, perr = parseAuthResponse(404, nil, nil, true)
	require.NotNil(t, perr)
	assertError(t, wantErr{kind: ErrBadRequest, status: 404, anyMsg: true}, perr)
	_, perr = parseAuthResponse(503, nil, nil, true)
	assertError(t, wantErr{kind: ErrBackendUnavailable, status: 503, anyMsg: true}, perr)

	// A body that does arrive under no_body is still parsed.
	res, perr = parseAuthResponse(200, nil, statusDoc(`<authorized>true</authorized><plan>P</plan>`), true)
	require.Nil(t, perr)
	assert.False(t, res.NoBody)
	assert.Equal(t, "P", res.Plan)
}

func TestInferReason(t *testing.T) {
	cases := map[string]ReasonCode{
		"":                                    ReasonNone,
		"usage limits are exceeded":           ReasonLimitsExceeded,
		"Usage limits are exceeded":           ReasonLimitsExceeded,
		`application key "k" is invalid`:      ReasonApplicationKeyInvalid,
		"application key is missing":          ReasonApplicationKeyInvalid,
		`referrer "x" is not allowed`:         ReasonReferrerNotAllowed,
		"referrer is missing":                 ReasonReferrerNotAllowed,
		"application is not active":           ReasonApplicationNotActive,
		"service is not active":               ReasonServiceNotActive,
		"oauth is not enabled":                ReasonOAuthNotEnabled,
		`redirect_uri "https://x" is invalid`: ReasonRedirectURIInvalid,
		`redirect_url "https://x" is invalid`: ReasonRedirectURLInvalid,
		"the moon is in the wrong phase":      ReasonUnknown,
	}
	for text, want := range cases {
		assert.Equal(t, want, InferReason(text), "%q", text)
	}
}

func TestPeriodNames(t *testing.T) {
	for p := PeriodMinute; p <= PeriodEternity; p++ {
		assert.Equal(t, p, ParsePeriod(p.String()))
	}
	assert.Equal(t, PeriodUnknown, ParsePeriod("Day"))
	assert.Equal(t, "unknown", Period(200).String())
	assert.Equal(t, int64(0), UsageReport{MaxValue: 5, CurrentValue: 7}.Remaining())
	assert.Equal(t, int64(3), UsageReport{MaxValue: 5, CurrentValue: 2}.Remaining())
}

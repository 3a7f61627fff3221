package core

import (
	"strings"
	"time"
)

// ReasonCode is the machine code of a denial (the value of the backend's
// 3scale-rejection-reason header).
type ReasonCode string

// The denial reasons the backend sends with a 409 status document.
const (
	ReasonNone                  ReasonCode = ""
	ReasonApplicationKeyInvalid ReasonCode = "application_key_invalid"
	ReasonReferrerNotAllowed    ReasonCode = "referrer_not_allowed"
	ReasonApplicationNotActive  ReasonCode = "application_not_active"
	ReasonServiceNotActive      ReasonCode = "service_not_active"
	ReasonLimitsExceeded        ReasonCode = "limits_exceeded"
	ReasonOAuthNotEnabled       ReasonCode = "oauth_not_enabled"
	ReasonRedirectURIInvalid    ReasonCode = "redirect_uri_invalid"
	ReasonRedirectURLInvalid    ReasonCode = "redirect_url_invalid"
	// ReasonUnknown is used for a denial whose code is neither in the header
	// nor recognisable from the reason text.
	ReasonUnknown ReasonCode = "unknown"
)

// InferReason maps a <reason> text to its code, for responses that came
// without the rejection-reason header. It returns ReasonUnknown for text it
// does not recognise and ReasonNone for "".
func InferReason(text string) ReasonCode {
	switch {
	case text == "":
		return ReasonNone
	case strings.HasPrefix(text, "usage limits are exceeded"), strings.EqualFold(text, "usage limits are exceeded"):
		return ReasonLimitsExceeded
	case strings.HasPrefix(text, "application key "):
		return ReasonApplicationKeyInvalid
	case strings.HasPrefix(text, "referrer "):
		return ReasonReferrerNotAllowed
	case text == "application is not active":
		return ReasonApplicationNotActive
	case text == "service is not active":
		return ReasonServiceNotActive
	case text == "oauth is not enabled":
		return ReasonOAuthNotEnabled
	case strings.HasPrefix(text, "redirect_uri "):
		return ReasonRedirectURIInvalid
	case strings.HasPrefix(text, "redirect_url "):
		return ReasonRedirectURLInvalid
	}
	return ReasonUnknown
}

// Period is a usage-limit period.
type Period uint8

// The periods in which 3scale limits usage, shortest first.
const (
	PeriodUnknown Period = iota
	PeriodMinute
	PeriodHour
	PeriodDay
	PeriodWeek
	PeriodMonth
	PeriodYear
	PeriodEternity
)

var periodNames = [...]string{"unknown", "minute", "hour", "day", "week", "month", "year", "eternity"}

// String returns the period's wire name ("minute" … "eternity").
func (p Period) String() string {
	if int(p) < len(periodNames) {
		return periodNames[p]
	}
	return "unknown"
}

// ParsePeriod returns the Period for a wire name, or PeriodUnknown.
func ParsePeriod(s string) Period {
	switch s {
	case "minute":
		return PeriodMinute
	case "hour":
		return PeriodHour
	case "day":
		return PeriodDay
	case "week":
		return PeriodWeek
	case "month":
		return PeriodMonth
	case "year":
		return PeriodYear
	case "eternity":
		return PeriodEternity
	}
	return PeriodUnknown
}

// UsageReport is one usage limit of the application's plan and its counter.
// Eternity reports have zero PeriodStart and PeriodEnd.
type UsageReport struct {
	Metric       string
	Period       Period
	PeriodStart  time.Time // zero for eternity
	PeriodEnd    time.Time // exclusive; zero for eternity
	MaxValue     int64
	CurrentValue int64
	// Exceeded is true when the stored counter (before this call) was
	// already above MaxValue.
	Exceeded bool
}

// Remaining returns MaxValue-CurrentValue, floored at 0 (and without
// overflow: a negative counter counts as 0).
func (r UsageReport) Remaining() int64 {
	cur := max(r.CurrentValue, 0)
	if r.MaxValue <= cur {
		return 0
	}
	return r.MaxValue - cur
}

// RateLimit is the rate-limit state from the 3scale-limit-* response headers
// (limit_headers extension): the number of identical calls still allowed in
// the most constrained period and when that period ends.
type RateLimit struct {
	// Present is false when the backend sent no limit headers (extension
	// off, a denial other than limits_exceeded, or no_body without usage).
	Present bool
	// Unlimited is true when no limit constrains this call (remaining -1).
	// Remaining, MaxValue and Reset are then meaningless.
	Unlimited bool
	// Remaining is the number of identical calls still authorized.
	Remaining int64
	// MaxValue is the limit of the most constrained period; HasMax is false
	// when the backend did not send it.
	MaxValue int64
	HasMax   bool
	// Reset is the time until the most constrained period ends; HasReset is
	// false for eternity limits (they never reset) and when unlimited.
	Reset    time.Duration
	HasReset bool
}

// OAuthApplication is the <application> element of the oauth_* calls.
type OAuthApplication struct {
	ID  string
	Key string // first of the application's keys ("" if none)
	// RedirectURL is the application's configured redirect URL.
	RedirectURL string
}

// AppKeys is the list_app_keys extension's result.
type AppKeys struct {
	App     string
	Service string
	Keys    []string
}

// AuthResult is the outcome of an authorize/authrep call that reached the
// backend and got a status document (HTTP 200 or 409). A denial is a result
// with Authorized false, not an error.
type AuthResult struct {
	Authorized bool
	// Reason is the denial's machine code: from the 3scale-rejection-reason
	// header when present, otherwise inferred from ReasonText. ReasonNone
	// when authorized.
	Reason ReasonCode
	// ReasonText is the backend's human-readable <reason>.
	ReasonText string
	Plan       string
	// UsageReports lists every usage limit of the plan (stored values on
	// denials; including this call's usage on an authorized authrep).
	UsageReports []UsageReport
	// Hierarchy maps a parent metric to its direct children (hierarchy
	// extension); nil when not requested.
	Hierarchy map[string][]string
	// AppKeys is set with the list_app_keys extension.
	AppKeys *AppKeys
	// Application is set on oauth_authorize / oauth_authrep.
	Application *OAuthApplication
	RateLimit   RateLimit
	// StatusCode is the HTTP status (200 or 409).
	StatusCode int
	// NoBody is true when the backend answered with an empty body (no_body
	// extension): only Authorized, Reason, RateLimit and StatusCode are set.
	NoBody bool
}

// LimitsExceeded reports whether the call was denied for its usage limits.
func (r *AuthResult) LimitsExceeded() bool {
	return r != nil && !r.Authorized && r.Reason == ReasonLimitsExceeded
}

// ReportResult is the outcome of a report call: every batch was accepted
// (HTTP 202). The backend validates transactions asynchronously, so
// "accepted" does not mean "valid": unknown applications or metrics show up
// later as integration errors in the 3scale admin portal.
type ReportResult struct {
	// Batches is the number of HTTP requests sent (at most 1000
	// transactions each).
	Batches int
	// Transactions is the number of transactions accepted.
	Transactions int
}

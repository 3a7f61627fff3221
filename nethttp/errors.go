package threescale

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/threescale-go/threescale/core"
)

// Rejection sentinels: every request the engine refuses is answered
// through the [ErrorHandler] with a [*RejectError] that matches exactly one
// of them (errors.Is). They also key [WithResponse].
var (
	// ErrMissingCredentials: the request carries no usable credentials
	// (credentials.ErrMissing or credentials.ErrMalformed, which includes
	// values that are not UTF-8, as 3scale refuses them). Default 401.
	ErrMissingCredentials = errors.New("threescale: authentication parameters missing")
	// ErrDenied: 3scale refused the application (a denial other than
	// limits_exceeded: application_not_active, application_key_invalid,
	// referrer_not_allowed...), or the backend answered that the caller's
	// credentials are unknown (application_not_found, user_key_invalid,
	// app_id and user_key both given). Default 403 with the 3scale reason
	// or message.
	ErrDenied = errors.New("threescale: authentication failed")
	// ErrLimitsExceeded: 3scale denied the call with limits_exceeded.
	// Default 409 with the reason and Retry-After; see WithTooManyRequests.
	// A limit of 0 (a disabled metric) is ErrDenied instead, as in APIcast.
	ErrLimitsExceeded = errors.New("threescale: usage limits exceeded")
	// ErrNoMatch: no mapping rule matched the request. Default 404.
	ErrNoMatch = errors.New("threescale: no mapping rule matched")
	// ErrBackendUnavailable: 3scale could not be reached or did not answer
	// in time (core.ErrBackendUnavailable, core.ErrTimeout). Default 503,
	// unless WithFailOpen.
	ErrBackendUnavailable = errors.New("threescale: backend unavailable")
	// ErrMisconfigured: our own configuration is wrong (service id, token or
	// provider key refused, unknown metric, invalid usage, a request the
	// backend refuses, an extractor or mapper failure). Logged at Error with
	// the 3scale code; default 500 with a body that reveals nothing.
	ErrMisconfigured = errors.New("threescale: misconfigured")
	// ErrCanceled: the client went away (the request's context was
	// cancelled) before a decision was reached. Nothing is sent to 3scale
	// after that; the default handler writes status 499 (nginx's "client
	// closed request") without a body, which nobody will read.
	ErrCanceled = errors.New("threescale: request cancelled")
)

const numRejections = 7

var sentinels = [numRejections]error{
	ErrMissingCredentials, ErrDenied, ErrLimitsExceeded, ErrNoMatch,
	ErrBackendUnavailable, ErrMisconfigured, ErrCanceled,
}

const (
	rMissing = iota
	rDenied
	rLimits
	rNoMatch
	rUnavailable
	rMisconfigured
	rCanceled
)

func rejectionIndex(kind error) (int, bool) {
	for i, s := range sentinels {
		if kind == s {
			return i, true
		}
	}
	return 0, false
}

// StatusClientClosedRequest is the status written for ErrCanceled.
const StatusClientClosedRequest = 499

// Response is the answer to one class of rejection. See WithResponse.
type Response struct {
	Status      int
	ContentType string
	// Body is written verbatim. An empty Body in the defaults means "the
	// 3scale reason or message" (denials) or a fixed text.
	Body string
}

// defaultResponses are the defaults of each rejection; Body "" for
// rDenied and rLimits means "use the 3scale reason".
func defaultResponses() [numRejections]Response {
	const text = "text/plain; charset=utf-8"
	return [numRejections]Response{
		rMissing:       {http.StatusUnauthorized, text, "Authentication parameters missing"},
		rDenied:        {http.StatusForbidden, text, ""},
		rLimits:        {http.StatusConflict, text, ""},
		rNoMatch:       {http.StatusNotFound, text, "No Mapping Rule matched"},
		rUnavailable:   {http.StatusServiceUnavailable, text, "Authorization service unavailable"},
		rMisconfigured: {http.StatusInternalServerError, text, "Internal Server Error"},
		rCanceled:      {StatusClientClosedRequest, text, ""},
	}
}

// fallback bodies when the configured body is "" and 3scale gave no text.
var fallbackBody = [numRejections]string{
	rDenied: "Authentication failed",
	rLimits: "Usage limit exceeded",
}

// RejectError describes a refused request. The engine builds it, with the
// response already resolved from the options, and passes it to the
// [ErrorHandler]. Its text never contains a key, token or secret.
type RejectError struct {
	// Kind is the rejection sentinel (ErrDenied, ErrLimitsExceeded, ...).
	Kind error
	// Response is what the default handler writes: status, content type,
	// body (the 3scale reason for denials unless configured otherwise).
	Response Response
	// Reason is the 3scale machine code of a denial (e.g.
	// "limits_exceeded", "application_not_active") or the backend's error
	// code (e.g. "application_not_found", "service_token_invalid"); "" for
	// rejections reached without the backend.
	Reason string
	// RetryAfter is the time until the exhausted limit resets (limits
	// exceeded only; 0 when unknown). The engine has already set the
	// Retry-After header from it.
	RetryAfter time.Duration
	// Decision is 3scale's answer when there was one (denials), else nil.
	Decision *Decision
	// Err is the cause: the extractor's, mapper's or client's error; nil
	// for denials.
	Err error
}

// Error formats as "threescale: usage limits exceeded: usage limits are
// exceeded" (kind, then reason or cause).
func (e *RejectError) Error() string {
	s := e.Kind.Error()
	switch {
	case e.Err != nil:
		s += ": " + e.Err.Error()
	case e.Decision != nil && e.Decision.ReasonText != "":
		s += ": " + e.Decision.ReasonText
	case e.Reason != "":
		s += ": " + e.Reason
	}
	return s
}

// Is matches the rejection sentinel (errors.Is also reaches the cause
// through Unwrap, e.g. core.ErrApplicationNotFound).
func (e *RejectError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the cause.
func (e *RejectError) Unwrap() error { return e.Err }

// ErrorHandler writes the response to a rejected request. err is always a
// [*RejectError]. It is shared by every adapter: it sees the request's own
// http.ResponseWriter and *http.Request, whatever the framework.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// DefaultErrorHandler writes the RejectError's Response: status, the
// Content-Type header and the body. X-Content-Type-Options: nosniff is set
// as well.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	var re *RejectError
	if !errors.As(err, &re) {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if re.Response.ContentType != "" {
		h.Set("Content-Type", re.Response.ContentType)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if re.Response.Body != "" {
		h.Set("Content-Length", strconv.Itoa(len(re.Response.Body)))
	}
	w.WriteHeader(re.Response.Status)
	if re.Response.Body != "" {
		_, _ = io.WriteString(w, re.Response.Body)
	}
}

// classify maps a Decider error to a rejection class and the 3scale code.
// message reports whether the backend's message may be shown to the caller.
func classify(err error) (idx int, code string, showMessage bool) {
	var ce *core.Error
	if errors.As(err, &ce) {
		code = ce.Code
	}
	switch {
	case errors.Is(err, core.ErrApplicationNotFound),
		errors.Is(err, core.ErrUserKeyInvalid),
		errors.Is(err, core.ErrCredentialsConflict):
		return rDenied, code, true
	case errors.Is(err, core.ErrBackendUnavailable): // includes ErrTimeout
		return rUnavailable, code, false
	case errors.Is(err, core.ErrCanceled):
		return rCanceled, code, false
	default:
		// ErrServiceCredentials, ErrMetricInvalid, ErrUsageValueInvalid,
		// ErrBadRequest, ErrInvalidInput and anything unknown: our side.
		return rMisconfigured, code, false
	}
}

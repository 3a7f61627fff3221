package core

import (
	"errors"
	"strconv"
)

// Sentinel errors, one per class. Every error a call returns is an [*Error]
// whose Is method matches the sentinel of its class, so callers write
// errors.Is(err, core.ErrApplicationNotFound) and errors.As(err, &e) for the
// details.
var (
	// ErrInvalidInput: the call was refused before any network traffic
	// (missing credentials, bad usage, bad options).
	ErrInvalidInput = errors.New("threescale: invalid input")
	// ErrServiceCredentials: the backend refused the service credentials
	// (service_token_invalid, service_id_invalid, service_id_missing,
	// provider_key_invalid, provider_key_invalid_or_service_missing,
	// provider_key_or_service_token_required). A configuration error.
	ErrServiceCredentials = errors.New("threescale: service credentials invalid")
	// ErrApplicationNotFound: application_not_found (404).
	ErrApplicationNotFound = errors.New("threescale: application not found")
	// ErrUserKeyInvalid: user_key_invalid (403).
	ErrUserKeyInvalid = errors.New("threescale: user key invalid")
	// ErrCredentialsConflict: authentication_error, app_id and user_key both
	// given (403).
	ErrCredentialsConflict = errors.New("threescale: app_id and user_key both given")
	// ErrMetricInvalid: metric_invalid (404), an unknown metric name.
	ErrMetricInvalid = errors.New("threescale: metric invalid")
	// ErrUsageValueInvalid: usage_value_invalid (403).
	ErrUsageValueInvalid = errors.New("threescale: usage value invalid")
	// ErrBadRequest: the backend refused the request's shape (400 or 422:
	// bad_request, not_valid_data, end_users_no_longer_supported,
	// content_type_invalid, transactions_*), or another 4xx <error>.
	ErrBadRequest = errors.New("threescale: bad request")
	// ErrBackendUnavailable: network errors, 5xx, and bodies that are not a
	// 3scale document (HTML from a proxy, empty, truncated, unparseable).
	// Timeouts match it too.
	ErrBackendUnavailable = errors.New("threescale: backend unavailable")
	// ErrCanceled: the caller's context was canceled before the answer
	// arrived (the caller gave up; the backend is not known to be down).
	// The cause matches context.Canceled.
	ErrCanceled = errors.New("threescale: call canceled")
	// ErrTimeout: the call did not finish within its deadline (the client's
	// timeout or the context's). It also matches ErrBackendUnavailable.
	ErrTimeout = errors.New("threescale: timeout")
)

// Error is the error type of every call. It carries the class sentinel, the
// HTTP status (0 when no response arrived), the 3scale error code and
// message (for <error> documents) and the underlying cause. Its text never
// contains the service token, provider key, app key or user key: messages
// from the backend are redacted before they are stored.
type Error struct {
	// Op is the call: "authorize", "authrep", "oauth_authorize",
	// "oauth_authrep" or "report".
	Op string
	// Kind is the class sentinel (one of the Err* variables).
	Kind error
	// StatusCode is the HTTP status, 0 if no response was received.
	StatusCode int
	// Code is the 3scale error code, e.g. "application_not_found".
	Code string
	// Message is the backend's message (secrets redacted) or a description.
	Message string
	// Err is the underlying cause (network error, context error, parse error).
	Err error
}

// Error formats as "threescale: authrep: 404 application_not_found: application with id=\"x\" was not found".
func (e *Error) Error() string {
	b := make([]byte, 0, 96)
	b = append(b, "threescale: "...)
	if e.Op != "" {
		b = append(b, e.Op...)
		b = append(b, ": "...)
	}
	if e.StatusCode != 0 {
		b = strconv.AppendInt(b, int64(e.StatusCode), 10)
		b = append(b, ' ')
	}
	if e.Code != "" {
		b = append(b, e.Code...)
		b = append(b, ": "...)
	}
	switch {
	case e.Message != "":
		b = append(b, e.Message...)
	case e.Kind != nil:
		b = append(b, e.Kind.Error()...)
	}
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

// Unwrap returns the cause, so errors.Is(err, context.DeadlineExceeded)
// works.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the class sentinel; timeouts also match ErrBackendUnavailable.
func (e *Error) Is(target error) bool {
	if target == nil {
		return false
	}
	if target == e.Kind {
		return true
	}
	return e.Kind == ErrTimeout && target == ErrBackendUnavailable
}

// kindForCode maps a 3scale <error> code to its class sentinel.
func kindForCode(code string, status int) error {
	switch code {
	case "service_token_invalid", "service_id_invalid", "service_id_missing",
		"provider_key_invalid", "provider_key_invalid_or_service_missing",
		"provider_key_or_service_token_required":
		return ErrServiceCredentials
	case "application_not_found":
		return ErrApplicationNotFound
	case "user_key_invalid":
		return ErrUserKeyInvalid
	case "authentication_error":
		return ErrCredentialsConflict
	case "metric_invalid":
		return ErrMetricInvalid
	case "usage_value_invalid":
		return ErrUsageValueInvalid
	}
	if status >= 500 {
		return ErrBackendUnavailable
	}
	return ErrBadRequest
}

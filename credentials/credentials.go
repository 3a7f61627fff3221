package credentials

import (
	"errors"
	"net/http"
	"strings"

	"github.com/threescale-go/threescale/core"
)

// Extractor finds the application credentials in a request.
//
// Extract returns the credentials, or an error that matches (errors.Is)
// exactly one of [ErrMissing] (nothing found: a chain may try the next
// extractor) or [ErrMalformed] (something was found but cannot be used: a
// chain stops). Extractors are safe for concurrent use and must not consume
// the request body.
type Extractor interface {
	Extract(r *http.Request) (core.Credentials, error)
}

// ExtractorFunc adapts a function to [Extractor], for anything custom (an
// OIDC token validated by your code, a client certificate, a cookie).
// Return an error wrapping [ErrMissing] to let a [FirstOf] chain go on.
type ExtractorFunc func(r *http.Request) (core.Credentials, error)

// Extract calls f(r).
func (f ExtractorFunc) Extract(r *http.Request) (core.Credentials, error) { return f(r) }

var (
	// ErrMissing means the request carries no credentials for the
	// extractor. The middleware answers with the "auth missing" error
	// response (APIcast: 401, porta-exported configurations: 403).
	ErrMissing = errors.New("credentials: missing")
	// ErrMalformed means credentials are present but unusable: app_key
	// without app_id, app_id and user_key both present, an empty value,
	// repeated parameters with different values, an oversized value, control
	// characters, undecodable Basic credentials. The middleware answers
	// with the same "auth missing" response as for ErrMissing, as APIcast
	// does (a middleware may choose 400 instead; errors.Is tells them
	// apart). A chain ([FirstOf]) stops at the first malformed result.
	ErrMalformed = errors.New("credentials: malformed")
)

// Error is the error type returned by the extractors of this package. It
// names where the credential was looked for, never its value.
type Error struct {
	// Kind is ErrMissing or ErrMalformed.
	Kind error
	// Source describes the location, e.g. `query parameter "user_key"`.
	Source string
	// Reason says what is wrong (empty for a plain ErrMissing).
	Reason string
}

// Error formats as `credentials: malformed: query parameter "user_key":
// repeated with different values`.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	} else {
		b.WriteString("credentials: error")
	}
	if e.Source != "" {
		b.WriteString(": ")
		b.WriteString(e.Source)
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Unwrap returns Kind, so errors.Is(err, ErrMissing) works.
func (e *Error) Unwrap() error { return e.Kind }

func malformed(src describer, reason string) error {
	return &Error{Kind: ErrMalformed, Source: src.String(), Reason: reason}
}

// describer is anything that names a location (a Source).
type describer interface{ String() string }

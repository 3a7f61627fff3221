package core

import (
	"errors"
	"fmt"
	"log/slog"
)

// CredentialKind says how an application identifies itself to 3scale.
type CredentialKind uint8

const (
	// KindNone is the zero Credentials value: nothing was given.
	KindNone CredentialKind = iota
	// KindAppID is app_id with an optional app_key (backend_version "2").
	KindAppID
	// KindUserKey is a single user_key (backend_version "1", "API key" mode).
	KindUserKey
	// KindOAuth is an OAuth/OIDC client id (app_id) with an optional client
	// secret (app_key) and redirect URL (backend_version "oauth").
	KindOAuth
)

// String returns "none", "app_id", "user_key" or "oauth".
func (k CredentialKind) String() string {
	switch k {
	case KindAppID:
		return "app_id"
	case KindUserKey:
		return "user_key"
	case KindOAuth:
		return "oauth"
	default:
		return "none"
	}
}

// Credentials identify the calling application. The type cannot express
// combinations the backend rejects: it holds either an app_id (with an
// optional app_key), or a user_key, or an OAuth app_id, never app_id and
// user_key together, and never a user_id (which the backend refuses since
// apisonator 2.95.0).
//
// Build one with [AppID], [UserKey] or [OAuthApp]. The zero value means "no
// credentials"; every call rejects it before touching the network.
//
// String, GoString and LogValue never print app_key or user_key values.
type Credentials struct {
	kind        CredentialKind
	redirectURI bool // send the redirect as redirect_uri instead of redirect_url
	appID       string
	appKey      string
	userKey     string
	redirect    string
	hasAppKey   bool
}

// AppID returns app_id credentials. key may be empty when the application
// has no keys (an empty key is not sent).
func AppID(id, key string) Credentials {
	return Credentials{kind: KindAppID, appID: id, appKey: key, hasAppKey: key != ""}
}

// UserKey returns user_key credentials.
func UserKey(key string) Credentials {
	return Credentials{kind: KindUserKey, userKey: key}
}

// OAuthApp returns OAuth credentials for the oauth_authorize and
// oauth_authrep calls (and for authorize/authrep on OIDC services): clientID
// is sent as app_id, secret (optional, empty = not sent) as app_key.
func OAuthApp(clientID, secret string) Credentials {
	return Credentials{kind: KindOAuth, appID: clientID, appKey: secret, hasAppKey: secret != ""}
}

// WithRedirectURL returns a copy that sends redirect_url=u (OAuth only; the
// backend checks it against the application's redirect URL).
func (c Credentials) WithRedirectURL(u string) Credentials {
	c.redirect, c.redirectURI = u, false
	return c
}

// WithRedirectURI is WithRedirectURL but sends the parameter as redirect_uri;
// the response then names the element <redirect_uri>.
func (c Credentials) WithRedirectURI(u string) Credentials {
	c.redirect, c.redirectURI = u, true
	return c
}

// Kind reports which kind of credentials c holds.
func (c Credentials) Kind() CredentialKind { return c.kind }

// IsZero reports whether c holds no credentials.
func (c Credentials) IsZero() bool { return c.kind == KindNone }

// AppID returns the app_id (or OAuth client id); "" for user_key credentials.
func (c Credentials) AppID() string { return c.appID }

// AppKey returns the app_key (or OAuth client secret) and whether one is set.
func (c Credentials) AppKey() (string, bool) { return c.appKey, c.hasAppKey }

// UserKey returns the user_key; "" for other kinds.
func (c Credentials) UserKey() string { return c.userKey }

// RedirectURL returns the OAuth redirect URL and whether it is sent as
// redirect_uri.
func (c Credentials) RedirectURL() (u string, asURI bool) { return c.redirect, c.redirectURI }

// ErrNoCredentials is returned (wrapped in an [*Error] whose Is also matches
// [ErrInvalidInput]) when a call is made with zero Credentials.
var ErrNoCredentials = errors.New("threescale: no application credentials")

// Validate reports whether c can be sent: a kind is set and its identifying
// value is non-empty. It never includes secret values in the error.
func (c Credentials) Validate() error {
	switch c.kind {
	case KindNone:
		return ErrNoCredentials
	case KindAppID, KindOAuth:
		if c.appID == "" {
			return fmt.Errorf("%w: empty app_id", ErrInvalidInput)
		}
	case KindUserKey:
		if c.userKey == "" {
			return fmt.Errorf("%w: empty user_key", ErrInvalidInput)
		}
	default:
		return fmt.Errorf("%w: unknown credential kind", ErrInvalidInput)
	}
	return nil
}

// String describes c without secrets, e.g. `app_id="abc" app_key=[redacted]`
// or `user_key=[redacted]`.
func (c Credentials) String() string {
	switch c.kind {
	case KindAppID, KindOAuth:
		s := c.kind.String() + " app_id=" + fmt.Sprintf("%q", c.appID)
		if c.hasAppKey {
			s += " app_key=[redacted]"
		}
		return s
	case KindUserKey:
		return "user_key=[redacted]"
	default:
		return "none"
	}
}

// GoString is String, so %#v does not leak secrets either.
func (c Credentials) GoString() string { return "core.Credentials{" + c.String() + "}" }

// LogValue implements [slog.LogValuer] without secrets.
func (c Credentials) LogValue() slog.Value {
	switch c.kind {
	case KindAppID, KindOAuth:
		return slog.GroupValue(slog.String("kind", c.kind.String()), slog.String("app_id", c.appID))
	case KindUserKey:
		return slog.GroupValue(slog.String("kind", c.kind.String()))
	default:
		return slog.StringValue("none")
	}
}

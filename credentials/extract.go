package credentials

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/threescale-go/threescale/core"
)

// DefaultMaxLength is the longest credential value accepted by default
// (porta's limit for user keys and application keys). See [MaxLength].
const DefaultMaxLength = 256

// The 3scale default parameter names.
const (
	DefaultUserKeyName     = "user_key"
	DefaultAppIDName       = "app_id"
	DefaultAppKeyName      = "app_key"
	DefaultAccessTokenName = "access_token"
)

// Location is where a mode looks for its credentials, as 3scale's
// credentials_location.
type Location uint8

const (
	// InQuery reads the URL query parameter, falling back (per value) to
	// the urlencoded form body of POST/PUT/PATCH requests unless
	// [NoFormFallback] is given. The 3scale default.
	InQuery Location = iota + 1
	// InHeaders reads request headers ('-'/'_' and case variants accepted).
	InHeaders
	// InAuthorization reads the Authorization header: Basic user-id and
	// password, or a Bearer token (see the mode constructors).
	InAuthorization
)

// String returns the 3scale name: "query", "headers" or "authorization".
func (l Location) String() string {
	switch l {
	case InQuery:
		return "query"
	case InHeaders:
		return "headers"
	case InAuthorization:
		return "authorization"
	}
	return "unknown"
}

// ParseLocation parses a 3scale credentials_location value ("query",
// "headers" or "authorization"; "" means "query").
func ParseLocation(s string) (Location, error) {
	switch s {
	case "", "query":
		return InQuery, nil
	case "headers":
		return InHeaders, nil
	case "authorization":
		return InAuthorization, nil
	}
	return 0, fmt.Errorf("credentials: unknown credentials location %q (want query, headers or authorization)", s)
}

// Option configures the mode constructors ([UserKeyMode], [AppIDMode],
// [OAuthMode], [Hybrid], [Default]) and the builders ([UserKeyFrom],
// [AppIDFrom], [OAuthFrom]). Options that name parameters or locations
// only affect the modes.
type Option func(*config)

type config struct {
	locs        []Location
	userKey     string
	appID       string
	appKey      string
	accessToken string
	noForm      bool
	strip       bool
	requireKey  bool
	maxLen      int
}

func newConfig(opts []Option) config {
	c := config{
		userKey: DefaultUserKeyName, appID: DefaultAppIDName, appKey: DefaultAppKeyName,
		accessToken: DefaultAccessTokenName, maxLen: DefaultMaxLength,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if len(c.locs) == 0 {
		c.locs = []Location{InQuery}
	}
	return c
}

// Locations sets where the modes look, in order (default: [InQuery]).
// Several locations are tried per value, the first one present wins.
func Locations(locs ...Location) Option {
	return func(c *config) { c.locs = append([]Location(nil), locs...) }
}

// UserKeyName sets the user_key parameter/header name (default "user_key").
func UserKeyName(name string) Option { return func(c *config) { c.userKey = name } }

// AppIDName sets the app_id parameter/header name (default "app_id").
func AppIDName(name string) Option { return func(c *config) { c.appID = name } }

// AppKeyName sets the app_key parameter/header name (default "app_key").
func AppKeyName(name string) Option { return func(c *config) { c.appKey = name } }

// AccessTokenName sets the OAuth parameter/header name (default
// "access_token").
func AccessTokenName(name string) Option { return func(c *config) { c.accessToken = name } }

// NoFormFallback stops [InQuery] from reading the urlencoded form body.
func NoFormFallback() Option { return func(c *config) { c.noForm = true } }

// Strip removes the query parameters or headers the credentials were read
// from (Authorization included), after a successful extraction, from the
// request passed to Extract: r.URL.RawQuery (and r.RequestURI, r.Form) or
// r.Header are edited in place. The middleware forwards that same request
// to the protected handler, so keys do not reach the handler or upstream
// logs. Form bodies are never rewritten. Nothing is stripped on error, and
// inside [OneOf] and [FirstOf] only the credentials finally returned are
// stripped (so stripping cannot hide credentials from another member).
func Strip() Option { return func(c *config) { c.strip = true } }

// MaxLength sets the longest accepted value in bytes (default
// [DefaultMaxLength]); longer values are [ErrMalformed]. n <= 0 keeps the
// default.
func MaxLength(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxLen = n
		}
	}
}

// RequireAppKey makes app_id credentials without an app_key [ErrMissing].
// By default an app_id alone is accepted and the 3scale backend decides
// (applications without keys, mandatory_app_key=false).
func RequireAppKey() Option { return func(c *config) { c.requireKey = true } }

// builder is the Extractor behind every builder and mode.
type builder struct {
	kind    core.CredentialKind
	id, key Source // key may be nil
	cfg     config
	missing error
}

// UserKeyFrom returns an Extractor that reads a user_key from src. Use
// [AnyOf] to try several places.
func UserKeyFrom(src Source, opts ...Option) Extractor {
	return newBuilder(core.KindUserKey, src, nil, opts)
}

// AppIDFrom returns an Extractor for app_id (from id) with an optional
// app_key (from key; nil means none). An app_key without an app_id is
// [ErrMalformed].
func AppIDFrom(id, key Source, opts ...Option) Extractor {
	return newBuilder(core.KindAppID, id, key, opts)
}

// OAuthFrom returns an Extractor for OAuth/OIDC credentials: the client id
// (sent to 3scale as app_id) from id and an optional client secret from
// secret (nil means none).
func OAuthFrom(id, secret Source, opts ...Option) Extractor {
	return newBuilder(core.KindOAuth, id, secret, opts)
}

func newBuilder(kind core.CredentialKind, id, key Source, opts []Option) *builder {
	return &builder{kind: kind, id: id, key: key, cfg: newConfig(opts),
		missing: &Error{Kind: ErrMissing, Source: kind.String() + " (" + id.String() + ")"}}
}

func (b *builder) lookup(src Source, r *http.Request) (string, Source, error) {
	if src == nil {
		return "", nil, nil
	}
	v, from, err := src.Lookup(r)
	if err == nil && from != nil {
		err = checkValue(from, v, b.cfg.maxLen)
	}
	return v, from, err
}

// Extract implements Extractor.
func (b *builder) Extract(r *http.Request) (core.Credentials, error) { return extractAndStrip(b, r) }

// find implements finder: it looks the credentials up without editing r
// and returns the sources to strip (none unless [Strip] was given).
func (b *builder) find(r *http.Request) (core.Credentials, stripList, error) {
	id, idFrom, err := b.lookup(b.id, r)
	if err != nil {
		return core.Credentials{}, stripList{}, err
	}
	key, keyFrom, err := b.lookup(b.key, r)
	if err != nil {
		return core.Credentials{}, stripList{}, err
	}
	switch {
	case idFrom == nil && keyFrom != nil:
		return core.Credentials{}, stripList{}, &Error{Kind: ErrMalformed, Source: keyFrom.String(), Reason: "app_key without app_id"}
	case idFrom == nil:
		return core.Credentials{}, stripList{}, b.missing
	case keyFrom == nil && b.cfg.requireKey && b.key != nil:
		return core.Credentials{}, stripList{}, &Error{Kind: ErrMissing, Source: "app_key (" + b.key.String() + ")"}
	}
	var strip stripList
	if b.cfg.strip {
		strip = stripList{idFrom, keyFrom}
	}
	switch b.kind {
	case core.KindUserKey:
		return core.UserKey(id), strip, nil
	case core.KindOAuth:
		return core.OAuthApp(id, key), strip, nil
	}
	return core.AppID(id, key), strip, nil
}

// stripList holds the sources a successful extraction must strip (nil
// entries are skipped).
type stripList [2]Source

func (l stripList) apply(r *http.Request) {
	for _, s := range l {
		if s != nil {
			s.Strip(r)
		}
	}
}

// finder is implemented by this package's extractors: find decides without
// editing the request, so that a composition ([OneOf], [FirstOf]) strips
// only for the credentials it finally returns, and never on error.
type finder interface {
	find(r *http.Request) (core.Credentials, stripList, error)
}

// findIn runs e through finder when it can, else through Extract (custom
// extractors strip, if at all, by themselves).
func findIn(e Extractor, r *http.Request) (core.Credentials, stripList, error) {
	if f, ok := e.(finder); ok {
		return f.find(r)
	}
	c, err := e.Extract(r)
	return c, stripList{}, err
}

func extractAndStrip(f finder, r *http.Request) (core.Credentials, error) {
	c, strip, err := f.find(r)
	if err != nil {
		return core.Credentials{}, err
	}
	strip.apply(r)
	return c, nil
}

// sources returns the Source for a parameter name over the configured
// locations; auth is what InAuthorization contributes (nil for nothing).
func (c *config) sources(name string, auth ...Source) Source {
	var srcs []Source
	for _, l := range c.locs {
		switch l {
		case InQuery:
			srcs = append(srcs, Query(name))
			if !c.noForm {
				srcs = append(srcs, Form(name))
			}
		case InHeaders:
			srcs = append(srcs, Header(name))
		case InAuthorization:
			srcs = append(srcs, auth...)
		}
	}
	if len(srcs) == 1 {
		return srcs[0]
	}
	if len(srcs) == 0 {
		return nil
	}
	return AnyOf(srcs...)
}

// UserKeyMode returns the 3scale "API key" (backend_version 1) extractor.
// With [InQuery] (default) it reads the query parameter user_key, then the
// urlencoded form body; with [InHeaders] the header user_key (User-Key,
// user-key…); with [InAuthorization] the Basic user-id, then the Basic
// password, then a Bearer token, as APIcast.
func UserKeyMode(opts ...Option) Extractor {
	c := newConfig(opts)
	return &builder{kind: core.KindUserKey, cfg: c, id: c.sources(c.userKey, BasicUser(), BasicPassword(), Bearer()),
		missing: &Error{Kind: ErrMissing, Source: "user_key"}}
}

// AppIDMode returns the 3scale "App ID + App Key" (backend_version 2)
// extractor: app_id and app_key from the configured locations (each value
// looked up on its own, so app_id may come from the query and app_key from
// the form body). With [InAuthorization] app_id is the Basic user-id (or a
// Bearer token) and app_key the Basic password. The app_key is optional
// unless [RequireAppKey] is given; an app_key without app_id is
// [ErrMalformed].
func AppIDMode(opts ...Option) Extractor {
	c := newConfig(opts)
	return &builder{kind: core.KindAppID, cfg: c,
		id:      c.sources(c.appID, BasicUser(), Bearer()),
		key:     c.sources(c.appKey, BasicPassword()),
		missing: &Error{Kind: ErrMissing, Source: "app_id"}}
}

// OAuthMode returns the OAuth/OIDC extractor (backend_version "oauth"):
// the client id is read from the access_token parameter/header in the
// configured locations, and an "Authorization: Bearer" token is always
// accepted as a fallback (RFC 6750, as APIcast). The value is sent to
// 3scale as the OAuth app_id; it is not validated here. For OIDC, validate
// the JWT in an [ExtractorFunc] and return core.OAuthApp(azp, "").
func OAuthMode(opts ...Option) Extractor {
	c := newConfig(opts)
	id := c.sources(c.accessToken, Bearer())
	if !containsLoc(c.locs, InAuthorization) {
		if id == nil {
			id = Bearer()
		} else {
			id = AnyOf(id, Bearer())
		}
	}
	return &builder{kind: core.KindOAuth, cfg: c, id: id,
		missing: &Error{Kind: ErrMissing, Source: "access_token"}}
}

func containsLoc(locs []Location, l Location) bool {
	for _, x := range locs {
		if x == l {
			return true
		}
	}
	return false
}

// BasicAppID returns an Extractor for "Authorization: Basic" credentials
// used as app_id:app_key (split at the last colon; the password is
// optional).
func BasicAppID(opts ...Option) Extractor { return AppIDFrom(BasicUser(), BasicPassword(), opts...) }

// BasicUserKey returns an Extractor for a user_key sent as the Basic
// user-id or, when that is empty (":key"), as the password.
func BasicUserKey(opts ...Option) Extractor {
	return UserKeyFrom(AnyOf(BasicUser(), BasicPassword()), opts...)
}

// BearerOAuth returns an Extractor that takes the "Authorization: Bearer"
// token as the OAuth/OIDC client id (app_id), unvalidated.
func BearerOAuth(opts ...Option) Extractor { return OAuthFrom(Bearer(), nil, opts...) }

// Default returns the 3scale default extractor: [UserKeyMode] with the
// user_key query parameter and the urlencoded form body fallback for
// POST/PUT/PATCH, as APIcast.
func Default() Extractor { return UserKeyMode() }

// Hybrid accepts either a user_key or app_id (+ app_key) with the same
// options, and rejects a request carrying both as [ErrMalformed]. It is
// [OneOf]([UserKeyMode](opts...), [AppIDMode](opts...)). It suits the
// query and headers locations; with [InAuthorization] the same Basic
// credentials satisfy both modes and are rejected.
func Hybrid(opts ...Option) Extractor { return OneOf(UserKeyMode(opts...), AppIDMode(opts...)) }

// FirstOf returns an Extractor that tries exts in order and returns the
// first credentials found. An [ErrMalformed] result stops the chain (so a
// broken key in the query is not silently replaced by a header); when every
// extractor reports [ErrMissing], the error lists where it looked.
func FirstOf(exts ...Extractor) Extractor { return firstOf(exts) }

type firstOf []Extractor

func (f firstOf) Extract(r *http.Request) (core.Credentials, error) { return extractAndStrip(f, r) }

func (f firstOf) find(r *http.Request) (core.Credentials, stripList, error) {
	var missing []error
	for _, e := range f {
		c, strip, err := findIn(e, r)
		if err == nil || !errors.Is(err, ErrMissing) {
			return c, strip, err
		}
		missing = append(missing, err)
	}
	return core.Credentials{}, stripList{}, joinMissing(missing)
}

// joinMissing combines several ErrMissing errors into one.
func joinMissing(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	srcs := make([]string, 0, len(errs))
	for _, err := range errs {
		var e *Error
		if errors.As(err, &e) && e.Source != "" {
			srcs = append(srcs, e.Source)
		}
	}
	return &Error{Kind: ErrMissing, Source: strings.Join(srcs, "; ")}
}

// OneOf returns an Extractor that runs every extractor and requires exactly
// one to find credentials: two or more is [ErrMalformed] (e.g. "app_id and
// user_key both present"), none is [ErrMissing], and any malformed result
// is returned as is. Use it where 3scale would refuse ambiguous
// credentials; use [FirstOf] for a precedence order.
func OneOf(exts ...Extractor) Extractor { return oneOf(exts) }

type oneOf []Extractor

func (o oneOf) Extract(r *http.Request) (core.Credentials, error) { return extractAndStrip(o, r) }

// find runs every member without stripping (so a member's Strip cannot
// hide credentials from the next one) and returns what the single winner
// must strip.
func (o oneOf) find(r *http.Request) (core.Credentials, stripList, error) {
	var (
		found   core.Credentials
		strip   stripList
		missing []error
	)
	for _, e := range o {
		c, s, err := findIn(e, r)
		switch {
		case err == nil && found.IsZero():
			found, strip = c, s
		case err == nil:
			return core.Credentials{}, stripList{}, &Error{Kind: ErrMalformed,
				Source: found.Kind().String() + " and " + c.Kind().String(), Reason: "both present"}
		case errors.Is(err, ErrMissing):
			missing = append(missing, err)
		default:
			return core.Credentials{}, stripList{}, err
		}
	}
	if !found.IsZero() {
		return found, strip, nil
	}
	return core.Credentials{}, stripList{}, joinMissing(missing)
}

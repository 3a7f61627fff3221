package threescale

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/metrics"
)

// Engine puts 3scale in front of HTTP handlers. Build it once with [New],
// share it (it is safe for concurrent use), and [Engine.Close] it on
// shutdown. Per-route views made with [Engine.With] share its client and
// decision strategy.
type Engine struct {
	cfg       config
	decider   Decider
	logger    *slog.Logger
	serviceID string
	root      bool

	closeOnce *sync.Once
	closeErr  *error
}

// New builds an Engine. Without WithClient it builds a core.Client from
// WithBackendURL, WithServiceToken or WithProviderKey, WithTimeout and
// WithClientOptions. Invalid options are reported here, never per request.
func New(opts ...Option) (*Engine, error) {
	cfg := config{
		extractor:    credentials.Default(),
		mapper:       defaultMapper,
		responses:    defaultResponses(),
		errorHandler: DefaultErrorHandler,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	e := &Engine{cfg: cfg, root: true, closeOnce: new(sync.Once), closeErr: new(error)}
	e.logger = cfg.logger
	if e.logger == nil {
		e.logger = slog.Default()
	}
	client := cfg.client
	if cfg.decider != nil {
		e.decider = cfg.decider
	} else {
		if client == nil {
			var err error
			if client, err = core.NewClient(cfg.clientOpts...); err != nil {
				return nil, err
			}
			if s := client.Service(); s.Token == "" && s.ProviderKey == "" {
				return nil, fmt.Errorf("%w: no service credentials: use WithServiceToken, WithProviderKey or WithClient", core.ErrInvalidInput)
			}
		}
		strategy := cfg.strategy
		if strategy == nil {
			strategy = AuthRep
		}
		d, err := strategy(client)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return nil, fmt.Errorf("%w: strategy returned a nil Decider", core.ErrInvalidInput)
		}
		e.decider = d
	}
	if client != nil {
		e.serviceID = client.Service().ID
	}
	e.cfg.client, e.cfg.clientOpts = nil, nil // not needed any more
	return e, nil
}

// Middleware builds an Engine and returns its net/http middleware. It
// panics if the options are invalid, like regexp.MustCompile: it is meant
// for set-up code, and never panics while serving. The engine is not
// reachable for Close, so use it only with strategies that run nothing in
// the background (the default, AuthRep, and AuthorizeOnly); otherwise use
// New and Engine.Handler.
func Middleware(opts ...Option) func(http.Handler) http.Handler {
	e, err := New(opts...)
	if err != nil {
		panic("threescale.Middleware: " + err.Error())
	}
	return e.Handler
}

// With returns a per-route view of e: same client, strategy, logger and
// lifecycle, with opts applied on top of e's configuration, e.g.
// e.With(WithUsage(core.Usage{"product_reads": 1})) or
// e.With(WithExempt(...)). Engine-only options are an error. Closing a
// view does nothing; close e. Without options, With returns e itself.
func (e *Engine) With(opts ...Option) (*Engine, error) {
	if e == nil {
		return nil, fmt.Errorf("%w: nil Engine", core.ErrInvalidInput)
	}
	if len(opts) == 0 {
		return e, nil
	}
	v := *e
	v.root = false
	v.cfg.route = true
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&v.cfg); err != nil {
			return nil, err
		}
	}
	v.cfg.route = false
	return &v, nil
}

// MustWith is With that panics on invalid options, for set-up code.
func (e *Engine) MustWith(opts ...Option) *Engine {
	v, err := e.With(opts...)
	if err != nil {
		panic("threescale: With: " + err.Error())
	}
	return v
}

// Handler returns next protected by e: the net/http middleware. It
// panics at once, not while serving, if e or next is nil.
func (e *Engine) Handler(next http.Handler) http.Handler {
	if e == nil || next == nil {
		panic("threescale: Engine.Handler: nil Engine or handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r, ok := e.Check(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// Close closes the decision strategy, flushing anything pending, within
// ctx. It is safe to call more than once; later calls return the first
// result. Requests checked after Close get whatever the strategy answers
// then (AuthRep keeps working). On a per-route view Close does nothing.
func (e *Engine) Close(ctx context.Context) error {
	if !e.root {
		return nil
	}
	e.closeOnce.Do(func() { *e.closeErr = e.decider.Close(ctx) })
	return *e.closeErr
}

// Check is the framework-neutral step every adapter calls: it decides
// about r and either returns the request to continue with (carrying the
// Decision in its context, rate-limit headers already set on w) and true,
// or writes the rejection through the ErrorHandler and returns false, in
// which case the adapter must stop its chain.
//
// Order: exemption, credentials, mapping, then 3scale. Missing
// credentials and unmapped requests never reach 3scale.
func (e *Engine) Check(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	c := &e.cfg
	if c.exempt != nil && c.exempt(r) {
		return r, true
	}
	creds, credErr := c.extractor.Extract(r)
	match, mapErr := c.mapper.Map(r)
	if mapErr == nil && match.Exempt {
		return r, true
	}
	if credErr == nil {
		credErr = validate(creds)
	}
	if credErr != nil {
		if errors.Is(credErr, credentials.ErrMissing) || errors.Is(credErr, credentials.ErrMalformed) || errors.Is(credErr, core.ErrNoCredentials) || errors.Is(credErr, core.ErrInvalidInput) {
			if e.debug(r.Context()) {
				e.logger.LogAttrs(r.Context(), slog.LevelDebug, "threescale: no usable credentials", slog.Any("error", credErr))
			}
			return nil, e.reject(w, r, rMissing, "", nil, credErr)
		}
		e.logger.LogAttrs(r.Context(), slog.LevelError, "threescale: credentials extractor failed", slog.Any("error", credErr))
		return nil, e.reject(w, r, rMisconfigured, "", nil, credErr)
	}
	if mapErr != nil {
		if errors.Is(mapErr, metrics.ErrNoMatch) {
			return nil, e.reject(w, r, rNoMatch, "", nil, mapErr)
		}
		e.logger.LogAttrs(r.Context(), slog.LevelError, "threescale: usage mapper failed", slog.Any("error", mapErr))
		return nil, e.reject(w, r, rMisconfigured, "", nil, mapErr)
	}
	if len(match.Usage) == 0 {
		return nil, e.reject(w, r, rNoMatch, "", nil, nil)
	}

	ctx := r.Context()
	if ctx.Err() == context.Canceled {
		return nil, e.reject(w, r, rCanceled, "", nil, ctx.Err())
	}
	q := Query{Credentials: creds, Usage: match.Usage}
	if c.referrer != nil {
		// The referrer usually comes from the client: 3scale refuses
		// invalid UTF-8 (not_valid_data), which would read as our error.
		q.Referrer = strings.ToValidUTF8(c.referrer(r), "\uFFFD")
	}
	d, err := e.decider.Decide(ctx, q)
	if err != nil {
		if ctx.Err() == context.Canceled {
			e.logger.LogAttrs(ctx, slog.LevelDebug, "threescale: request cancelled while waiting for 3scale")
			return nil, e.reject(w, r, rCanceled, "", nil, err)
		}
		idx, code, show := classify(err)
		switch idx {
		case rUnavailable:
			if c.failOpen {
				e.logger.LogAttrs(ctx, slog.LevelWarn, "threescale: backend unavailable, failing open",
					slog.Any("app", creds), slog.Any("error", err))
				d = &Decision{Allowed: true, Source: SourceFailOpen}
				break
			}
			e.logger.LogAttrs(ctx, slog.LevelWarn, "threescale: backend unavailable",
				slog.Any("app", creds), slog.Any("error", err))
			return nil, e.reject(w, r, rUnavailable, code, nil, err)
		case rCanceled: // the decider gave up on its own context
			return nil, e.reject(w, r, rCanceled, "", nil, err)
		case rMisconfigured:
			e.logger.LogAttrs(ctx, slog.LevelError, "threescale: configuration error, check the service id, token and metrics",
				slog.String("service_id", e.serviceID), slog.String("code", code), slog.Any("error", err))
			return nil, e.reject(w, r, rMisconfigured, code, nil, err)
		default: // caller's credentials unknown to 3scale
			if e.debug(ctx) {
				e.logger.LogAttrs(ctx, slog.LevelDebug, "threescale: credentials refused",
					slog.Any("app", creds), slog.String("code", code))
			}
			msg := ""
			var ce *core.Error
			if show && errors.As(err, &ce) {
				msg = redact(ce.Message, creds)
			}
			return nil, e.rejectWithBody(w, r, rDenied, code, nil, err, msg)
		}
	}
	if d == nil {
		err := errors.New("threescale: decider returned neither a decision nor an error")
		e.logger.LogAttrs(ctx, slog.LevelError, err.Error())
		return nil, e.reject(w, r, rMisconfigured, "", nil, err)
	}
	e.complete(d, creds, &match)
	if !c.noRateLimit {
		setRateLimitHeaders(w.Header(), &d.RateLimit)
	}
	if !d.Allowed {
		idx := rDenied
		if d.Reason == core.ReasonLimitsExceeded && !(d.RateLimit.HasMax && d.RateLimit.MaxValue == 0) {
			idx = rLimits
		}
		if e.debug(ctx) {
			e.logger.LogAttrs(ctx, slog.LevelDebug, "threescale: denied",
				slog.Any("app", creds), slog.String("reason", string(d.Reason)))
		}
		return nil, e.reject(w, r, idx, string(d.Reason), d, nil)
	}
	return r.WithContext(NewContext(ctx, d)), true
}

// errNotUTF8 is the credentials error for values that are not UTF-8.
var errNotUTF8 = &credentials.Error{Kind: credentials.ErrMalformed, Reason: "not valid UTF-8"}

// validate is creds.Validate plus a UTF-8 check: 3scale refuses invalid
// UTF-8 with not_valid_data, which the engine would otherwise report as
// its own misconfiguration (500, logged at Error) at any client's will.
func validate(creds core.Credentials) error {
	if err := creds.Validate(); err != nil {
		return err
	}
	k, _ := creds.AppKey()
	if !utf8.ValidString(creds.AppID()) || !utf8.ValidString(k) || !utf8.ValidString(creds.UserKey()) {
		return errNotUTF8
	}
	return nil
}

// debug reports whether debug lines are logged, so that per-request
// debug attributes (which allocate) are built only then.
func (e *Engine) debug(ctx context.Context) bool { return e.logger.Enabled(ctx, slog.LevelDebug) }

// complete fills the request-derived fields of d.
func (e *Engine) complete(d *Decision, creds core.Credentials, m *metrics.Match) {
	d.Usage, d.Rules, d.Params = m.Usage, m.Rules, m.Params
	d.CredentialKind = creds.Kind()
	d.ReasonText = redact(d.ReasonText, creds)
	if d.AppID == "" {
		d.AppID = creds.AppID()
	}
	if d.ServiceID == "" {
		d.ServiceID = e.serviceID
	}
}

func (e *Engine) reject(w http.ResponseWriter, r *http.Request, idx int, reason string, d *Decision, cause error) bool {
	body := ""
	if d != nil {
		body = d.ReasonText
	}
	return e.rejectWithBody(w, r, idx, reason, d, cause, body)
}

// rejectWithBody resolves the response and calls the error handler;
// dynamic is the 3scale text used when the configured body is empty. It
// returns false for Check's convenience.
func (e *Engine) rejectWithBody(w http.ResponseWriter, r *http.Request, idx int, reason string, d *Decision, cause error, dynamic string) bool {
	resp := e.cfg.responses[idx]
	if resp.Body == "" {
		resp.Body = dynamic
		if resp.Body == "" {
			resp.Body = fallbackBody[idx]
		}
	}
	re := &RejectError{Kind: sentinels[idx], Response: resp, Reason: reason, Decision: d, Err: cause}
	if idx == rLimits && d != nil && d.RateLimit.HasReset {
		re.RetryAfter = d.RateLimit.Reset
		w.Header().Set("Retry-After", seconds(d.RateLimit.Reset))
	}
	e.cfg.errorHandler(w, r, re)
	return false
}

// redact removes the caller's key from a backend text: 3scale echoes it
// (`application key "k" is invalid`), and it must reach neither the
// response body nor the logs. Quoted occurrences are always replaced;
// bare ones when the key is long enough not to mangle ordinary words.
func redact(s string, creds core.Credentials) string {
	if s == "" {
		return s
	}
	k, _ := creds.AppKey()
	for _, secret := range [2]string{k, creds.UserKey()} {
		if secret == "" {
			continue
		}
		s = strings.ReplaceAll(s, `"`+secret+`"`, `"[redacted]"`)
		if len(secret) >= 6 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// Canonical header keys, so that setting them needs no canonicalisation.
var (
	hdrLimit     = http.CanonicalHeaderKey("RateLimit-Limit")
	hdrRemaining = http.CanonicalHeaderKey("RateLimit-Remaining")
	hdrReset     = http.CanonicalHeaderKey("RateLimit-Reset")
)

// setRateLimitHeaders writes the draft-ietf-httpapi-ratelimit-headers
// fields when the backend reported a limit, with one allocation for the
// three value slices.
func setRateLimitHeaders(h http.Header, rl *core.RateLimit) {
	if !rl.Present || rl.Unlimited {
		return
	}
	vals := make([]string, 3)
	vals[1] = strconv.FormatInt(max(rl.Remaining, 0), 10)
	h[hdrRemaining] = vals[1:2:2]
	if rl.HasMax {
		vals[0] = strconv.FormatInt(max(rl.MaxValue, 0), 10)
		h[hdrLimit] = vals[0:1:1]
	}
	if rl.HasReset {
		vals[2] = seconds(rl.Reset)
		h[hdrReset] = vals[2:3:3]
	}
}

// seconds formats d as whole seconds, rounded up, never negative.
func seconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

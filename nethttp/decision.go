package threescale

import (
	"context"
	"fmt"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/metrics"
)

// Source says how a Decision was reached.
type Source string

// Sources of a decision. Strategies may define more (e.g. "cache").
const (
	// SourceBackend: 3scale answered this request (authrep or authorize).
	SourceBackend Source = "backend"
	// SourceFailOpen: 3scale could not be reached and WithFailOpen let the
	// request through; Plan, UsageReports and RateLimit are empty.
	SourceFailOpen Source = "fail-open"
)

// Decision is what the engine learned about a request. Allowed requests
// carry it in their context ([FromContext]); rejected ones in
// [RejectError.Decision] when 3scale answered. Treat it as read-only: it
// may share maps with the mapper's result and the strategy's cache.
type Decision struct {
	// Allowed is 3scale's verdict (or true for SourceFailOpen).
	Allowed bool
	// Source says how the decision was reached.
	Source Source
	// ServiceID is the 3scale service the request was checked against.
	ServiceID string
	// CredentialKind is how the application identified itself.
	CredentialKind core.CredentialKind
	// AppID is the application id (app_id or OAuth client id). It is empty
	// for user_key credentials unless the strategy learned the id; see
	// Identity. Keys are never stored here.
	AppID string
	// Plan is the application plan's name ("" if the backend did not say).
	Plan string
	// Usage is the usage sent to 3scale for this request. It is shared
	// with other requests of the same route: never modify it.
	Usage core.Usage
	// UsageReports are the plan's limits and counters, when the backend
	// sent them.
	UsageReports []core.UsageReport
	// RateLimit is the rate-limit state the backend reported.
	RateLimit core.RateLimit
	// Reason and ReasonText explain a denial (empty when allowed).
	Reason     core.ReasonCode
	ReasonText string
	// Rules are the mapping rules that matched and Params the values they
	// captured (nil for static usage).
	Rules  []metrics.MatchedRule
	Params map[string]string
}

// RedactedUserKey is what Identity returns for user_key callers whose
// application id is unknown.
const RedactedUserKey = "user_key:[redacted]"

// Identity names the caller for logs and responses without revealing a
// secret: the AppID, or RedactedUserKey for user_key callers, or "" when
// there are no credentials (fail-open without an id cannot happen: the
// credentials are checked first).
func (d *Decision) Identity() string {
	switch {
	case d == nil:
		return ""
	case d.AppID != "":
		return d.AppID
	case d.CredentialKind == core.KindUserKey:
		return RedactedUserKey
	}
	return ""
}

// DecisionFromResult converts a backend answer into a Decision (Allowed,
// Plan, UsageReports, RateLimit, Reason, ReasonText, and AppID for OAuth
// answers). The engine fills the request-derived fields (Usage, Rules,
// Params, CredentialKind, AppID, ServiceID) afterwards. For strategies.
func DecisionFromResult(res *core.AuthResult, src Source) *Decision {
	d := &Decision{
		Allowed:      res.Authorized,
		Source:       src,
		Plan:         res.Plan,
		UsageReports: res.UsageReports,
		RateLimit:    res.RateLimit,
		Reason:       res.Reason,
		ReasonText:   res.ReasonText,
	}
	if res.Application != nil {
		d.AppID = res.Application.ID
	} else if res.AppKeys != nil {
		d.AppID = res.AppKeys.App
	}
	return d
}

// Query is what the engine asks a Decider about one request.
type Query struct {
	// Credentials identify the application (validated: never zero).
	Credentials core.Credentials
	// Usage is the usage the request maps to (never empty). Read-only.
	Usage core.Usage
	// Referrer is sent to 3scale when WithReferrer is set.
	Referrer string
}

// Decider reaches the decision for one request. The engine calls Decide
// once per protected request, concurrently, and Close once when the engine
// is closed. A denial by 3scale is a Decision with Allowed false, not an
// error; errors are the client's (*core.Error, matching the core
// sentinels) and are mapped to responses by the engine. Implementations
// must honour ctx (the request's context) and must not keep q.Usage beyond
// the call unless they copy it.
type Decider interface {
	Decide(ctx context.Context, q Query) (*Decision, error)
	// Close flushes anything pending (reports) and stops background work.
	Close(ctx context.Context) error
}

// Strategy builds a Decider from the engine's client; see WithStrategy.
// [AuthRep] and [AuthorizeOnly] are strategies.
type Strategy func(client *core.Client) (Decider, error)

// AuthRep is the default strategy: one synchronous authrep per request
// (oauth_authrep for OAuth credentials). Usage is reported by 3scale as
// part of the authorization, so nothing is pending at Close.
func AuthRep(client *core.Client) (Decider, error) {
	return newSync(client, false)
}

// AuthorizeOnly is the strategy that calls authorize (oauth_authorize for
// OAuth credentials) and reports nothing: use it when usage is reported
// elsewhere, or to check access without counting.
func AuthorizeOnly(client *core.Client) (Decider, error) {
	return newSync(client, true)
}

type syncDecider struct {
	c             *core.Client
	authorizeOnly bool
}

func newSync(client *core.Client, authorizeOnly bool) (Decider, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", core.ErrInvalidInput)
	}
	return &syncDecider{c: client, authorizeOnly: authorizeOnly}, nil
}

func (d *syncDecider) Decide(ctx context.Context, q Query) (*Decision, error) {
	req := core.AuthRequest{Credentials: q.Credentials, Usage: q.Usage, Referrer: q.Referrer}
	var (
		res *core.AuthResult
		err error
	)
	oauth := q.Credentials.Kind() == core.KindOAuth
	switch {
	case oauth && d.authorizeOnly:
		res, err = d.c.OAuthAuthorize(ctx, req)
	case oauth:
		res, err = d.c.OAuthAuthRep(ctx, req)
	case d.authorizeOnly:
		res, err = d.c.Authorize(ctx, req)
	default:
		res, err = d.c.AuthRep(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	return DecisionFromResult(res, SourceBackend), nil
}

func (d *syncDecider) Close(context.Context) error { return nil }

type ctxKey struct{}

// NewContext returns a copy of ctx carrying d. The engine does this for
// every allowed request; it is exported for tests of handlers.
func NewContext(ctx context.Context, d *Decision) context.Context {
	return context.WithValue(ctx, ctxKey{}, d)
}

// FromContext returns the Decision of an allowed request, reading the
// request's context (r.Context(), also under gin and echo). ok is false
// for unprotected or exempt requests.
func FromContext(ctx context.Context) (d *Decision, ok bool) {
	d, ok = ctx.Value(ctxKey{}).(*Decision)
	return d, ok && d != nil
}

package threescale

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/metrics"
)

// Option configures an [Engine] (with [New] or [Middleware]) or a per-route
// view of it (with [Engine.With] and the adapters' per-route helpers). It is
// the only option type of the package and of every adapter.
//
// Options marked "engine only" configure the 3scale client or the decision
// strategy, which every route shares; passing one to [Engine.With] is an
// error.
type Option func(*config) error

// config is everything an Engine (or one of its per-route views) needs.
type config struct {
	route bool // applying per-route options (Engine.With)

	// engine only
	client     *core.Client
	clientOpts []core.Option
	strategy   Strategy
	decider    Decider
	logger     *slog.Logger

	// per route
	extractor    credentials.Extractor
	mapper       metrics.Mapper
	exempt       func(*http.Request) bool
	responses    [numRejections]Response
	errorHandler ErrorHandler
	noRateLimit  bool
	failOpen     bool
	referrer     func(*http.Request) string
}

var errEngineOnly = errors.New("threescale: option applies to the whole engine, not to a route")

func engineOnly(c *config, name string) error {
	if c.route {
		return fmt.Errorf("%w: %s", errEngineOnly, name)
	}
	return nil
}

// WithBackendURL sets the 3scale Service Management API URL (default
// core.DefaultBackendURL, the 3scale SaaS backend), e.g.
// "http://127.0.0.1:3000" for a simulator or an on-premises backend.
// Engine only; ignored with WithClient.
func WithBackendURL(u string) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithBackendURL"); err != nil {
			return err
		}
		c.clientOpts = append(c.clientOpts, core.WithBackendURL(u))
		return nil
	}
}

// WithServiceToken identifies the 3scale service (your API) by service id
// and service token, the preferred credentials. Engine only; ignored with
// WithClient. One of WithServiceToken, WithProviderKey or WithClient is
// required.
func WithServiceToken(serviceID, token string) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithServiceToken"); err != nil {
			return err
		}
		c.clientOpts = append(c.clientOpts, core.WithServiceToken(serviceID, token))
		return nil
	}
}

// WithProviderKey identifies the 3scale service by the account's provider
// key (legacy) and an optional service id ("" = the account's default
// service). Engine only; ignored with WithClient.
func WithProviderKey(providerKey, serviceID string) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithProviderKey"); err != nil {
			return err
		}
		c.clientOpts = append(c.clientOpts, core.WithProviderKey(providerKey, serviceID))
		return nil
	}
}

// WithTimeout bounds each backend call (default core.DefaultTimeout, 10 s).
// The request's own context bounds it too. Engine only; ignored with
// WithClient.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithTimeout"); err != nil {
			return err
		}
		c.clientOpts = append(c.clientOpts, core.WithTimeout(d))
		return nil
	}
}

// WithClientOptions passes further options to core.NewClient (HTTP client,
// extensions, user agent...) when the engine builds its own client. Engine
// only; ignored with WithClient.
func WithClientOptions(opts ...core.Option) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithClientOptions"); err != nil {
			return err
		}
		c.clientOpts = append(c.clientOpts, opts...)
		return nil
	}
}

// WithClient makes the engine use client instead of building one from
// WithBackendURL, WithServiceToken, WithProviderKey, WithTimeout and
// WithClientOptions (which are then ignored). The client must carry the
// service credentials. Engine only; nil is an error.
func WithClient(client *core.Client) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithClient"); err != nil {
			return err
		}
		if client == nil {
			return fmt.Errorf("%w: WithClient(nil)", core.ErrInvalidInput)
		}
		c.client = client
		return nil
	}
}

// WithStrategy sets how decisions are reached (default [AuthRep]: one
// synchronous authrep per request). The strategy is built once, from the
// engine's client, by New. Engine only; nil restores the default.
func WithStrategy(s Strategy) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithStrategy"); err != nil {
			return err
		}
		c.strategy = s
		return nil
	}
}

// WithDecider makes the engine use d, built elsewhere, instead of a
// [Strategy]. The engine's Close closes d. Engine only; nil is an error.
func WithDecider(d Decider) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithDecider"); err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("%w: WithDecider(nil)", core.ErrInvalidInput)
		}
		c.decider = d
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()). Configuration
// errors are logged at Error, backend outages at Warn, denials and
// cancelled requests at Debug. Nothing logged contains a key, token or
// secret. Engine only; nil restores the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if err := engineOnly(c, "WithLogger"); err != nil {
			return err
		}
		c.logger = l
		return nil
	}
}

// WithCredentials sets where the application credentials are read
// (default credentials.Default(): the user_key query parameter). nil
// restores the default.
func WithCredentials(x credentials.Extractor) Option {
	return func(c *config) error {
		if x == nil {
			x = credentials.Default()
		}
		c.extractor = x
		return nil
	}
}

// WithMapper sets how a request maps to 3scale usage (default: hits=1 for
// every request, as metrics.Hits()). nil restores the default.
func WithMapper(m metrics.Mapper) Option {
	return func(c *config) error {
		if m == nil {
			m = defaultMapper
		}
		c.mapper = m
		return nil
	}
}

// WithUsage reports the same usage for every request, typically on one
// route: WithUsage(core.Usage{"product_reads": 1}). It is
// WithMapper(metrics.Static(u)), except that every request shares one
// copy of u (Decision.Usage is read-only) instead of cloning it. The usage
// is validated here.
func WithUsage(u core.Usage) Option {
	return func(c *config) error {
		if len(u) == 0 {
			return fmt.Errorf("%w: WithUsage: empty usage", core.ErrInvalidInput)
		}
		if err := u.Validate(); err != nil {
			return err
		}
		c.mapper = staticUsage(u.Clone())
		return nil
	}
}

// defaultMapper maps every request to hits=1.
var defaultMapper = staticUsage(core.Hits(1))

// staticUsage maps every request to u without copying it per request:
// the engine, deciders (Query.Usage) and handlers (Decision.Usage) treat
// usage as read-only.
func staticUsage(u core.Usage) metrics.Mapper {
	m := metrics.Match{Usage: u}
	return metrics.MapperFunc(func(*http.Request) (metrics.Match, error) { return m, nil })
}

// WithExempt lets requests for which skip returns true through without
// credentials, mapping or 3scale call (health checks, public pages); their
// context carries no Decision. A mapper can exempt requests too
// (metrics.Match.Exempt). nil removes the predicate.
func WithExempt(skip func(r *http.Request) bool) Option {
	return func(c *config) error {
		c.exempt = skip
		return nil
	}
}

// WithResponse replaces fields of the default response for one rejection
// class, identified by its sentinel (ErrMissingCredentials, ErrDenied,
// ErrLimitsExceeded, ErrNoMatch, ErrBackendUnavailable, ErrMisconfigured,
// ErrCanceled). Zero fields of r keep their default: a zero Status keeps
// the status, an empty ContentType the content type, an empty Body the
// default body (which, for denials, is the 3scale reason).
func WithResponse(kind error, r Response) Option {
	return func(c *config) error {
		i, ok := rejectionIndex(kind)
		if !ok {
			return fmt.Errorf("%w: WithResponse: %v is not a rejection sentinel", core.ErrInvalidInput, kind)
		}
		if r.Status != 0 && (r.Status < 100 || r.Status > 999) {
			return fmt.Errorf("%w: WithResponse: status %d", core.ErrInvalidInput, r.Status)
		}
		cur := &c.responses[i]
		if r.Status != 0 {
			cur.Status = r.Status
		}
		if r.ContentType != "" {
			cur.ContentType = r.ContentType
		}
		if r.Body != "" {
			cur.Body = r.Body
		}
		return nil
	}
}

// WithTooManyRequests answers limits_exceeded with 429 Too Many Requests,
// as APIcast does, instead of the default 409 Conflict.
func WithTooManyRequests() Option {
	return WithResponse(ErrLimitsExceeded, Response{Status: http.StatusTooManyRequests})
}

// WithErrorHandler replaces the function that writes rejections (default
// [DefaultErrorHandler]). It receives a [*RejectError]. The rate-limit
// headers and Retry-After are already set on w when it runs. nil restores
// the default.
func WithErrorHandler(h ErrorHandler) Option {
	return func(c *config) error {
		if h == nil {
			h = DefaultErrorHandler
		}
		c.errorHandler = h
		return nil
	}
}

// WithRateLimitHeaders turns the RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset response headers on (the default) or off. Retry-After
// on limits_exceeded is sent either way.
func WithRateLimitHeaders(on bool) Option {
	return func(c *config) error {
		c.noRateLimit = !on
		return nil
	}
}

// WithFailOpen lets requests through when 3scale cannot be reached (network
// error, timeout, 5xx, unparseable answer) instead of answering 503. The
// handler then sees a Decision with Source SourceFailOpen. Off by default
// (fail closed). Denials and configuration errors are never failed open.
func WithFailOpen(on bool) Option {
	return func(c *config) error {
		c.failOpen = on
		return nil
	}
}

// WithReferrer sends the value f returns as the 3scale referrer (checked
// against the application's referrer filters), e.g. the Referer header.
// "" sends none. Off by default.
func WithReferrer(f func(r *http.Request) string) Option {
	return func(c *config) error {
		c.referrer = f
		return nil
	}
}

// WithProxyConfig configures the engine as APIcast would read pc, a 3scale
// proxy configuration (metrics.LoadProxyConfig or
// metrics.ParseProxyConfigFile): the credentials extractor of its
// authentication mode, location and parameter names, its mapping rules,
// and its four error responses (auth_missing, auth_failed,
// limits_exceeded, no_match; their bodies are fixed texts, so denials no
// longer show the 3scale reason). The service id and backend are not
// taken from pc. Later options override it.
func WithProxyConfig(pc *metrics.ProxyConfig) Option {
	return func(c *config) error {
		if pc == nil || pc.Mapper() == nil {
			return fmt.Errorf("%w: WithProxyConfig: nil or unloaded configuration", core.ErrInvalidInput)
		}
		c.extractor = pc.Extractor()
		c.mapper = pc.Mapper()
		for _, x := range []struct {
			kind error
			r    metrics.ErrorResponse
		}{
			{ErrMissingCredentials, pc.Errors.AuthMissing},
			{ErrDenied, pc.Errors.AuthFailed},
			{ErrLimitsExceeded, pc.Errors.LimitsExceeded},
			{ErrNoMatch, pc.Errors.NoMatch},
		} {
			i, _ := rejectionIndex(x.kind)
			c.responses[i] = Response{Status: x.r.Status, ContentType: x.r.ContentType, Body: x.r.Body}
			if c.responses[i].Status == 0 {
				c.responses[i].Status = defaultResponses()[i].Status
			}
		}
		return nil
	}
}

package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBackendURL is the 3scale SaaS Service Management API.
const DefaultBackendURL = "https://su1.3scale.net"

// Defaults that NewClient applies; each has an option to change it.
const (
	// DefaultTimeout bounds a whole call (connect, send, wait, read).
	// APIcast's 60 s is a known complaint; 10 s is the most we allow by
	// default. Change it with WithTimeout.
	DefaultTimeout = 10 * time.Second
	// DefaultDialTimeout bounds connection set-up in the default transport.
	DefaultDialTimeout = 3 * time.Second
	// DefaultMaxResponseBytes caps how much of a response body is read.
	DefaultMaxResponseBytes = 1 << 20
	// MaxBatchTransactions is the most transactions one report request
	// carries; Report splits larger batches.
	MaxBatchTransactions = 1000
	// maxBatchParams keeps a report request under Rack's 4096-parameter
	// limit (the backend answers 400 bad_request above it).
	maxBatchParams = 4000
)

// Service holds the credentials of the 3scale service (the API) that a call
// is made for: a service token with its service id (preferred), or a
// provider key with an optional service id (legacy; without an id the
// account's default service is used). When ProviderKey is set it wins and
// Token is not sent, as the backend would ignore it.
//
// String and LogValue redact Token and ProviderKey.
type Service struct {
	ID          string
	Token       string
	ProviderKey string
}

func (s Service) validate() error {
	switch {
	case s.ProviderKey != "":
		return nil
	case s.Token == "" && s.ID == "":
		return fmt.Errorf("%w: no service credentials (service token + service id, or provider key)", ErrInvalidInput)
	case s.Token == "":
		return fmt.Errorf("%w: service id %q given without a service token", ErrInvalidInput, s.ID)
	case s.ID == "":
		return fmt.Errorf("%w: service token given without a service id", ErrInvalidInput)
	}
	return nil
}

// String describes the service without secrets.
func (s Service) String() string {
	switch {
	case s.ProviderKey != "":
		return fmt.Sprintf("service id=%q provider_key=[redacted]", s.ID)
	case s.Token != "":
		return fmt.Sprintf("service id=%q service_token=[redacted]", s.ID)
	}
	return fmt.Sprintf("service id=%q", s.ID)
}

// GoString is String, so %#v does not leak secrets.
func (s Service) GoString() string { return "core.Service{" + s.String() + "}" }

// LogValue implements [slog.LogValuer] without secrets: the id and which
// kind of service credential is set.
func (s Service) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID), slog.String("auth", s.authKind()))
}

func (s Service) authKind() string {
	switch {
	case s.ProviderKey != "":
		return "provider_key"
	case s.Token != "":
		return "service_token"
	}
	return "none"
}

// Extensions are the backend's optional behaviours, sent in the
// 3scale-options request header. See DefaultExtensions.
type Extensions struct {
	// RejectionReasonHeader asks for the 3scale-rejection-reason header on
	// denials (the machine code). On by default.
	RejectionReasonHeader bool
	// LimitHeaders asks for the 3scale-limit-* headers (RateLimit). On by
	// default.
	LimitHeaders bool
	// NoBody asks for empty response bodies: faster, but no plan, usage
	// reports, or error codes (errors keep only their HTTP status).
	NoBody bool
	// Hierarchy adds the metric hierarchy (AuthResult.Hierarchy).
	Hierarchy bool
	// FlatUsage disables propagation of a child metric's usage to its
	// parents: the caller must include parents itself. Also applies to
	// Report.
	FlatUsage bool
	// ListAppKeys adds the application's keys (AuthResult.AppKeys).
	ListAppKeys bool
}

// DefaultExtensions returns the extensions a client uses unless told
// otherwise: rejection_reason_header and limit_headers, so every denial
// carries a machine code and rate-limit state.
func DefaultExtensions() Extensions {
	return Extensions{RejectionReasonHeader: true, LimitHeaders: true}
}

// header returns the 3scale-options value ("" when none is on).
func (e Extensions) header() string {
	var parts []string
	add := func(on bool, name string) {
		if on {
			parts = append(parts, name+"=1")
		}
	}
	add(e.RejectionReasonHeader, "rejection_reason_header")
	add(e.LimitHeaders, "limit_headers")
	add(e.NoBody, "no_body")
	add(e.Hierarchy, "hierarchy")
	add(e.FlatUsage, "flat_usage")
	add(e.ListAppKeys, "list_app_keys")
	return strings.Join(parts, "&")
}

// Client is a 3scale Service Management API client. Create one with
// NewClient and share it: it is safe for concurrent use and holds no
// per-call state.
type Client struct {
	scheme, host, basePath string
	service                Service
	hc                     *http.Client
	timeout                time.Duration
	ext                    Extensions
	extHeader              []string // precomputed 3scale-options value
	defaultUsage           Usage
	maxBody                int64
	userAgent              []string
	now                    func() time.Time
}

// String describes the client without secrets (backend URL, default
// service id, timeout). fmt would otherwise print the unexported fields,
// service token and provider key included.
func (c Client) String() string {
	return fmt.Sprintf("threescale client backend=%s://%s%s %s timeout=%s", c.scheme, c.host, c.basePath, c.service, c.timeout)
}

// GoString is String, so %#v does not leak secrets.
func (c Client) GoString() string { return "core.Client{" + c.String() + "}" }

// LogValue implements [slog.LogValuer] without secrets.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("backend", c.scheme+"://"+c.host+c.basePath),
		slog.Any("service", c.service),
		slog.Duration("timeout", c.timeout))
}

// Option configures a Client.
type Option func(*Client) error

// WithBackendURL sets the backend's base URL (default DefaultBackendURL),
// e.g. "http://127.0.0.1:3000" for a simulator or an on-premises backend.
func WithBackendURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("%w: backend URL: %v", ErrInvalidInput, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: backend URL %q must be http(s)://host[:port]", ErrInvalidInput, u.Redacted())
		}
		c.scheme, c.host, c.basePath = u.Scheme, u.Host, strings.TrimRight(u.Path, "/")
		return nil
	}
}

// WithServiceToken sets the default service: service id and service token
// (the preferred credentials).
func WithServiceToken(serviceID, token string) Option {
	return func(c *Client) error {
		c.service = Service{ID: serviceID, Token: token}
		return c.service.validate()
	}
}

// WithProviderKey sets the default service by provider key (legacy);
// serviceID may be "" to use the account's default service.
func WithProviderKey(providerKey, serviceID string) Option {
	return func(c *Client) error {
		if providerKey == "" {
			return fmt.Errorf("%w: empty provider key", ErrInvalidInput)
		}
		c.service = Service{ID: serviceID, ProviderKey: providerKey}
		return nil
	}
}

// WithHTTPClient makes the client use hc (its transport, TLS settings and
// timeout). hc is never modified. nil restores the default client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			hc = newDefaultHTTPClient()
		}
		c.hc = hc
		return nil
	}
}

// WithTimeout bounds each call (default DefaultTimeout); d <= 0 means no
// bound beyond the caller's context and the HTTP client's own timeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error { c.timeout = d; return nil }
}

// WithExtensions sets the extensions sent on every call (default
// DefaultExtensions). A request may override them.
func WithExtensions(e Extensions) Option {
	return func(c *Client) error { c.ext = e; return nil }
}

// WithDefaultUsage sets the usage sent when a request has none (default
// hits=1, as the official plugins do). An empty u disables the default: a
// request without usage then sends none (authorize then checks every
// limit, authrep reports nothing).
func WithDefaultUsage(u Usage) Option {
	return func(c *Client) error {
		if err := u.Validate(); err != nil {
			return err
		}
		c.defaultUsage = u.Clone()
		return nil
	}
}

// WithMaxResponseBytes caps how much of a response body is read (default
// DefaultMaxResponseBytes). A larger body is an ErrBackendUnavailable.
func WithMaxResponseBytes(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("%w: max response bytes must be positive", ErrInvalidInput)
		}
		c.maxBody = n
		return nil
	}
}

// WithUserAgent sets the User-Agent header ("" sends none).
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = nil
		if ua != "" {
			c.userAgent = []string{ua}
		}
		return nil
	}
}

// WithClock sets the clock used to check report timestamps (default
// time.Now). For tests.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			now = time.Now
		}
		c.now = now
		return nil
	}
}

// UserAgent is the default User-Agent header.
const UserAgent = "threescale-go"

// NewClient returns a Client. Without options it talks to
// DefaultBackendURL with a fresh HTTP client (3 s connect timeout, 10 s per
// call) and needs per-request service credentials.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		hc:           newDefaultHTTPClient(),
		timeout:      DefaultTimeout,
		ext:          DefaultExtensions(),
		defaultUsage: Usage{"hits": 1},
		maxBody:      DefaultMaxResponseBytes,
		userAgent:    []string{UserAgent},
		now:          time.Now,
	}
	if err := WithBackendURL(DefaultBackendURL)(c); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if h := c.ext.header(); h != "" {
		c.extHeader = []string{h}
	}
	return c, nil
}

// newDefaultHTTPClient builds a client of our own: http.DefaultClient and
// http.DefaultTransport are never modified.
//
// The transport sets no ResponseHeaderTimeout: the whole call is bounded by
// the context (WithTimeout, the caller's deadline), and a fixed header
// timeout would silently cap a longer WithTimeout and bound WithTimeout(0).
func newDefaultHTTPClient() *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		// Instrumentation libraries may replace http.DefaultTransport
		// with a wrapper; start from Go's defaults instead of panicking.
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, ExpectContinueTimeout: time.Second}
	}
	t.DialContext = (&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

// Service returns the client's default service credentials.
func (c *Client) Service() Service { return c.service }

// AuthRequest is one authorize / authrep call.
type AuthRequest struct {
	// Credentials identify the application. Required.
	Credentials Credentials
	// Usage is the predicted (authorize) or reported (authrep) usage. Empty
	// means the client's default usage (hits=1 unless changed).
	Usage Usage
	// Referrer is sent as referrer (checked against the app's filters when
	// the service requires them; "*" bypasses the check).
	Referrer string
	// LogCode is the upstream response's HTTP status, sent as log[code]
	// (authrep and oauth_authrep only; 0 = not sent; else 100..999).
	LogCode int
	// Service overrides the client's service credentials for this call
	// (multi-service gateways). nil uses the client's.
	Service *Service
	// Extensions overrides the client's extensions for this call.
	Extensions *Extensions
}

// LogValue implements [slog.LogValuer] so that logging a request (e.g. with
// slog.NewJSONHandler, which would otherwise JSON-encode Service.Token)
// never prints a secret.
func (r AuthRequest) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.Any("credentials", r.Credentials), slog.Any("usage", r.Usage))
	if r.Referrer != "" {
		attrs = append(attrs, slog.String("referrer", r.Referrer))
	}
	if r.LogCode != 0 {
		attrs = append(attrs, slog.Int("log_code", r.LogCode))
	}
	if r.Service != nil {
		attrs = append(attrs, slog.Any("service", *r.Service))
	}
	if r.Extensions != nil {
		attrs = append(attrs, slog.String("extensions", r.Extensions.header()))
	}
	return slog.GroupValue(attrs...)
}

type endpoint struct {
	op, path string
	oauth    bool
	report   bool // authrep-style: accepts log[code]
}

var (
	epAuthorize      = endpoint{op: "authorize", path: "/transactions/authorize.xml"}
	epAuthRep        = endpoint{op: "authrep", path: "/transactions/authrep.xml", report: true}
	epOAuthAuthorize = endpoint{op: "oauth_authorize", path: "/transactions/oauth_authorize.xml", oauth: true}
	epOAuthAuthRep   = endpoint{op: "oauth_authrep", path: "/transactions/oauth_authrep.xml", oauth: true, report: true}
)

// Authorize checks whether the application may make a call with the given
// (predicted) usage. Nothing is recorded.
func (c *Client) Authorize(ctx context.Context, req AuthRequest) (*AuthResult, error) {
	return c.auth(ctx, epAuthorize, &req)
}

// AuthRep authorizes and, if authorized, reports the usage in one call.
// It is not idempotent: do not retry it blindly after a timeout.
func (c *Client) AuthRep(ctx context.Context, req AuthRequest) (*AuthResult, error) {
	return c.auth(ctx, epAuthRep, &req)
}

// OAuthAuthorize is Authorize for OAuth services; the result carries the
// Application (client id, secret, redirect URL).
func (c *Client) OAuthAuthorize(ctx context.Context, req AuthRequest) (*AuthResult, error) {
	return c.auth(ctx, epOAuthAuthorize, &req)
}

// OAuthAuthRep is AuthRep for OAuth services.
func (c *Client) OAuthAuthRep(ctx context.Context, req AuthRequest) (*AuthResult, error) {
	return c.auth(ctx, epOAuthAuthRep, &req)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBuf is the largest buffer returned to bufPool: a call with a huge
// usage map must not pin a huge buffer in the pool for ever.
const maxPooledBuf = 16 << 10

// putBuf returns a query buffer to bufPool unless it grew too large. The
// caller must not use b afterwards (the query was copied into a string).
func putBuf(bp *[]byte, b []byte) {
	if cap(b) > maxPooledBuf {
		return
	}
	*bp = b[:0]
	bufPool.Put(bp)
}

func (c *Client) auth(ctx context.Context, ep endpoint, req *AuthRequest) (*AuthResult, error) {
	if c == nil || c.hc == nil {
		return nil, &Error{Op: ep.op, Kind: ErrInvalidInput, Message: "client not created with NewClient"}
	}
	svc := c.service
	if req.Service != nil {
		svc = *req.Service
	}
	if err := c.validateAuth(ep, req, svc); err != nil {
		return nil, &Error{Op: ep.op, Kind: ErrInvalidInput, Err: err}
	}
	ext, extHeader := c.ext, c.extHeader
	if req.Extensions != nil {
		ext = *req.Extensions
		extHeader = nil
		if h := ext.header(); h != "" {
			extHeader = []string{h}
		}
	}
	usage := req.Usage
	if len(usage) == 0 {
		usage = c.defaultUsage
	}

	bp := bufPool.Get().(*[]byte)
	q := appendServiceParams((*bp)[:0], svc)
	q = appendCredentialParams(q, req.Credentials, ep.oauth)
	q = appendUsage(q, "usage", usage)
	if req.Referrer != "" {
		q = appendParam(q, "referrer", req.Referrer)
	}
	if ep.report && req.LogCode != 0 {
		q = appendParam(q, "log[code]", strconv.Itoa(req.LogCode))
	}
	rawQuery := string(q) // copies: q is reused by another call once pooled
	putBuf(bp, q)

	hreq, cancel, err := c.newRequest(ctx, http.MethodGet, ep.path, rawQuery, extHeader, nil)
	if err != nil {
		return nil, &Error{Op: ep.op, Kind: ErrInvalidInput, Err: err}
	}
	defer cancel()
	status, hdr, body, err := c.do(hreq)
	if err != nil {
		return nil, c.transportError(ep.op, hreq.Context(), err, svc, req.Credentials)
	}
	res, perr := parseAuthResponse(status, hdr, body, ext.NoBody)
	if perr != nil {
		perr.Op = ep.op
		redactError(perr, svc, req.Credentials)
		return nil, perr
	}
	return res, nil
}

func (c *Client) validateAuth(ep endpoint, req *AuthRequest, svc Service) error {
	if err := svc.validate(); err != nil {
		return err
	}
	if err := req.Credentials.Validate(); err != nil {
		return err
	}
	if ep.oauth && req.Credentials.Kind() == KindUserKey {
		return errors.New("oauth calls need an app_id (OAuthApp or AppID credentials), not a user_key")
	}
	if err := req.Usage.Validate(); err != nil {
		return err
	}
	if req.LogCode != 0 && (req.LogCode < 100 || req.LogCode > 999) {
		return fmt.Errorf("log code %d is not an HTTP status (100..999)", req.LogCode)
	}
	return nil
}

// newRequest builds the request without re-parsing URLs; the returned
// cancel must be called once the response is consumed.
func (c *Client) newRequest(ctx context.Context, method, path, rawQuery string, ext []string, body *strings.Reader) (*http.Request, context.CancelFunc, error) {
	if ctx == nil {
		return nil, nil, errors.New("nil context") // as http.NewRequestWithContext; refused before any network call
	}
	cancel := context.CancelFunc(func() {})
	if d := c.callTimeout(); d > 0 {
		ctx, cancel = context.WithTimeout(ctx, d)
	}
	h := make(http.Header, 4)
	if ext != nil {
		h["3scale-Options"] = ext
	}
	if c.userAgent != nil {
		h["User-Agent"] = c.userAgent
	}
	r := &http.Request{
		Method:     method,
		URL:        &url.URL{Scheme: c.scheme, Host: c.host, Path: c.basePath + path, RawQuery: rawQuery},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       c.host,
	}
	if body != nil {
		h["Content-Type"] = formContentType
		r.Body = io.NopCloser(body)
		r.ContentLength = int64(body.Len())
		snapshot := *body
		r.GetBody = func() (io.ReadCloser, error) { b := snapshot; return io.NopCloser(&b), nil }
	}
	return r.WithContext(ctx), cancel, nil
}

// callTimeout is the shorter of the client's timeout and the HTTP client's.
func (c *Client) callTimeout() time.Duration {
	d := c.timeout
	if t := c.hc.Timeout; t > 0 && (d <= 0 || t < d) {
		d = t
	}
	return d
}

var formContentType = []string{"application/x-www-form-urlencoded"}

// do sends r and reads the body (bounded), draining and closing it so the
// connection can be reused.
//
// It calls the HTTP client's Transport directly: the backend never
// redirects and sets no cookies, and http.Client.Do would copy headers and
// URL on every call for redirect bookkeeping. A redirect answer is
// therefore reported as an unexpected response. The HTTP client's Timeout
// is honoured through the context (see newRequest).
func (c *Client) do(r *http.Request) (int, http.Header, []byte, error) {
	rt := c.hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(r)
	if err != nil {
		return 0, nil, nil, &url.Error{Op: r.Method, URL: r.URL.String(), Err: err}
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body, resp.ContentLength, c.maxBody)
	if err != nil {
		return resp.StatusCode, resp.Header, nil, err
	}
	return resp.StatusCode, resp.Header, body, nil
}

var errTooLarge = errors.New("response body too large")

// readBody reads at most limit bytes. A body larger than limit is an error;
// up to 64 KiB past the limit is drained so the connection can be reused.
func readBody(rc io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength == 0 {
		return nil, nil
	}
	size := int64(1024)
	if contentLength > 0 {
		if contentLength > limit {
			_, _ = io.CopyN(io.Discard, rc, 64<<10)
			return nil, errTooLarge
		}
		size = contentLength + 1 // +1 lets us see EOF without growing
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			_, _ = io.CopyN(io.Discard, rc, 64<<10)
			return nil, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// transportError classifies a failure that left us without a complete
// response.
func (c *Client) transportError(op string, ctx context.Context, err error, svc Service, cred Credentials) *Error {
	// url.Error embeds the URL, whose query holds the credentials.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	}
	e := &Error{Op: op, Kind: ErrBackendUnavailable, Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		e.Kind, e.Message = ErrCanceled, "call canceled by the caller"
		if !errors.Is(err, context.Canceled) {
			e.Err = fmt.Errorf("%w: %w", context.Canceled, err)
		}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		e.Kind, e.Message = ErrTimeout, "backend did not answer in time"
		if !errors.Is(err, context.DeadlineExceeded) {
			e.Err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
	case errors.As(err, &ne) && ne.Timeout():
		e.Kind, e.Message = ErrTimeout, "backend did not answer in time"
	case errors.Is(err, errTooLarge):
		e.Message = "response body larger than the configured limit"
	default:
		e.Message = "backend unreachable or response incomplete"
	}
	redactError(e, svc, cred)
	return e
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[redacted url]"
	}
	u.RawQuery = ""
	return u.String()
}

// redactError removes the call's secrets from the message and cause.
func redactError(e *Error, svc Service, cred Credentials) {
	secrets := [4]string{svc.Token, svc.ProviderKey, cred.appKey, cred.userKey}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		e.Message = strings.ReplaceAll(e.Message, s, "[redacted]")
	}
	if e.Err != nil {
		msg := e.Err.Error()
		red := msg
		for _, s := range secrets {
			if s != "" {
				red = strings.ReplaceAll(red, s, "[redacted]")
			}
		}
		if red != msg {
			e.Err = redactedCause{msg: red, err: e.Err}
		}
	}
}

// redactedCause stands in for a cause whose text held a secret. It answers
// errors.Is for the original chain but does not unwrap to it, so the
// secret cannot be reached with errors.Unwrap or errors.As.
type redactedCause struct {
	msg string
	err error
}

func (r redactedCause) Error() string        { return r.msg }
func (r redactedCause) Is(target error) bool { return errors.Is(r.err, target) }

package threescaletest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/threescale-go/threescale/core"
)

// Backend versions of a [Service].
const (
	BackendVersionUserKey = "1"     // applications are identified by user_key
	BackendVersionAppID   = "2"     // app_id + app_key (the default)
	BackendVersionOAuth   = "oauth" // OAuth / OIDC: app_id is the client id
)

// Server is an in-process 3scale backend listening on 127.0.0.1. All
// methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, without trailing slash.
	URL string

	mu       sync.Mutex
	now      func() time.Time
	services map[string]*service
	accounts map[string]string // provider key -> default service id
	counters map[counterKey]int64
	requests []Request
	faults   []Fault
	ierrs    []IntegrationError

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	srv       *http.Server
	served    chan struct{}
	inflight  sync.WaitGroup // handlers running on the built-in listener
	conns     sync.WaitGroup // connections of the built-in listener
}

type service struct {
	Service
	parent   map[string]string // metric -> parent ("" for top level)
	children map[string][]string
	apps     map[string]*Application
	userKeys map[string]string // user_key -> app id
}

type counterKey struct {
	svc, app, metric string
	period           core.Period
	start            int64 // unix seconds of the period start; 0 for eternity
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock used for all period math (default time.Now).
// The server calls it with its lock held, so it must not call the Server.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithSeed loads seed into the server. NewServer panics if the seed is
// invalid, like regexp.MustCompile: seeds are fixed test data.
func WithSeed(seed Seed) Option {
	return func(s *Server) {
		if err := s.Load(seed); err != nil {
			panic("threescaletest: WithSeed: " + err.Error())
		}
	}
}

func newServer(opts []Option) *Server {
	s := &Server{
		now:      time.Now,
		services: map[string]*service{},
		accounts: map[string]string{},
		counters: map[counterKey]int64{},
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// NewServer starts a backend on 127.0.0.1 with a random port. Call Close
// when done.
func NewServer(opts ...Option) *Server {
	s := newServer(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("threescaletest: listen on 127.0.0.1: " + err.Error())
	}
	s.URL = "http://" + ln.Addr().String()
	h := s.Handler()
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.inflight.Add(1)
			defer s.inflight.Done()
			h.ServeHTTP(w, r)
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.conns.Add(1)
			case http.StateHijacked, http.StateClosed:
				s.conns.Done()
			}
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s
}

// Close stops the server: hanging faults return, connections are closed
// and Close waits until every goroutine it started has finished. It is
// safe to call Close more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.srv == nil {
			return
		}
		_ = s.srv.Close()
		<-s.served
		// Connections first: a handler's inflight.Add happens before its
		// connection closes or is hijacked, so it cannot race with Wait.
		s.conns.Wait()
		s.inflight.Wait()
	})
}

// SetClock replaces the clock (see [WithClock]).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

func (s *Server) nowUTC() time.Time { return s.now().UTC() }

// Service is a 3scale service (an API).
type Service struct {
	ID string
	// Token is the service token; requests may authenticate with
	// service_token=Token&service_id=ID. Empty: no token access.
	Token string
	// ProviderKey is the key of the account owning the service. Empty: no
	// provider key access.
	ProviderKey string
	// Default makes this the provider key's default service (used when
	// service_id is omitted). The first service added for a provider key is
	// the default unless a later one sets Default.
	Default bool
	// BackendVersion is "1" (user_key), "2" (app_id+app_key; also when
	// empty) or "oauth".
	BackendVersion string
	// Suspended services deny every call with "service is not active".
	Suspended bool
	// ReferrerFiltersRequired enables the referrer check for applications
	// that have referrer filters.
	ReferrerFiltersRequired bool
	// Metrics of the service, in the order usage reports list them. "hits"
	// is not implicit: declare it.
	Metrics []Metric
}

// Metric is a metric of a service; Parent is "" for a top-level metric.
// Metrics nest to any depth.
type Metric struct{ Name, Parent string }

// Plan is an application plan.
type Plan struct {
	Name   string
	Limits []Limit
}

// Limit is a usage limit: at most Max units of Metric per Period.
type Limit struct {
	Metric string
	Period core.Period
	Max    int64
}

// Application is an application of a service.
type Application struct {
	ServiceID string
	ID        string
	Plan      Plan
	// Keys are the application keys (OAuth: client secrets), in the order
	// <app_keys> lists them; the first is the OAuth <key>.
	Keys []string
	// UserKey identifies the application on backend_version "1" services
	// and in reports by user_key.
	UserKey   string
	Suspended bool
	// ReferrerFilters are patterns in which "*" matches any sequence.
	ReferrerFilters []string
	// RedirectURL is the OAuth redirect URL.
	RedirectURL string
}

// AddService registers a service. It fails on an empty or duplicate id,
// an unknown backend version, or invalid metrics (empty, duplicate or
// bracketed names, unknown parents, cycles).
func (s *Server) AddService(svc Service) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc.ID == "" {
		return errors.New("threescaletest: service id is empty")
	}
	if _, dup := s.services[svc.ID]; dup {
		return fmt.Errorf("threescaletest: service %q already exists", svc.ID)
	}
	switch svc.BackendVersion {
	case "", BackendVersionUserKey, BackendVersionAppID, BackendVersionOAuth:
	default:
		return fmt.Errorf("threescaletest: service %q: unknown backend version %q", svc.ID, svc.BackendVersion)
	}
	st := &service{
		Service: svc, parent: map[string]string{}, children: map[string][]string{},
		apps: map[string]*Application{}, userKeys: map[string]string{},
	}
	st.Metrics = slices.Clone(svc.Metrics)
	for _, m := range svc.Metrics {
		if m.Name == "" || strings.ContainsAny(m.Name, "[]") || strings.TrimSpace(m.Name) != m.Name {
			return fmt.Errorf("threescaletest: service %q: invalid metric name %q", svc.ID, m.Name)
		}
		if _, dup := st.parent[m.Name]; dup {
			return fmt.Errorf("threescaletest: service %q: duplicate metric %q", svc.ID, m.Name)
		}
		st.parent[m.Name] = m.Parent
	}
	for _, m := range svc.Metrics {
		if m.Parent == "" {
			continue
		}
		if _, ok := st.parent[m.Parent]; !ok {
			return fmt.Errorf("threescaletest: service %q: metric %q has unknown parent %q", svc.ID, m.Name, m.Parent)
		}
		if len(st.ancestors(m.Name)) >= len(svc.Metrics) {
			return fmt.Errorf("threescaletest: service %q: metric %q is in a cycle", svc.ID, m.Name)
		}
		st.children[m.Parent] = append(st.children[m.Parent], m.Name)
	}
	s.services[svc.ID] = st
	if svc.ProviderKey != "" {
		if _, ok := s.accounts[svc.ProviderKey]; !ok || svc.Default {
			s.accounts[svc.ProviderKey] = svc.ID
		}
	}
	return nil
}

// ancestors returns the parent, grandparent, ... of metric (bounded, so a
// cycle cannot loop forever).
func (st *service) ancestors(metric string) []string {
	var out []string
	for p := st.parent[metric]; p != "" && len(out) <= len(st.Metrics); p = st.parent[p] {
		out = append(out, p)
	}
	return out
}

// AddApplication registers an application of an existing service. It
// fails on a duplicate id or user key, or limits on unknown metrics,
// unknown periods or negative maxima.
func (s *Server) AddApplication(app Application) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.services[app.ServiceID]
	if !ok {
		return fmt.Errorf("threescaletest: application %q: unknown service %q", app.ID, app.ServiceID)
	}
	if app.ID == "" {
		return errors.New("threescaletest: application id is empty")
	}
	if _, dup := st.apps[app.ID]; dup {
		return fmt.Errorf("threescaletest: application %q already exists in service %q", app.ID, app.ServiceID)
	}
	if _, dup := st.userKeys[app.UserKey]; app.UserKey != "" && dup {
		return fmt.Errorf("threescaletest: user key of application %q already used in service %q", app.ID, app.ServiceID)
	}
	seen := map[Limit]bool{}
	for _, l := range app.Plan.Limits {
		if _, ok := st.parent[l.Metric]; !ok {
			return fmt.Errorf("threescaletest: application %q: limit on unknown metric %q", app.ID, l.Metric)
		}
		if l.Period < core.PeriodMinute || l.Period > core.PeriodEternity {
			return fmt.Errorf("threescaletest: application %q: limit with invalid period %d", app.ID, l.Period)
		}
		if l.Max < 0 {
			return fmt.Errorf("threescaletest: application %q: negative limit", app.ID)
		}
		if k := (Limit{Metric: l.Metric, Period: l.Period}); seen[k] {
			return fmt.Errorf("threescaletest: application %q: two limits for %s/%s", app.ID, l.Metric, l.Period)
		} else {
			seen[k] = true
		}
	}
	for _, k := range app.Keys {
		if k == "" {
			return fmt.Errorf("threescaletest: application %q: empty key", app.ID)
		}
	}
	a := app
	a.Keys = slices.Clone(app.Keys)
	a.ReferrerFilters = slices.Clone(app.ReferrerFilters)
	a.Plan.Limits = slices.Clone(app.Plan.Limits)
	st.apps[a.ID] = &a
	if a.UserKey != "" {
		st.userKeys[a.UserKey] = a.ID
	}
	return nil
}

// Seed is a set of services and applications for [Server.Load] and
// [WithSeed].
type Seed struct {
	Services     []Service
	Applications []Application
}

// Load adds the seed's services, then its applications.
func (s *Server) Load(seed Seed) error {
	for _, svc := range seed.Services {
		if err := s.AddService(svc); err != nil {
			return err
		}
	}
	for _, app := range seed.Applications {
		if err := s.AddApplication(app); err != nil {
			return err
		}
	}
	return nil
}

// Counter returns the counter of metric for the period instance containing
// the clock's now (0 when unknown).
func (s *Server) Counter(serviceID, appID, metric string, p core.Period) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters[ckey(serviceID, appID, metric, p, s.nowUTC())]
}

// SetCounter sets the counter of metric for the period instance containing
// the clock's now. It does not propagate to parent metrics.
func (s *Server) SetCounter(serviceID, appID, metric string, p core.Period, v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters[ckey(serviceID, appID, metric, p, s.nowUTC())] = v
}

func ckey(svc, app, metric string, p core.Period, t time.Time) counterKey {
	k := counterKey{svc: svc, app: app, metric: metric, period: p}
	if p != core.PeriodEternity {
		k.start = periodStart(p, t).Unix()
	}
	return k
}

// periodStart returns the UTC calendar start of the period containing t
// (weeks start on Monday).
func periodStart(p core.Period, t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch p {
	case core.PeriodMinute:
		return t.Truncate(time.Minute)
	case core.PeriodHour:
		return t.Truncate(time.Hour)
	case core.PeriodDay:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case core.PeriodWeek:
		return time.Date(y, m, d-(int(t.Weekday())+6)%7, 0, 0, 0, 0, time.UTC)
	case core.PeriodMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case core.PeriodYear:
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// periodEnd returns the exclusive end of the period containing t.
func periodEnd(p core.Period, t time.Time) time.Time {
	st := periodStart(p, t)
	switch p {
	case core.PeriodMinute:
		return st.Add(time.Minute)
	case core.PeriodHour:
		return st.Add(time.Hour)
	case core.PeriodDay:
		return st.AddDate(0, 0, 1)
	case core.PeriodWeek:
		return st.AddDate(0, 0, 7)
	case core.PeriodMonth:
		return st.AddDate(0, 1, 0)
	case core.PeriodYear:
		return st.AddDate(1, 0, 0)
	}
	return time.Time{}
}

// allPeriods are the periods every recorded usage is counted in.
var allPeriods = []core.Period{core.PeriodEternity, core.PeriodYear, core.PeriodMonth, core.PeriodWeek, core.PeriodDay, core.PeriodHour, core.PeriodMinute}

// Request is a request the server received.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Query    url.Values
	Header   http.Header
	Body     []byte
	// Form is the parsed body of a POST (form-encoded or multipart), with
	// the raw nested keys, e.g. "transactions[0][usage][hits]".
	Form url.Values
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.clone()
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (r Request) clone() Request {
	c := r
	c.Query = cloneValues(r.Query)
	c.Form = cloneValues(r.Form)
	c.Header = r.Header.Clone()
	c.Body = slices.Clone(r.Body)
	return c
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	return url.Values(http.Header(v).Clone())
}

// IntegrationError is a report transaction batch the simulated worker
// rejected after the 202 answer (unknown application or metric, invalid
// usage value, timestamp outside the accepted window, ...). Like
// apisonator, a batch with one invalid transaction records nothing.
type IntegrationError struct {
	ServiceID string
	Code      string // e.g. "application_not_found"
	Message   string // e.g. `application with id="x" was not found`
	Time      time.Time
}

// IntegrationErrors returns the integration errors so far, oldest first.
func (s *Server) IntegrationErrors() []IntegrationError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ierrs)
}

// FaultKind selects how a faulty response misbehaves.
type FaultKind int

// Fault kinds.
const (
	// FaultNone does nothing (the request is handled normally).
	FaultNone FaultKind = iota
	// FaultLatency waits Fault.Latency, then handles the request normally.
	FaultLatency
	// FaultStatus answers Fault.Status (default 503) with a short text body.
	FaultStatus
	// FaultHTML answers Fault.Status (default 502) with an nginx-like HTML
	// error page.
	FaultHTML
	// FaultTruncatedBody answers 200 with valid headers, including a
	// Content-Length, and closes the connection in the middle of the body.
	FaultTruncatedBody
	// FaultDropConnection closes the connection without answering.
	FaultDropConnection
	// FaultNoAnswer never answers: the request hangs until the client gives
	// up or the server is closed.
	FaultNoAnswer
)

// Fault describes misbehaviour for the next requests. Faulty requests are
// still recorded; except for FaultLatency they have no other effect.
type Fault struct {
	Kind    FaultKind
	Latency time.Duration // FaultLatency
	Status  int           // FaultStatus, FaultHTML
	// Count is how many requests the fault applies to; 0 means every
	// request until ClearFaults.
	Count int
}

// InjectFault queues f. Queued faults apply in order: a fault with Count n
// affects the next n requests, then the next queued fault takes over.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes all queued faults. Requests already hanging stay
// hanging until their client gives up or the server closes.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault for the next request. Call with s.mu held.
func (s *Server) takeFault() Fault {
	if len(s.faults) == 0 {
		return Fault{}
	}
	f := s.faults[0]
	if f.Count > 0 {
		if s.faults[0].Count--; s.faults[0].Count == 0 {
			s.faults = s.faults[1:]
		}
	}
	return f
}

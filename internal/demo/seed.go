package demo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/credentials"
	"github.com/threescale-go/threescale/metrics"
	threescale "github.com/threescale-go/threescale/nethttp"
)

// The demo service and its applications, as seeded in the simulator.
// These are throw-away credentials of a local simulator, printed on
// purpose; real keys must never be printed or logged.
const (
	ServiceID        = "demo"    // app_id + app_key applications (backend_version 2)
	UserKeyServiceID = "demo-uk" // user_key applications (backend_version 1)
	ServiceToken     = "demo-service-token"

	AppID  = "demo-app"
	AppKey = "demo-app-key"

	UserKey = "demo-user-key"

	SuspendedAppID  = "suspended-app"
	SuspendedAppKey = "suspended-app-key"

	LimitedAppID  = "limited-app"
	LimitedAppKey = "limited-app-key"
	// LimitedHitsPerMinute is the limited app's plan: the next call is
	// rejected with 409 Conflict.
	LimitedHitsPerMinute = 3
)

// Seed adds the demo services and applications to sim. One 3scale service
// accepts one kind of credentials, so the demo has two with the same
// metrics (hits, and its children product_reads and product_writes) and
// the same token: "demo" for app_id + app_key and "demo-uk" for user_key.
// extraMetrics (e.g. the metrics a proxy configuration's mapping rules
// name) are added as further children of hits, so any configuration runs
// against the simulator.
func Seed(sim *threescaletest.Server, extraMetrics ...string) error {
	metrics := []threescaletest.Metric{
		{Name: "hits"}, {Name: "product_reads", Parent: "hits"}, {Name: "product_writes", Parent: "hits"},
	}
	for _, name := range extraMetrics {
		if !slices.ContainsFunc(metrics, func(m threescaletest.Metric) bool { return m.Name == name }) {
			metrics = append(metrics, threescaletest.Metric{Name: name, Parent: "hits"})
		}
	}
	basic := threescaletest.Plan{Name: "Basic", Limits: []threescaletest.Limit{
		{Metric: "hits", Period: core.PeriodMinute, Max: 60},
		{Metric: "hits", Period: core.PeriodDay, Max: 10000},
		{Metric: "product_writes", Period: core.PeriodMinute, Max: 20},
	}}
	limited := threescaletest.Plan{Name: "Limited", Limits: []threescaletest.Limit{
		{Metric: "hits", Period: core.PeriodMinute, Max: LimitedHitsPerMinute},
	}}
	var errs []error
	for _, s := range []threescaletest.Service{
		{ID: ServiceID, Token: ServiceToken, BackendVersion: threescaletest.BackendVersionAppID, Metrics: metrics},
		{ID: UserKeyServiceID, Token: ServiceToken, BackendVersion: threescaletest.BackendVersionUserKey, Metrics: metrics},
	} {
		errs = append(errs, sim.AddService(s))
	}
	for _, a := range []threescaletest.Application{
		{ServiceID: ServiceID, ID: AppID, Keys: []string{AppKey}, Plan: basic},
		{ServiceID: ServiceID, ID: SuspendedAppID, Keys: []string{SuspendedAppKey}, Plan: basic, Suspended: true},
		{ServiceID: ServiceID, ID: LimitedAppID, Keys: []string{LimitedAppKey}, Plan: limited},
		{ServiceID: UserKeyServiceID, ID: "demo-uk-app", UserKey: UserKey, Plan: basic},
	} {
		errs = append(errs, sim.AddApplication(a))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("demo: seeding the simulator: %w", err)
	}
	return nil
}

// simDecider sends user_key callers to the user_key service and the others
// to the app_id service, each with its own client and the chosen strategy.
func simDecider(backendURL string, strategy threescale.Strategy) (threescale.Decider, error) {
	var ds [2]threescale.Decider
	for i, id := range []string{UserKeyServiceID, ServiceID} {
		c, err := core.NewClient(core.WithBackendURL(backendURL), core.WithServiceToken(id, ServiceToken), core.WithExtensions(Extensions()))
		if err != nil {
			return nil, err
		}
		if ds[i], err = strategy(c); err != nil {
			return nil, err
		}
	}
	return byKind{userKey: ds[0], appID: ds[1]}, nil
}

type byKind struct{ userKey, appID threescale.Decider }

func (b byKind) Decide(ctx context.Context, q threescale.Query) (*threescale.Decision, error) {
	d, svc := b.appID, ServiceID
	if q.Credentials.Kind() == core.KindUserKey {
		d, svc = b.userKey, UserKeyServiceID
	}
	dec, err := d.Decide(ctx, q)
	if dec != nil && dec.ServiceID == "" {
		dec.ServiceID = svc
	}
	return dec, err
}

func (b byKind) Close(ctx context.Context) error {
	return errors.Join(b.userKey.Close(ctx), b.appID.Close(ctx))
}

// Banner is what the examples print when they run against the simulator:
// the demo credentials and ready-to-paste curl commands.
func Banner(addr, simURL, mode string) string {
	base := "http://" + addr
	return fmt.Sprintf(`Listening on %[1]s (3scale simulator at %[2]s, mode %[3]s)

Demo credentials (a local simulator; never print real keys):
  user_key         %[4]s
  app_id / app_key %[5]s / %[6]s
  suspended app    %[7]s / %[8]s
  limited app      %[9]s / %[10]s (%[11]d hits per minute)

Try:
  # allowed (200, JSON from the decision in the request context)
  curl -i '%[1]s/hello?user_key=%[4]s'
  curl -i -H 'App-Id: %[5]s' -H 'App-Key: %[6]s' %[1]s/products/42
  curl -i -X POST '%[1]s/products?app_id=%[5]s&app_key=%[6]s'
  # denied (403 application is not active)
  curl -i '%[1]s/hello?app_id=%[7]s&app_key=%[8]s'
  # over the limit (200 x%[11]d, then 409 with Retry-After)
  for i in $(seq %[12]d); do curl -s -o /dev/null -w '%%{http_code}\n' '%[1]s/hello?app_id=%[9]s&app_key=%[10]s'; done
  # unprotected
  curl -i %[1]s/healthz

`, base, simURL, mode, UserKey, AppID, AppKey, SuspendedAppID, SuspendedAppKey, LimitedAppID, LimitedAppKey,
		LimitedHitsPerMinute, LimitedHitsPerMinute+1)
}

// ProxyConfigBanner is Banner for a run with THREESCALE_PROXY_CONFIG
// against the simulator: routes, credential names and their location come
// from the file, so the commands are built from its rules.
func ProxyConfigBanner(addr, simURL, mode, path string, pc *metrics.ProxyConfig) string {
	base := "http://" + addr
	var b strings.Builder
	fmt.Fprintf(&b, "Listening on %s (3scale simulator at %s, mode %s)\n\n", base, simURL, mode)
	fmt.Fprintf(&b, "Mapping rules (by position) and credentials (%s) come from %s:\n", pc.CredentialsLocation, path)
	rules := slices.Clone(pc.Rules)
	slices.SortStableFunc(rules, func(a, b metrics.Rule) int { return a.Position - b.Position })
	for _, r := range rules {
		fmt.Fprintf(&b, "  %-7s %-30s %s +%d\n", r.Method, r.Pattern, r.Metric, r.Delta)
	}
	creds, denied := [][2]string{{pc.AuthUserKey, UserKey}}, [][2]string{{pc.AuthUserKey, "not-a-key"}}
	if pc.BackendVersion != "1" {
		creds = [][2]string{{pc.AuthAppID, AppID}, {pc.AuthAppKey, AppKey}}
		denied = [][2]string{{pc.AuthAppID, SuspendedAppID}, {pc.AuthAppKey, SuspendedAppKey}}
	}
	target := "/"
	for _, r := range rules {
		if r.Method == "GET" || r.Method == "ANY" || r.Method == "" {
			target = examplePath(r.Pattern)
			break
		}
	}
	fmt.Fprintf(&b, "\nTry (demo credentials of a local simulator; never print real keys):\n")
	fmt.Fprintf(&b, "  # allowed\n  %s\n", curl(base, target, pc.CredentialsLocation, creds))
	fmt.Fprintf(&b, "  # refused\n  %s\n", curl(base, target, pc.CredentialsLocation, denied))
	fmt.Fprintf(&b, "  # unprotected\n  curl -i %s/healthz\n\n", base)
	return b.String()
}

// examplePath turns a mapping-rule pattern into a path it matches:
// placeholders become "1", the "$" anchor and the query part go.
func examplePath(pattern string) string {
	p, _, _ := strings.Cut(pattern, "?")
	p = strings.TrimSuffix(p, "$")
	for {
		i := strings.IndexByte(p, '{')
		j := strings.IndexByte(p[max(i, 0):], '}')
		if i < 0 || j < 0 {
			return p
		}
		p = p[:i] + "1" + p[i+j+1:]
	}
}

// curl renders a curl command sending creds where loc says.
func curl(base, path string, loc credentials.Location, creds [][2]string) string {
	switch loc {
	case credentials.InHeaders:
		var h strings.Builder
		for _, c := range creds {
			fmt.Fprintf(&h, "-H '%s: %s' ", c[0], c[1])
		}
		return fmt.Sprintf("curl -i %s'%s%s'", h.String(), base, path)
	case credentials.InAuthorization:
		user, pass := creds[0][1], ""
		if len(creds) > 1 {
			pass = creds[1][1]
		}
		return fmt.Sprintf("curl -i -u '%s:%s' '%s%s'", user, pass, base, path)
	default:
		q := url.Values{}
		for _, c := range creds {
			q.Set(c[0], c[1])
		}
		return fmt.Sprintf("curl -i '%s%s?%s'", base, path, q.Encode())
	}
}

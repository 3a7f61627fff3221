package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
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

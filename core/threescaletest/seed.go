package threescaletest

import "github.com/threescale-go/threescale/core"

// Credentials of [DemoSeed].
const (
	DemoServiceToken = "st_test" // service token of services 42, 43 and 44
	DemoProviderKey  = "pk_test" // provider key of the account; default service 42
)

// DemoSeed returns the data the recorded captures of the real backend were
// taken with (shared/3scale/captures):
//
//   - service "42" (backend_version 2, default service of pk_test), metrics
//     hits and its child search. Applications with plan "Basic" (hits: day
//     1000, minute 5): app1 (key key1), app2 (key key2), app_susp (key
//     keys, suspended), app_report (key keyr); app_eternal with plan
//     "Eternal" (hits: eternity 3) and no keys.
//   - service "43" (backend_version 1, user keys), metric hits: application
//     app_uk1 with user key uk1, plan "UK" (hits: day 100).
//   - service "44" (oauth), metric hits: application oapp1 with key
//     osecret, redirect URL https://example.com/cb, plan "OAuth" (hits:
//     hour 50).
//
// All three services use the service token st_test and the provider key
// pk_test.
func DemoSeed() Seed {
	svc := func(id, version string, metrics ...Metric) Service {
		return Service{ID: id, Token: DemoServiceToken, ProviderKey: DemoProviderKey, BackendVersion: version, Metrics: metrics}
	}
	hits := Metric{Name: "hits"}
	basic := Plan{Name: "Basic", Limits: []Limit{{"hits", core.PeriodDay, 1000}, {"hits", core.PeriodMinute, 5}}}
	app := func(id, key string) Application {
		return Application{ServiceID: "42", ID: id, Plan: basic, Keys: []string{key}}
	}
	susp := app("app_susp", "keys")
	susp.Suspended = true
	return Seed{
		Services: []Service{
			svc("42", BackendVersionAppID, hits, Metric{Name: "search", Parent: "hits"}),
			svc("43", BackendVersionUserKey, hits),
			svc("44", BackendVersionOAuth, hits),
		},
		Applications: []Application{
			app("app1", "key1"), app("app2", "key2"), susp, app("app_report", "keyr"),
			{ServiceID: "42", ID: "app_eternal", Plan: Plan{Name: "Eternal", Limits: []Limit{{"hits", core.PeriodEternity, 3}}}},
			{ServiceID: "43", ID: "app_uk1", UserKey: "uk1", Plan: Plan{Name: "UK", Limits: []Limit{{"hits", core.PeriodDay, 100}}}},
			{ServiceID: "44", ID: "oapp1", Keys: []string{"osecret"}, RedirectURL: "https://example.com/cb",
				Plan: Plan{Name: "OAuth", Limits: []Limit{{"hits", core.PeriodHour, 50}}}},
		},
	}
}

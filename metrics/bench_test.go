package metrics_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/metrics"
)

// realisticRules returns 100 rules shaped like a real product API: a
// catch-all hits rule, CRUD rules per resource, nested resources, a search
// rule with query conditions and a free health check.
func realisticRules() []metrics.Rule {
	resources := []string{
		"products", "orders", "customers", "invoices", "payments", "shipments", "reviews", "categories",
		"carts", "coupons", "users", "accounts", "webhooks", "reports", "inventory", "suppliers",
		"warehouses", "returns", "subscriptions",
	}
	rules := []metrics.Rule{{Method: "ANY", Pattern: "/", Metric: "hits", Delta: 1, Position: 0}}
	add := func(method, pattern, metric string, delta int64) {
		rules = append(rules, metrics.Rule{Method: method, Pattern: pattern, Metric: metric, Delta: delta, Position: len(rules)})
	}
	for _, res := range resources {
		add("GET", "/v1/"+res+"$", res+"_list", 1)
		add("POST", "/v1/"+res+"$", res+"_create", 2)
		add("GET", "/v1/"+res+"/{id}$", res+"_read", 1)
		add("PUT", "/v1/"+res+"/{id}$", res+"_update", 2)
		add("DELETE", "/v1/"+res+"/{id}$", res+"_delete", 1)
	}
	add("GET", "/v1/search?q={q}&lang=en", "search", 3)
	add("GET", "/v1/products/{id}/reviews", "reviews_list", 1)
	add("GET", "/v1/orders/{order_id}/items/{item_id}$", "order_items", 1)
	add("GET", "/health$", "health", 0)
	return rules
}

func BenchmarkMapRules(b *testing.B) {
	rules := realisticRules()
	require.Len(b, rules, 100)
	m, err := metrics.CompileRules(rules)
	require.NoError(b, err)
	for _, bc := range []struct{ name, method, target string }{
		{"nested_params", "GET", "/v1/orders/123/items/456?expand=true"},
		{"crud_read", "GET", "/v1/subscriptions/sub_8f2a"},
		{"query_conditions", "GET", "/v1/search?lang=en&q=shoes&page=2"},
		{"catch_all_only", "PATCH", "/v2/unknown"},
	} {
		r := httptest.NewRequest(bc.method, bc.target, nil)
		_, err := m.Map(r)
		require.NoError(b, err)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = m.Map(r)
			}
		})
	}
}

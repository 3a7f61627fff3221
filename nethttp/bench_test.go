package threescale_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	threescale "github.com/threescale-go/threescale/nethttp"
)

// staticDecider allows everything (or, with deny, denies everything with
// limits_exceeded) without a network call, to measure the engine's own
// cost.
type staticDecider struct{ deny bool }

func (s staticDecider) Decide(context.Context, threescale.Query) (*threescale.Decision, error) {
	d := &threescale.Decision{Allowed: !s.deny, Source: "static", Plan: "p",
		RateLimit: core.RateLimit{Present: true, Remaining: 9, MaxValue: 10, HasMax: true, Reset: 30e9, HasReset: true}}
	if s.deny {
		d.Reason, d.ReasonText, d.RateLimit.Remaining = core.ReasonLimitsExceeded, "usage limits are exceeded", 0
	}
	return d, nil
}
func (staticDecider) Close(context.Context) error { return nil }

// discardWriter is a ResponseWriter that keeps nothing but its headers.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkCheck measures the engine's per-request overhead (credentials,
// mapping, decision plumbing, rate-limit headers, context) with a decider
// that answers at once: go test -bench Check -benchmem ./nethttp
func BenchmarkCheck(b *testing.B) {
	for _, bc := range []struct {
		name   string
		opts   []threescale.Option
		target string
		allow  bool
	}{
		{"default", nil, "/hello?user_key=0123456789abcdef", true},
		{"no-ratelimit-headers", []threescale.Option{threescale.WithRateLimitHeaders(false)}, "/hello?user_key=0123456789abcdef", true},
		{"per-route-usage", []threescale.Option{threescale.WithUsage(core.Usage{"reads": 1, "hits": 1})}, "/hello?user_key=0123456789abcdef", true},
		{"denied", []threescale.Option{threescale.WithDecider(staticDecider{deny: true})}, "/hello?user_key=0123456789abcdef", false},
		{"missing-credentials", nil, "/hello", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := threescale.New(append([]threescale.Option{threescale.WithDecider(staticDecider{}), quiet}, bc.opts...)...)
			require.NoError(b, err)
			req := httptest.NewRequest(http.MethodGet, bc.target, nil)
			w := &discardWriter{h: make(http.Header, 8)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				if _, ok := e.Check(w, req); ok != bc.allow {
					b.Fatalf("allowed %v, want %v", ok, bc.allow)
				}
			}
		})
	}
}

func TestConcurrentRequests(t *testing.T) {
	e, err := threescale.New(threescale.WithDecider(staticDecider{}), quiet)
	require.NoError(t, err)
	h := e.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := threescale.FromContext(r.Context())
		if !ok || d.Usage["hits"] != 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	var wg sync.WaitGroup
	codes := make([]int, 64)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?user_key=k", nil))
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	for _, c := range codes {
		assert.Equal(t, http.StatusOK, c)
	}
}

// TestCheckAllocations keeps BenchmarkCheck's figures from regressing: an
// allowed request costs the Decision, the rate-limit header values, the
// context value and the request copy, and nothing per request for static
// usage; a rejection builds no log attributes or error text while debug
// logging is off.
func TestCheckAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, tc := range []struct {
		name   string
		opts   []threescale.Option
		target string
		max    float64
	}{
		{"allowed", nil, "/hello?user_key=0123456789abcdef", 4},
		{"per-route usage", []threescale.Option{threescale.WithUsage(core.Usage{"reads": 1})}, "/hello?user_key=0123456789abcdef", 4},
		{"missing credentials", nil, "/hello", 6},
		{"denied", []threescale.Option{threescale.WithDecider(staticDecider{deny: true})}, "/hello?user_key=0123456789abcdef", 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := threescale.New(append([]threescale.Option{threescale.WithDecider(staticDecider{}), quiet}, tc.opts...)...)
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodGet, tc.target, nil)
			w := &discardWriter{h: make(http.Header, 8)}
			allocs := testing.AllocsPerRun(100, func() {
				clear(w.h)
				e.Check(w, req)
			})
			assert.LessOrEqual(t, allocs, tc.max)
		})
	}
}

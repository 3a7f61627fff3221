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

// staticDecider allows everything without a network call, to measure the
// engine's own cost.
type staticDecider struct{}

func (staticDecider) Decide(context.Context, threescale.Query) (*threescale.Decision, error) {
	return &threescale.Decision{Allowed: true, Source: "static", Plan: "p",
		RateLimit: core.RateLimit{Present: true, Remaining: 9, MaxValue: 10, HasMax: true, Reset: 30e9, HasReset: true}}, nil
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
		name string
		opts []threescale.Option
	}{
		{"default", nil},
		{"no-ratelimit-headers", []threescale.Option{threescale.WithRateLimitHeaders(false)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := threescale.New(append([]threescale.Option{threescale.WithDecider(staticDecider{}), quiet}, bc.opts...)...)
			require.NoError(b, err)
			req := httptest.NewRequest(http.MethodGet, "/hello?user_key=0123456789abcdef", nil)
			w := &discardWriter{h: make(http.Header, 4)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				if _, ok := e.Check(w, req); !ok {
					b.Fatal("rejected")
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

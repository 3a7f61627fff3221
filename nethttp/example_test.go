package threescale_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/core/threescaletest"
	"github.com/threescale-go/threescale/credentials"
	threescale "github.com/threescale-go/threescale/nethttp"
)

// newBackend starts a simulated 3scale backend: service "43" takes
// user_key "uk1" (plan "UK"), service "42" app_id "app1" / app_key "key1"
// (plan "Basic").
func newBackend() *threescaletest.Server {
	return threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()))
}

func get(h http.Handler, target string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	fmt.Println(rec.Code, rec.Body.String())
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// The headline use: one import, one line around a net/http handler.
func ExampleMiddleware() {
	backend := newBackend()
	defer backend.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		d, _ := threescale.FromContext(r.Context())
		fmt.Fprintf(w, "hello, %s on plan %s", d.Identity(), d.Plan)
	})
	protected := threescale.Middleware(
		threescale.WithBackendURL(backend.URL), // default: the 3scale SaaS backend
		threescale.WithServiceToken("43", threescaletest.DemoServiceToken),
	)(mux)

	get(protected, "/hello?user_key=uk1")
	get(protected, "/hello")
	// Output:
	// 200 hello, user_key:[redacted] on plan UK
	// 401 Authentication parameters missing
}

// New returns construction errors and gives access to Close and to
// per-route views.
func ExampleNew() {
	backend := newBackend()
	defer backend.Close()

	e, err := threescale.New(
		threescale.WithBackendURL(backend.URL),
		threescale.WithServiceToken("43", threescaletest.DemoServiceToken),
		threescale.WithLogger(discard),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close(context.Background())

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })
	get(e.Handler(hello), "/?user_key=uk1")
	get(e.Handler(hello), "/?user_key=wrong")
	// Output:
	// 200 hi
	// 403 user key "[redacted]" is invalid
}

// Per-route usage: each route reports its own metrics; the engine's
// default (hits=1) applies elsewhere.
func ExampleEngine_With() {
	backend := newBackend()
	defer backend.Close()
	e, _ := threescale.New(
		threescale.WithBackendURL(backend.URL),
		threescale.WithServiceToken("42", threescaletest.DemoServiceToken),
		threescale.WithCredentials(credentials.AppIDMode()),
		threescale.WithLogger(discard),
	)
	defer e.Close(context.Background())

	usage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := threescale.FromContext(r.Context())
		_ = json.NewEncoder(w).Encode(d.Usage)
	})
	search := e.MustWith(threescale.WithUsage(core.Usage{"search": 1}))
	mux := http.NewServeMux()
	mux.Handle("GET /search", search.Handler(usage))
	mux.Handle("GET /", e.Handler(usage))

	get(mux, "/search?app_id=app1&app_key=key1")
	get(mux, "/home?app_id=app1&app_key=key1")
	fmt.Println("search:", backend.Counter("42", "app1", "search", core.PeriodDay), "hits:", backend.Counter("42", "app1", "hits", core.PeriodDay))
	// Output:
	// 200 {"search":1}
	//
	// 200 {"hits":1}
	//
	// search: 1 hits: 2
}

// Limits exceeded: 409 by default, 429 as APIcast with one option, with
// Retry-After and the RateLimit headers.
func ExampleWithTooManyRequests() {
	backend := newBackend()
	defer backend.Close()
	backend.SetCounter("42", "app1", "hits", core.PeriodMinute, 5) // plan Basic: 5 per minute
	e, _ := threescale.New(
		threescale.WithBackendURL(backend.URL),
		threescale.WithServiceToken("42", threescaletest.DemoServiceToken),
		threescale.WithCredentials(credentials.AppIDMode()),
		threescale.WithTooManyRequests(),
		threescale.WithLogger(discard),
	)
	defer e.Close(context.Background())

	rec := httptest.NewRecorder()
	e.Handler(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?app_id=app1&app_key=key1", nil))
	fmt.Println(rec.Code, rec.Body.String())
	fmt.Println("limit:", rec.Header().Get("RateLimit-Limit"), "remaining:", rec.Header().Get("RateLimit-Remaining"),
		"retry-after set:", rec.Header().Get("Retry-After") != "")
	// Output:
	// 429 usage limits are exceeded
	// limit: 5 remaining: 0 retry-after set: true
}

// A custom ErrorHandler, shared by every adapter, answering RFC 9457
// problem details in JSON. The RejectError carries the sentinel (Kind),
// the resolved default Response, the 3scale Reason, RetryAfter, the
// Decision when 3scale answered, and the cause (Err), which is for logs:
// its text has no secrets but may describe our configuration.
func ExampleWithErrorHandler() {
	backend := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()),
		threescaletest.WithClock(func() time.Time { return time.Date(2026, 3, 14, 12, 0, 30, 0, time.UTC) }))
	defer backend.Close()
	backend.SetCounter("42", "app2", "hits", core.PeriodMinute, 5) // app2's plan allows 5 per minute

	type problem struct {
		Type       string `json:"type"`
		Title      string `json:"title"`
		Status     int    `json:"status"`
		Detail     string `json:"detail,omitempty"`
		Reason     string `json:"reason,omitempty"`
		Plan       string `json:"plan,omitempty"`
		RetryAfter int    `json:"retry_after,omitempty"`
	}
	problems := func(w http.ResponseWriter, r *http.Request, err error) {
		var re *threescale.RejectError
		if !errors.As(err, &re) {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		p := problem{Type: "about:blank", Status: re.Response.Status, Reason: re.Reason,
			Title: http.StatusText(re.Response.Status), RetryAfter: int(re.RetryAfter.Seconds())}
		switch {
		case errors.Is(err, threescale.ErrMisconfigured), errors.Is(err, threescale.ErrCanceled):
			// nothing more for the client: the engine logged the cause
		case errors.Is(err, threescale.ErrLimitsExceeded):
			p.Type, p.Detail = "https://example.com/problems/quota", re.Response.Body
		default:
			p.Detail = re.Response.Body
		}
		if re.Decision != nil {
			p.Plan = re.Decision.Plan
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(re.Response.Status)
		_ = json.NewEncoder(w).Encode(p)
	}
	e, _ := threescale.New(
		threescale.WithBackendURL(backend.URL),
		threescale.WithServiceToken("42", threescaletest.DemoServiceToken),
		threescale.WithCredentials(credentials.AppIDMode()),
		threescale.WithErrorHandler(problems),
		threescale.WithTooManyRequests(),
		threescale.WithLogger(discard),
	)
	defer e.Close(context.Background())

	h := e.Handler(http.NotFoundHandler())
	get(h, "/?app_id=app_susp&app_key=keys")
	get(h, "/?app_id=app2&app_key=key2")
	get(h, "/")
	// Output:
	// 403 {"type":"about:blank","title":"Forbidden","status":403,"detail":"application is not active","reason":"application_not_active","plan":"Basic"}
	//
	// 429 {"type":"https://example.com/problems/quota","title":"Too Many Requests","status":429,"detail":"usage limits are exceeded","reason":"limits_exceeded","plan":"Basic","retry_after":30}
	//
	// 401 {"type":"about:blank","title":"Unauthorized","status":401,"detail":"Authentication parameters missing"}
}

// Handlers can be tested without 3scale by putting a Decision in the
// request context.
func ExampleFromContext() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := threescale.FromContext(r.Context())
		if !ok {
			http.Error(w, "not protected", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s %s %v", d.AppID, d.Plan, d.Usage)
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(threescale.NewContext(req.Context(), &threescale.Decision{
		Allowed: true, AppID: "app1", Plan: "Gold", Usage: core.Usage{"hits": 1},
	}))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output: app1 Gold map[hits:1]
}

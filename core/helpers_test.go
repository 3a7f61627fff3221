package core

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedDir returns ../../shared/3scale/<sub>: the shared corpus sits beside
// the repository root (/work/main next to /work/shared locally, and the same
// layout in CI). The test is skipped, loudly, only when it is absent.
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "3scale", sub)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		t.Skipf("shared 3scale corpus not found at %s (expected shared/ beside the repository root): %v", dir, err)
	}
	return dir
}

// capture is one raw HTTP response recorded from apisonator.
type capture struct {
	Status int
	Header http.Header
	Body   []byte
}

// parseCapture reads a `curl -i` capture: status line, CRLF headers
// (canonicalised by textproto, exactly as net/http would), blank line, body.
func parseCapture(t testing.TB, raw []byte) capture {
	t.Helper()
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	require.GreaterOrEqual(t, i, 0, "capture has no CRLF blank line after its headers")
	head, body := raw[:i+4], raw[i+4:]
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(head)))
	line, err := tp.ReadLine()
	require.NoError(t, err)
	proto, rest, ok := strings.Cut(line, " ")
	require.True(t, ok, "bad status line %q", line)
	require.True(t, strings.HasPrefix(proto, "HTTP/"), "bad status line %q", line)
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	require.NoError(t, err, "bad status line %q", line)
	mh, err := tp.ReadMIMEHeader()
	require.NoError(t, err)
	h := http.Header(mh)
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		require.NoError(t, err)
		require.Equal(t, n, len(body), "capture body length disagrees with its Content-Length")
	}
	return capture{Status: status, Header: h, Body: body}
}

func readCapture(t testing.TB, path string) capture {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return parseCapture(t, raw)
}

// listDir returns the names of the regular files in dir matching the
// extension filter (all but README.md when exts is empty).
func listDir(t testing.TB, dir string, exts ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		if len(exts) > 0 {
			ok := false
			for _, x := range exts {
				ok = ok || strings.HasSuffix(e.Name(), x)
			}
			if !ok {
				continue
			}
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// utc parses "2006-01-02 15:04:05" as UTC; "" is the zero time.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	tm, err := time.ParseInLocation(time.DateTime, s, time.UTC)
	require.NoError(t, err)
	return tm
}

// wantErr is the expected typed error of a response.
type wantErr struct {
	kind    error
	status  int
	code    string
	message string // "" means "don't care" only when anyMsg is set
	anyMsg  bool
}

func assertError(t testing.TB, want wantErr, err error) {
	t.Helper()
	require.Error(t, err)
	var e *Error
	require.True(t, errors.As(err, &e), "error %T %v is not a *core.Error", err, err)
	assert.ErrorIs(t, err, want.kind)
	assert.Equal(t, want.kind, e.Kind, "Kind")
	assert.Equal(t, want.status, e.StatusCode, "StatusCode")
	assert.Equal(t, want.code, e.Code, "Code")
	if !want.anyMsg {
		assert.Equal(t, want.message, e.Message, "Message")
	}
	// Exactly one class matches (timeouts also match ErrBackendUnavailable).
	for _, k := range allKinds {
		if k == want.kind || (want.kind == ErrTimeout && k == ErrBackendUnavailable) {
			continue
		}
		assert.NotErrorIs(t, err, k, "error must not match another class")
	}
	assert.NotPanics(t, func() { _ = err.Error() })
}

var allKinds = []error{
	ErrInvalidInput, ErrServiceCredentials, ErrApplicationNotFound, ErrUserKeyInvalid,
	ErrCredentialsConflict, ErrMetricInvalid, ErrUsageValueInvalid, ErrBadRequest,
	ErrBackendUnavailable, ErrTimeout,
}

// assertAuth compares an AuthResult field by field (for readable failures).
func assertAuth(t testing.TB, want, got *AuthResult) {
	t.Helper()
	require.NotNil(t, got)
	assert.Equal(t, want.Authorized, got.Authorized, "Authorized")
	assert.Equal(t, want.Reason, got.Reason, "Reason")
	assert.Equal(t, want.ReasonText, got.ReasonText, "ReasonText")
	assert.Equal(t, want.Plan, got.Plan, "Plan")
	assert.Equal(t, want.StatusCode, got.StatusCode, "StatusCode")
	assert.Equal(t, want.NoBody, got.NoBody, "NoBody")
	if assert.Len(t, got.UsageReports, len(want.UsageReports), "UsageReports") {
		for i, w := range want.UsageReports {
			g := got.UsageReports[i]
			assert.Equal(t, w.Metric, g.Metric, "report %d Metric", i)
			assert.Equal(t, w.Period, g.Period, "report %d Period", i)
			assert.True(t, w.PeriodStart.Equal(g.PeriodStart), "report %d PeriodStart: want %v got %v", i, w.PeriodStart, g.PeriodStart)
			assert.True(t, w.PeriodEnd.Equal(g.PeriodEnd), "report %d PeriodEnd: want %v got %v", i, w.PeriodEnd, g.PeriodEnd)
			assert.Equal(t, w.PeriodStart.IsZero(), g.PeriodStart.IsZero(), "report %d PeriodStart zero-ness", i)
			assert.Equal(t, w.PeriodEnd.IsZero(), g.PeriodEnd.IsZero(), "report %d PeriodEnd zero-ness", i)
			if !g.PeriodStart.IsZero() {
				assert.Equal(t, time.UTC, g.PeriodStart.Location(), "report %d PeriodStart location", i)
			}
			assert.Equal(t, w.MaxValue, g.MaxValue, "report %d MaxValue", i)
			assert.Equal(t, w.CurrentValue, g.CurrentValue, "report %d CurrentValue", i)
			assert.Equal(t, w.Exceeded, g.Exceeded, "report %d Exceeded", i)
		}
	}
	assert.Equal(t, want.RateLimit, got.RateLimit, "RateLimit")
	if want.Hierarchy == nil {
		assert.Nil(t, got.Hierarchy, "Hierarchy")
	} else {
		require.NotNil(t, got.Hierarchy, "Hierarchy")
		assert.Len(t, got.Hierarchy, len(want.Hierarchy), "Hierarchy size")
		for parent, children := range want.Hierarchy {
			gc, ok := got.Hierarchy[parent]
			assert.True(t, ok, "Hierarchy lacks %q", parent)
			assert.ElementsMatch(t, children, gc, "children of %q", parent)
		}
	}
	if want.AppKeys == nil {
		assert.Nil(t, got.AppKeys, "AppKeys")
	} else if assert.NotNil(t, got.AppKeys, "AppKeys") {
		assert.Equal(t, want.AppKeys.App, got.AppKeys.App, "AppKeys.App")
		assert.Equal(t, want.AppKeys.Service, got.AppKeys.Service, "AppKeys.Service")
		assert.ElementsMatch(t, want.AppKeys.Keys, got.AppKeys.Keys, "AppKeys.Keys")
	}
	assert.Equal(t, want.Application, got.Application, "Application")
	assert.Equal(t, !want.Authorized && want.Reason == ReasonLimitsExceeded, got.LimitsExceeded(), "LimitsExceeded()")
}

// rt is an http.RoundTripper func.
type rt func(*http.Request) (*http.Response, error)

func (f rt) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// recorded is a request as the transport saw it.
type recorded struct {
	Method   string
	Scheme   string
	Host     string
	URLHost  string
	Path     string
	RawQuery string
	Header   http.Header
	Body     string
	HasBody  bool
	CLength  int64
}

// recorder is a transport that records every request and answers with
// respond (200 + an authorized document for GET, 202 for POST by default).
type recorder struct {
	mu      sync.Mutex
	reqs    []recorded
	respond func(r *http.Request, n int) *http.Response
}

const okBody = `<?xml version="1.0" encoding="UTF-8"?><status><authorized>true</authorized><plan>Basic</plan></status>`

func newResponse(r *http.Request, status int, h http.Header, body string) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	x := recorded{
		Method: r.Method, Scheme: r.URL.Scheme, Host: r.Host, URLHost: r.URL.Host,
		Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), CLength: r.ContentLength,
	}
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = r.Body.Close()
		x.Body, x.HasBody = string(b), true
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, x)
	n := len(rec.reqs)
	rec.mu.Unlock()
	if rec.respond != nil {
		return rec.respond(r, n), nil
	}
	if r.Method == http.MethodPost {
		return newResponse(r, http.StatusAccepted, nil, ""), nil
	}
	return newResponse(r, http.StatusOK, nil, okBody), nil
}

func (rec *recorder) all() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

// newTestClient builds a client with service 42/st on a recording transport.
func newTestClient(t testing.TB, rec http.RoundTripper, opts ...Option) *Client {
	t.Helper()
	base := []Option{
		WithBackendURL("http://127.0.0.1:3000"),
		WithServiceToken("42", "st"),
		WithHTTPClient(&http.Client{Transport: rec}),
	}
	c, err := NewClient(append(base, opts...)...)
	require.NoError(t, err)
	return c
}

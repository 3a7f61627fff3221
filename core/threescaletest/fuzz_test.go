package threescaletest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ts "github.com/threescale-go/threescale/core/threescaletest"
)

// FuzzHandler feeds arbitrary query strings, 3scale-options headers,
// content types and bodies to every route through Handler: the simulator
// must never panic and must always answer with a sane status.
func FuzzHandler(f *testing.F) {
	for _, s := range []struct{ path, query, options, ctype, body string }{
		{"/transactions/authrep.xml", "service_token=st_test&service_id=42&app_id=app1&app_key=key1&usage%5Bhits%5D=1", "limit_headers=1&hierarchy=1", "", ""},
		{"/transactions/authorize.xml", "provider_key=pk_test&user_key=uk1&usage%5Bhits%5D=%2399999999999999999999", "list_app_keys=1&flat_usage=1", "", ""},
		{"/transactions/oauth_authrep.xml", "service_token=st_test&service_id=44&app_id=oapp1&redirect_uri=x&usage[hits][]=1", "no_body=1", "", ""},
		{"/transactions/authorize.xml", "usage[]=1&usage[hits]=1&a[b][c][d]=%ff&%", "a[]=1&a[b]=2", "", ""},
		{"/transactions.xml", "", "", "application/x-www-form-urlencoded",
			"service_token=st_test&service_id=42&transactions[0][app_id]=app1&transactions[0][usage][hits]=1&transactions[0][timestamp]=0x10"},
		{"/transactions.xml", "", "", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"transactions[0][user_key]\"\r\n\r\nuk1\r\n--x--\r\n"},
		{"/transactions.xml", "provider_key=pk_test", "", "", "transactions[][app_id]=1&transactions[0]"},
	} {
		f.Add(s.path, s.query, s.options, s.ctype, s.body)
	}
	srv := ts.NewServer(ts.WithSeed(ts.DemoSeed()))
	f.Cleanup(srv.Close)
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, path, query, options, ctype, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# \r\n") {
			path = "/transactions/authrep.xml"
		}
		method := http.MethodGet
		if body != "" || path == "/transactions.xml" {
			method = http.MethodPost
		}
		req := httptest.NewRequest(method, "http://backend.test/", strings.NewReader(body))
		req.URL.Path, req.URL.RawQuery = path, query
		if utf8.ValidString(options) && !strings.ContainsAny(options, "\r\n") {
			req.Header.Set("3scale-options", options)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		srv.ResetRequests() // keep the recorded requests from growing without bound
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s %s?%q options %q ctype %q body %q: no answer after 5s", method, path, query, options, ctype, body)
		}
		if rec.Code < 200 || rec.Code > 499 {
			t.Fatalf("%s %s?%s: status %d", method, path, query, rec.Code)
		}
		if rec.Code == 200 && rec.Body.Len() == 0 && path != "/available" {
			// 200 bodies are only empty with no_body.
			if !strings.Contains(lenientUnescape(query)+lenientUnescape(options), "no_body") {
				t.Fatalf("%s %s?%s: empty 200", method, path, query)
			}
		}
	})
}

// lenientUnescape percent-decodes s, or returns it as is if it is not
// well-formed.
func lenientUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

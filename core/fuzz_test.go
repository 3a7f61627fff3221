package core

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// fuzzHeader carries every header the parser reads, so header-driven paths
// (rejection reason, limit headers) run on every input.
var fuzzHeader = http.Header{
	"3scale-Rejection-Reason": {"limits_exceeded"},
	"3scale-Limit-Remaining":  {"3"},
	"3scale-Limit-Reset":      {"-1"},
	"3scale-Limit-Max-Value":  {"10"},
}

// FuzzParseAuthResponse: no input panics, and a nil error always comes with
// a result that agrees with the status code.
func FuzzParseAuthResponse(f *testing.F) {
	for _, sub := range []string{"captures", "fixtures"} {
		dir := filepath.Join("..", "..", "shared", "3scale", sub)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // corpus absent: the inline seeds below still run
		}
		for _, e := range entries {
			if e.IsDir() || e.Name() == "README.md" {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			if sub == "captures" {
				c := parseCapture(f, raw)
				f.Add(c.Status, c.Body)
				continue
			}
			for _, st := range []int{200, 409, 404} {
				f.Add(st, raw)
			}
		}
	}
	for _, s := range []string{
		"", "<", "<status>", "<status></status>", "<error", "<error code=\"x\">", "<error code='x'/>",
		string(statusDoc(`<authorized>false</authorized><reason>referrer "a&b<c" is not allowed</reason><plan>B&amp;</plan>`)),
		string(statusDoc(`<authorized>true</authorized><usage_reports><usage_report metric="h" period="eternity"/></usage_reports>`)),
		string(statusDoc(`<authorized>true</authorized><app_keys app="a" svc="s"><key id="k"/><key id=/></app_keys><hierarchy><metric name="a" children="b c"/><metric name=/></hierarchy>`)),
		string(statusDoc(`<authorized>true</authorized><application><id>a</id><key/><redirect_uri>&#x110000;&#0;&#xZZ;</redirect_uri></application>`)),
		"<html><body>502</body></html>", "Internal Server Error\n",
	} {
		f.Add(200, []byte(s))
		f.Add(409, []byte(s))
	}

	f.Fuzz(func(t *testing.T, status int, body []byte) {
		for _, h := range []http.Header{nil, fuzzHeader} {
			res, err := ParseAuthResponse(status, h, body)
			checkParseInvariants(t, status, res, err, false)
			res2, perr := parseAuthResponse(status, h, body, true)
			var err2 error
			if perr != nil {
				err2 = perr
			}
			checkParseInvariants(t, status, res2, err2, true)
		}
	})
}

func checkParseInvariants(t *testing.T, status int, res *AuthResult, err error, noBody bool) {
	t.Helper()
	if err == nil {
		if res == nil {
			t.Fatalf("nil error and nil result (status %d, noBody %v)", status, noBody)
		}
		if status != 200 && status != 409 {
			t.Fatalf("result for status %d", status)
		}
		if res.Authorized != (status == 200) {
			t.Fatalf("Authorized=%v for status %d", res.Authorized, status)
		}
		if res.StatusCode != status {
			t.Fatalf("StatusCode %d for status %d", res.StatusCode, status)
		}
		if !res.Authorized && res.Reason == ReasonNone {
			t.Fatalf("denial without a reason code")
		}
		if res.Authorized && res.Reason != ReasonNone {
			t.Fatalf("authorized with reason %q", res.Reason)
		}
		if res.NoBody && !noBody {
			t.Fatalf("NoBody result without the no_body extension")
		}
		for _, r := range res.UsageReports {
			if r.Period == PeriodEternity && (!r.PeriodStart.IsZero() || !r.PeriodEnd.IsZero()) {
				t.Fatalf("eternity report with period times: %+v", r)
			}
		}
		return
	}
	if res != nil {
		t.Fatalf("both a result and an error: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	if e.Kind == nil || !errors.Is(err, e.Kind) {
		t.Fatalf("error without a matching class: %#v", e)
	}
	if e.StatusCode != status {
		t.Fatalf("error StatusCode %d for status %d", e.StatusCode, status)
	}
	if errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrTimeout) {
		t.Fatalf("parse error classed as %v", e.Kind)
	}
	_ = err.Error()
}

// FuzzAppendEscaped: the allocation-free escaper is url.QueryEscape.
func FuzzAppendEscaped(f *testing.F) {
	for _, s := range []string{"", "hits", "a b", "a&b=c", "[x]", "#10", "é€", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendEscaped([]byte("p"), s)), "p"+url.QueryEscape(s); got != want {
			t.Fatalf("appendEscaped(%q) = %q, want %q", s, got, want)
		}
		u := Usage{s: 1}
		if u.Validate() == nil {
			q, err := url.ParseQuery(string(appendUsage(nil, "usage", u)))
			if err != nil || q.Get("usage["+s+"]") != "1" {
				t.Fatalf("usage for metric %q does not round-trip: %v %v", s, q, err)
			}
		}
	})
}

package core

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
)

// benchBody is a realistic authorize/authrep answer: plan and two usage
// reports (capture 02 of the real backend).
const benchBody = `<?xml version="1.0" encoding="UTF-8"?><status><authorized>true</authorized><plan>Basic</plan><usage_reports><usage_report metric="hits" period="day"><period_start>2026-12-04 00:00:00 +0000</period_start><period_end>2026-12-05 00:00:00 +0000</period_end><max_value>1000</max_value><current_value>1</current_value></usage_report><usage_report metric="hits" period="minute"><period_start>2026-12-04 19:25:00 +0000</period_start><period_end>2026-12-04 19:26:00 +0000</period_end><max_value>5</max_value><current_value>1</current_value></usage_report></usage_reports></status>`

func benchHeader() http.Header {
	return http.Header{
		"Content-Type":           {"application/vnd.3scale-v2.0+xml"},
		"3scale-Limit-Remaining": {"4"},
		"3scale-Limit-Reset":     {"48"},
		"3scale-Limit-Max-Value": {"5"},
	}
}

func BenchmarkParseAuthResponse(b *testing.B) {
	body := []byte(benchBody)
	h := benchHeader()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		res, err := ParseAuthResponse(200, h, body)
		if err != nil || len(res.UsageReports) != 2 {
			b.Fatal(err)
		}
	}
}

// The encoding/xml baseline: a straightforward decode of the same body into
// equivalent structs (times parsed as the client must, header values too).
type xmlStatus struct {
	Authorized bool   `xml:"authorized"`
	Reason     string `xml:"reason"`
	Plan       string `xml:"plan"`
	Reports    []struct {
		Metric       string `xml:"metric,attr"`
		Period       string `xml:"period,attr"`
		Exceeded     bool   `xml:"exceeded,attr"`
		PeriodStart  string `xml:"period_start"`
		PeriodEnd    string `xml:"period_end"`
		MaxValue     int64  `xml:"max_value"`
		CurrentValue int64  `xml:"current_value"`
	} `xml:"usage_reports>usage_report"`
}

func parseWithEncodingXML(body []byte) (*AuthResult, error) {
	var doc xmlStatus
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	res := &AuthResult{Authorized: doc.Authorized, ReasonText: doc.Reason, Plan: doc.Plan}
	for _, r := range doc.Reports {
		res.UsageReports = append(res.UsageReports, UsageReport{
			Metric: r.Metric, Period: ParsePeriod(r.Period), Exceeded: r.Exceeded,
			PeriodStart: parseReportTime(r.PeriodStart), PeriodEnd: parseReportTime(r.PeriodEnd),
			MaxValue: r.MaxValue, CurrentValue: r.CurrentValue,
		})
	}
	return res, nil
}

func BenchmarkParseAuthResponseEncodingXML(b *testing.B) {
	body := []byte(benchBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		res, err := parseWithEncodingXML(body)
		if err != nil || len(res.UsageReports) != 2 {
			b.Fatal(err)
		}
	}
}

// cannedTransport answers every request in-process with the same body, so
// BenchmarkAuthRep measures only the client's own work.
type cannedTransport struct {
	status int
	header http.Header
	body   string
}

func (t *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    t.status,
		Header:        t.header,
		Body:          io.NopCloser(strings.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       r,
	}, nil
}

func BenchmarkAuthRep(b *testing.B) {
	c, err := NewClient(WithBackendURL("http://127.0.0.1:3000"), WithServiceToken("42", "st_test"),
		WithHTTPClient(&http.Client{Transport: &cannedTransport{status: 200, header: benchHeader(), body: benchBody}}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := AuthRequest{Credentials: AppID("app1", "key1"), Usage: Usage{"hits": 1}}
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.AuthRep(ctx, req)
		if err != nil || !res.Authorized {
			b.Fatal(err)
		}
	}
}

// TestAllocations guards the allocation goals (at most 8 for
// parsing, at most 20 for a whole AuthRep including the fake transport's
// 3). It is skipped under the race detector, which allocates; .ci/run runs
// it without.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	body, h := []byte(benchBody), benchHeader()
	parse := testing.AllocsPerRun(100, func() {
		if _, err := ParseAuthResponse(200, h, body); err != nil {
			t.Fatal(err)
		}
	})
	if parse > 8 {
		t.Errorf("ParseAuthResponse: %v allocations, want <= 8", parse)
	}

	c, err := NewClient(WithBackendURL("http://127.0.0.1:3000"), WithServiceToken("42", "st_test"),
		WithHTTPClient(&http.Client{Transport: &cannedTransport{status: 200, header: benchHeader(), body: benchBody}}))
	if err != nil {
		t.Fatal(err)
	}
	req := AuthRequest{Credentials: AppID("app1", "key1"), Usage: Usage{"hits": 1}}
	authrep := testing.AllocsPerRun(100, func() {
		if _, err := c.AuthRep(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	})
	if authrep > 20 {
		t.Errorf("AuthRep: %v allocations, want <= 20", authrep)
	}
}

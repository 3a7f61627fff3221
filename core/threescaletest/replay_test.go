package threescaletest_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core/threescaletest"
)

// capturesDir is shared/3scale/captures beside the repository root.
const capturesDir = "../../../shared/3scale/captures"

// captureRequest is one request of the captures README, from its curl
// command line.
type captureRequest struct {
	file    string
	method  string
	target  string // path?query
	headers []string
	body    string
}

var rowRe = regexp.MustCompile(`^\| (\S+\.http) \| [^|]+ \| (.*) \|$`)

// readCaptureRequests parses the table of the README, in order. A row
// "same request as NN, repeated ..." reuses the request of capture NN.
func readCaptureRequests(t *testing.T, dir string) []captureRequest {
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	var out []captureRequest
	byPrefix := map[string]captureRequest{}
	for _, line := range strings.Split(string(readme), "\n") {
		m := rowRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		file, cell := m[1], m[2]
		var cr captureRequest
		if rest, ok := strings.CutPrefix(cell, "same request as "); ok {
			prev, ok := byPrefix[rest[:2]]
			require.True(t, ok, "row %s refers to an unknown capture", file)
			cr = prev
		} else {
			require.True(t, strings.HasPrefix(cell, "`curl ") && strings.HasSuffix(cell, "`"), "row %s: %s", file, cell)
			cr = parseCurl(t, strings.Trim(cell, "`"))
		}
		cr.file = file
		byPrefix[file[:2]] = cr
		out = append(out, cr)
	}
	return out
}

// parseCurl understands the curl options used in the README (-g -i -H -X
// --data) and the backslash quoting of printf %q.
func parseCurl(t *testing.T, cmd string) captureRequest {
	var words []string
	var cur strings.Builder
	for i := 0; i < len(cmd); i++ {
		switch c := cmd[i]; {
		case c == '\\' && i+1 < len(cmd):
			i++
			cur.WriteByte(cmd[i])
		case c == ' ':
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	words = append(words, cur.String())
	cr := captureRequest{method: "GET"}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; w {
		case "-g", "-i":
		case "-H":
			i++
			cr.headers = append(cr.headers, words[i])
		case "-X":
			i++
			cr.method = words[i]
		case "--data":
			i++
			cr.body = words[i]
		default:
			require.True(t, strings.HasPrefix(w, "http://127.0.0.1:3001/"), "unexpected curl word %q", w)
			cr.target = strings.TrimPrefix(w, "http://127.0.0.1:3001")
		}
	}
	return cr
}

// rawResponse is a response as read from the wire, header names verbatim.
type rawResponse struct {
	status  int
	headers map[string]string // exact name -> value
	body    []byte
}

func parseRaw(t *testing.T, raw []byte) rawResponse {
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	require.True(t, ok, "no end of headers in %q", raw)
	lines := strings.Split(string(head), "\r\n")
	f := strings.Fields(lines[0])
	require.GreaterOrEqual(t, len(f), 2)
	code, err := strconv.Atoi(f[1])
	require.NoError(t, err)
	r := rawResponse{status: code, headers: map[string]string{}, body: body}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ": ")
		require.True(t, ok, "bad header line %q", l)
		r.headers[k] = v
	}
	return r
}

// send writes the request as curl would and reads the raw response.
func send(t *testing.T, baseURL string, cr captureRequest) rawResponse {
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	var b strings.Builder
	b.WriteString(cr.method + " " + cr.target + " HTTP/1.1\r\nHost: 127.0.0.1:3001\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n")
	for _, h := range cr.headers {
		b.WriteString(h + "\r\n")
	}
	if cr.body != "" {
		if !hasHeader(cr.headers, "Content-Type") {
			b.WriteString("Content-Type: application/x-www-form-urlencoded\r\n")
		}
		b.WriteString("Content-Length: " + strconv.Itoa(len(cr.body)) + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n" + cr.body)
	_, err = io.WriteString(conn, b.String())
	require.NoError(t, err)
	raw, err := io.ReadAll(bufio.NewReader(conn))
	require.NoError(t, err)
	return parseRaw(t, raw)
}

func hasHeader(hs []string, name string) bool {
	for _, h := range hs {
		if k, _, _ := strings.Cut(h, ":"); strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// relevantHeader: the headers the replay compares (by exact name).
func relevantHeader(name string) bool {
	return strings.HasPrefix(name, "content-type") || strings.HasPrefix(name, "access-control-") ||
		strings.HasPrefix(name, "3scale-") || name == "x-cascade" || name == "x-content-type-options" ||
		name == "content-security-policy" || name == "Content-Length"
}

// TestReplayCaptures replays every request of the captures README, in
// order, against a server seeded with DemoSeed, and compares status,
// headers (exact names and values) and body bytes. Nothing is normalised.
func TestReplayCaptures(t *testing.T) {
	if _, err := os.Stat(capturesDir); err != nil {
		t.Skipf("captures folder %s not found (shared/ must sit beside the repository root): %v", capturesDir, err)
	}
	reqs := readCaptureRequests(t, capturesDir)
	files, err := filepath.Glob(filepath.Join(capturesDir, "*.http"))
	require.NoError(t, err)
	require.Len(t, reqs, len(files), "every capture must have a README row")

	// The captures were taken at 19:25:12 (minute reset 48 in 02..06b, day
	// reset 16488 in 14); 22d's hour reset 2087 shows the clock had moved
	// to 19:25:13 by then.
	now := time.Date(2026, 12, 4, 19, 25, 12, 0, time.UTC)
	srv := threescaletest.NewServer(threescaletest.WithSeed(threescaletest.DemoSeed()),
		threescaletest.WithClock(func() time.Time { return now }))
	defer srv.Close()

	for _, cr := range reqs {
		if strings.HasPrefix(cr.file, "03_") {
			// "repeated until the 5th hit/minute": 02 was the 1st hit, so
			// three unchecked repetitions precede the captured 5th one.
			for range 3 {
				require.Equal(t, 200, send(t, srv.URL, cr).status)
			}
		}
		if strings.HasPrefix(cr.file, "22d_") {
			now = now.Add(time.Second)
			srv.SetClock(func() time.Time { return now })
		}
		t.Run(strings.TrimSuffix(cr.file, ".http"), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(capturesDir, cr.file))
			require.NoError(t, err)
			want := parseRaw(t, raw)
			got := send(t, srv.URL, cr)
			require.Equal(t, want.status, got.status)
			for k, v := range want.headers {
				if relevantHeader(k) {
					require.Contains(t, got.headers, k, "header %s", k)
					require.Equal(t, v, got.headers[k], "header %s", k)
				}
			}
			for k := range got.headers {
				if relevantHeader(k) {
					require.Contains(t, want.headers, k, "unexpected header %s", k)
				}
			}
			require.Equal(t, string(want.body), string(got.body))
		})
	}
	require.Len(t, srv.IntegrationErrors(), 1, "26c reports an unknown application")
	require.Equal(t, "application_not_found", srv.IntegrationErrors()[0].Code)
}

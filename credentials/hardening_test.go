package credentials_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/credentials"
)

// TestMain fails the package if any test leaves a goroutine behind: the
// extractors start none.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStripInCompositions checks that OneOf and FirstOf strip only for the
// credentials they return, and leave the request untouched on error: a
// member's Strip must neither hide credentials from the next member nor
// edit a request that is then rejected.
func TestStripInCompositions(t *testing.T) {
	auth := credentials.Locations(credentials.InAuthorization)
	tests := []struct {
		name      string
		ext       credentials.Extractor
		req       reqSpec
		want      core.Credentials
		err       error
		wantQuery string
		wantAuth  bool // Authorization header still present
	}{
		{
			name:      "hybrid both present: error, nothing stripped",
			ext:       credentials.Hybrid(credentials.Strip()),
			req:       reqSpec{target: "/p?app_id=a&x=1&user_key=" + secret},
			err:       credentials.ErrMalformed,
			wantQuery: "app_id=a&x=1&user_key=" + secret,
		},
		{
			name:     "hybrid Basic satisfies both modes: rejected with Strip as without",
			ext:      credentials.Hybrid(credentials.Strip(), auth),
			req:      reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic("a:" + secret)}}},
			err:      credentials.ErrMalformed,
			wantAuth: true,
		},
		{
			name:      "hybrid single winner is stripped",
			ext:       credentials.Hybrid(credentials.Strip()),
			req:       reqSpec{target: "/p?x=1&user_key=" + secret},
			want:      core.UserKey(secret),
			wantQuery: "x=1",
		},
		{
			name:      "hybrid app_id winner strips app_id and app_key",
			ext:       credentials.Hybrid(credentials.Strip()),
			req:       reqSpec{target: "/p?app_id=a&x=1&app_key=" + secret},
			want:      core.AppID("a", secret),
			wantQuery: "x=1",
		},
		{
			name: "one of a first-of: error leaves the request alone",
			ext: credentials.OneOf(
				credentials.FirstOf(credentials.UserKeyMode(credentials.Strip()), credentials.AppIDMode(credentials.Strip())),
				credentials.OAuthMode(credentials.Strip(), credentials.Locations(credentials.InHeaders)),
			),
			req:       reqSpec{target: "/p?user_key=" + secret, headers: [][2]string{{"Authorization", "Bearer c"}}},
			err:       credentials.ErrMalformed,
			wantQuery: "user_key=" + secret,
			wantAuth:  true,
		},
		{
			name:      "first of strips only the winner",
			ext:       credentials.FirstOf(credentials.UserKeyMode(credentials.Strip()), credentials.OAuthMode(credentials.Strip())),
			req:       reqSpec{target: "/p?user_key=" + secret, headers: [][2]string{{"Authorization", "Bearer c"}}},
			want:      core.UserKey(secret),
			wantQuery: "",
			wantAuth:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req.build()
			got, err := tt.ext.Extract(r)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.NotContains(t, err.Error(), secret)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
			assert.Equal(t, tt.wantQuery, r.URL.RawQuery)
			assert.Equal(t, tt.wantAuth, r.Header.Get("Authorization") != "")
		})
	}
}

// TestQueryNameASCIIFold checks that query names fold case like nginx's
// $arg_name (ASCII only): the Kelvin sign is not a "k".
func TestQueryNameASCIIFold(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/p?user_%E2%84%AAey="+secret, nil)
	_, err := credentials.UserKeyMode(credentials.Strip()).Extract(r)
	require.ErrorIs(t, err, credentials.ErrMissing)
	assert.Equal(t, "user_%E2%84%AAey="+secret, r.URL.RawQuery)

	r = httptest.NewRequest(http.MethodGet, "/p?User_KEY="+secret, nil)
	c, err := credentials.Default().Extract(r)
	require.NoError(t, err)
	assert.Equal(t, core.UserKey(secret), c)
}

// TestStripKeepsOtherParamsByteIdentical checks that Strip removes the
// credential from RawQuery and RequestURI (origin and absolute form), and
// from r.Form, and leaves every other byte of the query as it was.
func TestStripKeepsOtherParamsByteIdentical(t *testing.T) {
	const others = "a=%2B%2b&b&&c=&d=x+y&e=%zz&f=%E2%82%AC"
	tests := []struct{ target, wantURI string }{
		{"/p?" + others + "&user_key=" + secret, "/p?" + others},
		{"/p?user%5Fkey=" + secret + "&" + others, "/p?" + others},
		{"http://api.example.com/p?" + others + "&User_Key=" + secret, "http://api.example.com/p?" + others},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			u, err := url.ParseRequestURI(tt.target)
			require.NoError(t, err)
			r.URL, r.RequestURI = u, tt.target
			r.Form = url.Values{"user_key": {secret}, "a": {"++"}}
			c, err := credentials.UserKeyMode(credentials.Strip()).Extract(r)
			require.NoError(t, err)
			assert.Equal(t, core.UserKey(secret), c)
			assert.Equal(t, others, r.URL.RawQuery)
			assert.Equal(t, tt.wantURI, r.RequestURI)
			assert.NotContains(t, r.URL.String(), secret)
			assert.Equal(t, url.Values{"a": {"++"}}, r.Form)
		})
	}
}

// TestFormBodyContentLength checks that the form extractor leaves the body
// readable, whole, with a ContentLength that still matches it.
func TestFormBodyContentLength(t *testing.T) {
	body := "x=1&app_id=a&app_key=" + secret + "&z=%E2%82%AC"
	r := reqSpec{method: http.MethodPut, target: "/p", body: body, ctype: form}.build()
	require.Equal(t, int64(len(body)), r.ContentLength)
	c, err := credentials.AppIDMode().Extract(r)
	require.NoError(t, err)
	assert.Equal(t, core.AppID("a", secret), c)
	assert.Equal(t, int64(len(body)), r.ContentLength)
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(got))
	assert.Equal(t, int64(len(got)), r.ContentLength)
}

// TestPeekFormAfterPartialRead checks that a body the handler already
// started reading is not parsed (it cannot be seen whole).
func TestPeekFormAfterPartialRead(t *testing.T) {
	r := reqSpec{method: http.MethodPost, target: "/p", body: "user_key=" + secret, ctype: form}.build()
	require.NotNil(t, credentials.PeekForm(r))
	buf := make([]byte, 3)
	_, err := io.ReadFull(r.Body, buf)
	require.NoError(t, err)
	assert.Nil(t, credentials.PeekForm(r))
	rest, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, "user_key="+secret, string(buf)+string(rest))
}

type failingBody struct{ data *strings.Reader }

func (b failingBody) Read(p []byte) (int, error) {
	if b.data.Len() == 0 {
		return 0, errors.New("connection reset")
	}
	return b.data.Read(p)
}

func (failingBody) Close() error { return nil }

// TestPeekFormReadError checks that a body that fails part-way is never
// parsed, on the first call or later ones, and still replays what was read.
func TestPeekFormReadError(t *testing.T) {
	r := reqSpec{method: http.MethodPost, target: "/p", ctype: form}.build()
	r.Body = failingBody{strings.NewReader("user_key=" + secret)}
	assert.Nil(t, credentials.PeekForm(r))
	assert.Nil(t, credentials.PeekForm(r), "second call on the buffered partial body")
	_, err := credentials.Default().Extract(r)
	assert.ErrorIs(t, err, credentials.ErrMissing)
	got, err := io.ReadAll(r.Body)
	assert.Error(t, err)
	assert.Equal(t, "user_key="+secret, string(got))
}

// TestHostileRequests feeds hostile requests to every mode: no panic,
// exactly one sentinel on error, the secret never in the error text.
func TestHostileRequests(t *testing.T) {
	many := make([]string, 5000)
	for i := range many {
		many[i] = "p" + strconv.Itoa(i) + "=" + secret
	}
	huge := strings.Repeat(secret, 1<<17) // ~1 MiB
	reqs := map[string]func() *http.Request{
		"huge header": func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			r.Header.Set("User-Key", huge)
			r.Header.Set("Authorization", "Bearer "+huge)
			return r
		},
		"huge query value": func() *http.Request {
			return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/p", RawQuery: "user_key=" + huge + "&app_id=" + huge}, Header: http.Header{}}
		},
		"invalid UTF-8": func() *http.Request {
			return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/p", RawQuery: "user_key=%ff%fe" + secret + "&app_id=\xff"},
				Header: http.Header{"User-Key": {"\xff\xfe" + secret}, "Authorization": {"Basic \xff"}}}
		},
		"bad escapes": func() *http.Request {
			return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/p", RawQuery: "user_key=" + secret + "%zz&app_id=%&app_key=%4"}, Header: http.Header{}}
		},
		"thousands of params": func() *http.Request {
			return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/p", RawQuery: strings.Join(many, "&") + "&user_key=k"}, Header: http.Header{}}
		},
		"thousands of form fields": func() *http.Request {
			r := reqSpec{method: http.MethodPost, target: "/p", body: strings.Join(many, "&"), ctype: form}.build()
			return r
		},
		"basic with huge base64": func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			r.Header.Set("Authorization", basic(huge+":"+secret))
			return r
		},
		"nil URL and header": func() *http.Request { return &http.Request{Method: http.MethodPost} },
	}
	exts := map[string]credentials.Extractor{
		"default":   credentials.Default(),
		"app id":    credentials.AppIDMode(credentials.Strip(), credentials.Locations(credentials.InQuery, credentials.InHeaders, credentials.InAuthorization)),
		"user key":  credentials.UserKeyMode(credentials.Strip(), credentials.Locations(credentials.InHeaders, credentials.InAuthorization)),
		"oauth":     credentials.OAuthMode(credentials.Strip()),
		"hybrid":    credentials.Hybrid(credentials.Strip(), credentials.Locations(credentials.InQuery, credentials.InHeaders)),
		"basic":     credentials.BasicAppID(),
		"first of":  credentials.FirstOf(credentials.BasicUserKey(), credentials.BearerOAuth()),
		"form only": credentials.UserKeyFrom(credentials.Form("p42")),
	}
	for rn, mk := range reqs {
		for en, e := range exts {
			t.Run(rn+"/"+en, func(t *testing.T) {
				c, err := e.Extract(mk())
				if err == nil {
					require.NoError(t, c.Validate())
					return
				}
				assert.NotEqual(t, errors.Is(err, credentials.ErrMissing), errors.Is(err, credentials.ErrMalformed))
				assert.NotContains(t, err.Error(), secret)
				assert.Less(t, len(err.Error()), 300)
			})
		}
	}
}

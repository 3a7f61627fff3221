package credentials_test

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/credentials"
)

const secret = "s3cr3tK3y"

type reqSpec struct {
	method, target, body, ctype string
	headers                     [][2]string
}

func (s reqSpec) build() *http.Request {
	method := s.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	r := httptest.NewRequest(method, s.target, body)
	if s.ctype != "" {
		r.Header.Set("Content-Type", s.ctype)
	}
	for _, h := range s.headers {
		r.Header[h[0]] = append(r.Header[h[0]], h[1]) // raw key: exercise non-canonical names too
	}
	return r
}

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

const form = "application/x-www-form-urlencoded"

func TestExtractors(t *testing.T) {
	long := strings.Repeat("k", credentials.DefaultMaxLength+1)
	tests := []struct {
		name string
		ext  credentials.Extractor
		req  reqSpec
		want core.Credentials
		err  error // sentinel, nil for success
	}{
		// user_key in the query (the 3scale default)
		{"default query", credentials.Default(), reqSpec{target: "/p?user_key=" + secret}, core.UserKey(secret), nil},
		{"default missing", credentials.Default(), reqSpec{target: "/p?other=1"}, core.Credentials{}, credentials.ErrMissing},
		{"default no query", credentials.Default(), reqSpec{target: "/p"}, core.Credentials{}, credentials.ErrMissing},
		{"query name case-insensitive like nginx $arg_", credentials.Default(), reqSpec{target: "/p?USER_KEY=" + secret}, core.UserKey(secret), nil},
		{"query escaped key and value", credentials.Default(), reqSpec{target: "/p?user%5Fkey=a%2Bb+c"}, core.UserKey("a+b c"), nil},
		{"query repeated same value", credentials.Default(), reqSpec{target: "/p?user_key=" + secret + "&user_key=" + secret}, core.UserKey(secret), nil},
		{"query repeated different values", credentials.Default(), reqSpec{target: "/p?user_key=" + secret + "&user_key=x" + secret}, core.Credentials{}, credentials.ErrMalformed},
		{"query empty value", credentials.Default(), reqSpec{target: "/p?user_key="}, core.Credentials{}, credentials.ErrMalformed},
		{"query key without =", credentials.Default(), reqSpec{target: "/p?user_key"}, core.Credentials{}, credentials.ErrMalformed},
		{"query oversized", credentials.Default(), reqSpec{target: "/p?user_key=" + long}, core.Credentials{}, credentials.ErrMalformed},
		{"query MaxLength raised", credentials.UserKeyMode(credentials.MaxLength(1000)), reqSpec{target: "/p?user_key=" + long}, core.UserKey(long), nil},
		{"query control character", credentials.Default(), reqSpec{target: "/p?user_key=" + secret + "%0A"}, core.Credentials{}, credentials.ErrMalformed},
		{"query bad escape", credentials.Default(), reqSpec{target: "/p?user_key=" + secret + "%zz"}, core.Credentials{}, credentials.ErrMalformed},
		{"custom name", credentials.UserKeyMode(credentials.UserKeyName("api_key")), reqSpec{target: "/p?api_key=" + secret + "&user_key=x"}, core.UserKey(secret), nil},

		// form body fallback
		{"form fallback POST", credentials.Default(), reqSpec{method: "POST", target: "/p", body: "a=1&user_key=" + secret, ctype: form}, core.UserKey(secret), nil},
		{"form fallback PUT with charset", credentials.Default(), reqSpec{method: "PUT", target: "/p", body: "user_key=" + secret, ctype: form + "; charset=utf-8"}, core.UserKey(secret), nil},
		{"form fallback PATCH", credentials.Default(), reqSpec{method: "PATCH", target: "/p", body: "user_key=" + secret, ctype: form}, core.UserKey(secret), nil},
		{"query wins over form", credentials.Default(), reqSpec{method: "POST", target: "/p?user_key=q", body: "user_key=" + secret, ctype: form}, core.UserKey("q"), nil},
		{"form ignored for DELETE", credentials.Default(), reqSpec{method: "DELETE", target: "/p", body: "user_key=" + secret, ctype: form}, core.Credentials{}, credentials.ErrMissing},
		{"form ignored for JSON", credentials.Default(), reqSpec{method: "POST", target: "/p", body: `{"user_key":"x"}`, ctype: "application/json"}, core.Credentials{}, credentials.ErrMissing},
		{"form repeated different", credentials.Default(), reqSpec{method: "POST", target: "/p", body: "user_key=a&user_key=b", ctype: form}, core.Credentials{}, credentials.ErrMalformed},
		{"form disabled", credentials.UserKeyMode(credentials.NoFormFallback()), reqSpec{method: "POST", target: "/p", body: "user_key=" + secret, ctype: form}, core.Credentials{}, credentials.ErrMissing},

		// headers
		{"header User-Key", credentials.UserKeyMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"User-Key", secret}}}, core.UserKey(secret), nil},
		{"header user-key raw", credentials.UserKeyMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"user-key", secret}}}, core.UserKey(secret), nil},
		{"header user_key", credentials.UserKeyMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"User_key", secret}}}, core.UserKey(secret), nil},
		{"header USER_KEY raw", credentials.UserKeyMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"USER_KEY", secret}}}, core.UserKey(secret), nil},
		{"header variants same value", credentials.UserKeyMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"User-Key", secret}, {"User_key", secret}}}, core.UserKey(secret), nil},
		{"header variants different values", credentials.UserKeyMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"User-Key", secret}, {"User_key", "other"}}}, core.Credentials{}, credentials.ErrMalformed},
		{"header repeated lines different", credentials.UserKeyMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"User-Key", secret}, {"User-Key", "other"}}}, core.Credentials{}, credentials.ErrMalformed},
		{"header not read in query mode", credentials.Default(), reqSpec{target: "/p", headers: [][2]string{{"User-Key", secret}}}, core.Credentials{}, credentials.ErrMissing},
		{"query then header", credentials.UserKeyMode(credentials.Locations(credentials.InQuery, credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"User-Key", secret}}}, core.UserKey(secret), nil},
		{"custom header name", credentials.UserKeyFrom(credentials.Header("X-API-Key")), reqSpec{target: "/p", headers: [][2]string{{"X_api_key", secret}}}, core.UserKey(secret), nil},

		// app_id + app_key
		{"app id and key", credentials.AppIDMode(), reqSpec{target: "/p?app_id=app1&app_key=" + secret}, core.AppID("app1", secret), nil},
		{"app id only", credentials.AppIDMode(), reqSpec{target: "/p?app_id=app1"}, core.AppID("app1", ""), nil},
		{"app id only, key required", credentials.AppIDMode(credentials.RequireAppKey()), reqSpec{target: "/p?app_id=app1"}, core.Credentials{}, credentials.ErrMissing},
		{"app key without app id", credentials.AppIDMode(), reqSpec{target: "/p?app_key=" + secret}, core.Credentials{}, credentials.ErrMalformed},
		{"app id empty", credentials.AppIDMode(), reqSpec{target: "/p?app_id=&app_key=" + secret}, core.Credentials{}, credentials.ErrMalformed},
		{"app key empty", credentials.AppIDMode(), reqSpec{target: "/p?app_id=a&app_key="}, core.Credentials{}, credentials.ErrMalformed},
		{"app id query, key form", credentials.AppIDMode(), reqSpec{method: "POST", target: "/p?app_id=app1", body: "app_key=" + secret, ctype: form}, core.AppID("app1", secret), nil},
		{"app headers", credentials.AppIDMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"App-Id", "app1"}, {"App_key", secret}}}, core.AppID("app1", secret), nil},
		{"app custom names", credentials.AppIDMode(credentials.AppIDName("id"), credentials.AppKeyName("key")), reqSpec{target: "/p?id=app1&key=" + secret}, core.AppID("app1", secret), nil},
		{"app mode ignores user_key", credentials.AppIDMode(), reqSpec{target: "/p?user_key=" + secret}, core.Credentials{}, credentials.ErrMissing},

		// Authorization: Basic
		{"basic app id", credentials.AppIDMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic("app1:" + secret)}}}, core.AppID("app1", secret), nil},
		{"basic split at last colon", credentials.AppIDMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic("urn:app:1:" + secret)}}}, core.AppID("urn:app:1", secret), nil},
		{"basic user only", credentials.AppIDMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic("app1")}}}, core.AppID("app1", ""), nil},
		{"basic password without user", credentials.AppIDMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic(":" + secret)}}}, core.Credentials{}, credentials.ErrMalformed},
		{"basic lowercase scheme", credentials.AppIDMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "basic " + base64.StdEncoding.EncodeToString([]byte("a:b"))}}}, core.AppID("a", "b"), nil},
		{"basic bad base64", credentials.AppIDMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Basic !!" + secret}}}, core.Credentials{}, credentials.ErrMalformed},
		{"basic user key from user", credentials.UserKeyMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic(secret + ":")}}}, core.UserKey(secret), nil},
		{"basic user key from password", credentials.UserKeyMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic(":" + secret)}}}, core.UserKey(secret), nil},
		{"basic empty", credentials.UserKeyMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic(":")}}}, core.Credentials{}, credentials.ErrMissing},
		{"bearer user key", credentials.UserKeyMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Bearer " + secret}}}, core.UserKey(secret), nil},
		{"two authorization headers", credentials.UserKeyMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Bearer " + secret}, {"Authorization", "Bearer x"}}}, core.Credentials{}, credentials.ErrMalformed},
		{"other scheme is missing", credentials.UserKeyMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Digest x"}}}, core.Credentials{}, credentials.ErrMissing},
		{"bearer app id", credentials.AppIDMode(credentials.Locations(credentials.InAuthorization)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Bearer app1"}}}, core.AppID("app1", ""), nil},

		// OAuth
		{"oauth bearer", credentials.OAuthMode(), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Bearer client1"}}}, core.OAuthApp("client1", ""), nil},
		{"oauth access_token query", credentials.OAuthMode(), reqSpec{target: "/p?access_token=client1"}, core.OAuthApp("client1", ""), nil},
		{"oauth bearer fallback with headers", credentials.OAuthMode(credentials.Locations(credentials.InHeaders)), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Bearer client1"}}}, core.OAuthApp("client1", ""), nil},
		{"oauth header name", credentials.OAuthMode(credentials.Locations(credentials.InHeaders), credentials.AccessTokenName("X-Client")), reqSpec{target: "/p", headers: [][2]string{{"X-Client", "client1"}}}, core.OAuthApp("client1", ""), nil},
		{"oauth empty bearer", credentials.OAuthMode(), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Bearer "}}}, core.Credentials{}, credentials.ErrMalformed},
		{"oauth missing", credentials.OAuthMode(), reqSpec{target: "/p"}, core.Credentials{}, credentials.ErrMissing},
		{"oauth from with secret", credentials.OAuthFrom(credentials.Header("client_id"), credentials.Header("client_secret")), reqSpec{target: "/p", headers: [][2]string{{"Client-Id", "c"}, {"Client-Secret", secret}}}, core.OAuthApp("c", secret), nil},

		// ready Basic/Bearer extractors
		{"BasicAppID", credentials.BasicAppID(), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic("app1:" + secret)}}}, core.AppID("app1", secret), nil},
		{"BasicAppID ignores query", credentials.BasicAppID(), reqSpec{target: "/p?app_id=x"}, core.Credentials{}, credentials.ErrMissing},
		{"BasicUserKey password", credentials.BasicUserKey(), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic(":" + secret)}}}, core.UserKey(secret), nil},
		{"BearerOAuth", credentials.BearerOAuth(), reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Bearer  client1 "}}}, core.OAuthApp("client1", ""), nil},
		{"BearerOAuth other scheme", credentials.BearerOAuth(), reqSpec{target: "/p", headers: [][2]string{{"Authorization", basic("a:b")}}}, core.Credentials{}, credentials.ErrMissing},

		// composition
		{"hybrid user key", credentials.Hybrid(), reqSpec{target: "/p?user_key=" + secret}, core.UserKey(secret), nil},
		{"hybrid app id", credentials.Hybrid(), reqSpec{target: "/p?app_id=a&app_key=" + secret}, core.AppID("a", secret), nil},
		{"hybrid both", credentials.Hybrid(), reqSpec{target: "/p?app_id=a&user_key=" + secret}, core.Credentials{}, credentials.ErrMalformed},
		{"hybrid none", credentials.Hybrid(), reqSpec{target: "/p"}, core.Credentials{}, credentials.ErrMissing},
		{"first of falls through missing", credentials.FirstOf(credentials.UserKeyFrom(credentials.Header("X-Key")), credentials.Default()), reqSpec{target: "/p?user_key=" + secret}, core.UserKey(secret), nil},
		{"first of stops at malformed", credentials.FirstOf(credentials.Default(), credentials.UserKeyFrom(credentials.Header("X-Key"))), reqSpec{target: "/p?user_key=", headers: [][2]string{{"X-Key", secret}}}, core.Credentials{}, credentials.ErrMalformed},
		{"first of precedence", credentials.FirstOf(credentials.UserKeyFrom(credentials.Header("X-Key")), credentials.Default()), reqSpec{target: "/p?user_key=q", headers: [][2]string{{"X-Key", secret}}}, core.UserKey(secret), nil},
		{"first of all missing", credentials.FirstOf(credentials.UserKeyFrom(credentials.Header("X-Key")), credentials.Default()), reqSpec{target: "/p"}, core.Credentials{}, credentials.ErrMissing},
		{"func extractor", credentials.ExtractorFunc(func(r *http.Request) (core.Credentials, error) {
			return core.OAuthApp(r.Header.Get("X-Azp"), ""), nil
		}), reqSpec{target: "/p", headers: [][2]string{{"X-Azp", "c1"}}}, core.OAuthApp("c1", ""), nil},
		{"any of sources", credentials.UserKeyFrom(credentials.AnyOf(credentials.Header("k"), credentials.Query("k"))), reqSpec{target: "/p?k=" + secret}, core.UserKey(secret), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ext.Extract(tt.req.build())
			if tt.err != nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, tt.err)
				other := credentials.ErrMissing
				if tt.err == credentials.ErrMissing {
					other = credentials.ErrMalformed
				}
				assert.NotErrorIs(t, err, other)
				assert.NotContains(t, err.Error(), secret, "secret leaked into the error")
				assert.True(t, got.IsZero())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFormBodyNotConsumed(t *testing.T) {
	body := "a=1&user_key=" + secret
	r := reqSpec{method: "POST", target: "/p", body: body, ctype: form}.build()
	for range 2 { // a second extraction reuses the buffered body
		c, err := credentials.Default().Extract(r)
		require.NoError(t, err)
		assert.Equal(t, core.UserKey(secret), c)
	}
	require.NoError(t, r.ParseForm())
	assert.Equal(t, secret, r.PostForm.Get("user_key"))

	r = reqSpec{method: "POST", target: "/p", body: body, ctype: form}.build()
	_, err := credentials.Default().Extract(r)
	require.NoError(t, err)
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(got))
	require.NoError(t, r.Body.Close())
}

func TestFormBodyTooLarge(t *testing.T) {
	body := "user_key=" + secret + "&pad=" + strings.Repeat("x", credentials.MaxFormBytes)
	r := reqSpec{method: "POST", target: "/p", body: body, ctype: form}.build()
	_, err := credentials.Default().Extract(r)
	assert.ErrorIs(t, err, credentials.ErrMissing)
	assert.Nil(t, credentials.PeekForm(r))
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(got), "the whole body is still readable")
}

func TestStrip(t *testing.T) {
	tests := []struct {
		name           string
		ext            credentials.Extractor
		req            reqSpec
		wantQuery      string
		wantRequestURI string
		goneHeaders    []string
		keptHeaders    []string
	}{
		{
			name:           "query parameter, every occurrence, others untouched",
			ext:            credentials.UserKeyMode(credentials.Strip()),
			req:            reqSpec{target: "/p?a=%20x&user_key=" + secret + "&b=2&USER_KEY=" + secret},
			wantQuery:      "a=%20x&b=2",
			wantRequestURI: "/p?a=%20x&b=2",
		},
		{
			name:           "only parameter",
			ext:            credentials.AppIDMode(credentials.Strip()),
			req:            reqSpec{target: "/p?app_id=a&app_key=" + secret},
			wantQuery:      "",
			wantRequestURI: "/p",
		},
		{
			name:           "headers and variants",
			ext:            credentials.AppIDMode(credentials.Strip(), credentials.Locations(credentials.InHeaders)),
			req:            reqSpec{target: "/p?x=1", headers: [][2]string{{"App-Id", "a"}, {"App_id", "a"}, {"App-Key", secret}, {"X-Other", "1"}}},
			wantQuery:      "x=1",
			wantRequestURI: "/p?x=1",
			goneHeaders:    []string{"App-Id", "App_id", "App-Key"},
			keptHeaders:    []string{"X-Other"},
		},
		{
			name:           "authorization",
			ext:            credentials.OAuthMode(credentials.Strip()),
			req:            reqSpec{target: "/p", headers: [][2]string{{"Authorization", "Bearer " + secret}}},
			wantRequestURI: "/p",
			goneHeaders:    []string{"Authorization"},
		},
		{
			name:           "only the source used: query used, header kept",
			ext:            credentials.UserKeyMode(credentials.Strip(), credentials.Locations(credentials.InQuery, credentials.InHeaders)),
			req:            reqSpec{target: "/p?user_key=" + secret, headers: [][2]string{{"User-Key", secret}}},
			wantRequestURI: "/p",
			keptHeaders:    []string{"User-Key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req.build()
			_, err := tt.ext.Extract(r)
			require.NoError(t, err)
			assert.Equal(t, tt.wantQuery, r.URL.RawQuery)
			assert.Equal(t, tt.wantRequestURI, r.RequestURI)
			for _, h := range tt.goneHeaders {
				assert.NotContains(t, r.Header, h)
			}
			for _, h := range tt.keptHeaders {
				assert.Contains(t, r.Header, h)
			}
		})
	}
}

func TestNoStripOnError(t *testing.T) {
	r := reqSpec{target: "/p?app_key=" + secret}.build()
	_, err := credentials.AppIDMode(credentials.Strip()).Extract(r)
	require.ErrorIs(t, err, credentials.ErrMalformed)
	assert.Equal(t, "app_key="+secret, r.URL.RawQuery)
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		ext  credentials.Extractor
		req  reqSpec
		want string
	}{
		{credentials.Default(), reqSpec{target: "/p?user_key=a&user_key=b"}, `credentials: malformed: query parameter "user_key": repeated with different values`},
		{credentials.AppIDMode(), reqSpec{target: "/p?app_key=" + secret}, `credentials: malformed: query parameter "app_key": app_key without app_id`},
		{credentials.Hybrid(), reqSpec{target: "/p?app_id=a&user_key=" + secret}, `credentials: malformed: user_key and app_id: both present`},
		{credentials.Default(), reqSpec{target: "/p?user_key=" + strings.Repeat("x", 300)}, `credentials: malformed: query parameter "user_key": longer than 256 bytes`},
		{credentials.FirstOf(credentials.UserKeyFrom(credentials.Header("X-Key")), credentials.AppIDMode()), reqSpec{target: "/p"}, `credentials: missing: user_key (header "X-Key"); app_id`},
		{credentials.AppIDMode(credentials.RequireAppKey(), credentials.NoFormFallback()), reqSpec{target: "/p?app_id=a"}, `credentials: missing: app_key (query parameter "app_key")`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := tt.ext.Extract(tt.req.build())
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			var e *credentials.Error
			require.True(t, errors.As(err, &e))
			assert.NotEmpty(t, e.Source)
		})
	}
}

func TestParseLocation(t *testing.T) {
	for in, want := range map[string]credentials.Location{"": credentials.InQuery, "query": credentials.InQuery, "headers": credentials.InHeaders, "authorization": credentials.InAuthorization} {
		got, err := credentials.ParseLocation(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
		if in != "" {
			assert.Equal(t, in, got.String())
		}
	}
	_, err := credentials.ParseLocation("cookie")
	assert.ErrorContains(t, err, `"cookie"`)
}

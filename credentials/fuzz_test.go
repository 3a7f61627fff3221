package credentials_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/credentials"
)

// FuzzExtract runs every extractor over hostile query strings, headers and
// bodies: no panic, exactly one of the two sentinels on error (and the
// request left unstripped), valid credentials on success, and the body left
// intact.
func FuzzExtract(f *testing.F) {
	f.Add("user_key=a&user_key=b", "Basic YTpi", "k", "POST", "user_key=x&app_key=y")
	f.Add("app_key=%zz", "Bearer ", "", "PUT", "%")
	f.Add("USER_KEY=k&app_id=&x", "basic !!", "v\x00", "GET", "")
	exts := []credentials.Extractor{
		credentials.Default(),
		credentials.AppIDMode(credentials.Strip()),
		credentials.OAuthMode(credentials.Locations(credentials.InHeaders)),
		credentials.Hybrid(credentials.Locations(credentials.InQuery, credentials.InHeaders, credentials.InAuthorization)),
		credentials.Hybrid(credentials.Strip(), credentials.Locations(credentials.InQuery, credentials.InHeaders, credentials.InAuthorization)),
		credentials.UserKeyMode(credentials.Locations(credentials.InAuthorization), credentials.Strip()),
	}
	f.Fuzz(func(t *testing.T, query, auth, header, method, body string) {
		for _, e := range exts {
			r := &http.Request{Method: method, URL: &url.URL{Path: "/", RawQuery: query}, RequestURI: "/?" + query, Header: http.Header{
				"Authorization": {auth}, "User-Key": {header}, "App_id": {header}, "Content-Type": {"application/x-www-form-urlencoded"},
			}}
			if body != "" {
				r.Body = readCloser{strings.NewReader(body)}
			}
			c, err := e.Extract(r)
			if err != nil {
				require.NotEqual(t, errors.Is(err, credentials.ErrMissing), errors.Is(err, credentials.ErrMalformed), err.Error())
				assert.True(t, c.IsZero())
				// nothing is stripped on error
				require.Equal(t, query, r.URL.RawQuery)
				require.Equal(t, "/?"+query, r.RequestURI)
				require.Len(t, r.Header, 4)
			} else {
				require.NoError(t, c.Validate())
			}
			if r.Body != nil {
				got, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				require.Equal(t, body, string(got))
			}
		}
	})
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

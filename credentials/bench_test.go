package credentials_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/threescale-go/threescale/credentials"
)

func BenchmarkExtract(b *testing.B) {
	for _, bc := range []struct {
		name string
		ext  credentials.Extractor
		hdr  [2]string
	}{
		{"default_query", credentials.Default(), [2]string{}},
		{"app_id_headers", credentials.AppIDMode(credentials.Locations(credentials.InHeaders)), [2]string{"App-Key", "key1"}},
		{"basic", credentials.BasicAppID(), [2]string{"Authorization", basic("app1:key1")}},
	} {
		r := httptest.NewRequest("GET", "/v1/products?page=2&user_key=0123456789abcdef&app_id=app1", nil)
		r.Header.Set("Accept", "application/json")
		r.Header.Set("App-Id", "app1")
		if bc.hdr[0] != "" {
			r.Header.Set(bc.hdr[0], bc.hdr[1])
		}
		_, err := bc.ext.Extract(r)
		require.NoError(b, err)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = bc.ext.Extract(r)
			}
		})
	}
}

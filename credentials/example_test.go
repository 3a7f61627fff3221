package credentials_test

import (
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/threescale-go/threescale/credentials"
)

func ExampleDefault() {
	r := httptest.NewRequest("GET", "/products?user_key=secret", nil)
	c, err := credentials.Default().Extract(r)
	fmt.Println(c, err)

	r = httptest.NewRequest("GET", "/products", nil)
	_, err = credentials.Default().Extract(r)
	fmt.Println(errors.Is(err, credentials.ErrMissing), err)
	// Output:
	// user_key=[redacted] <nil>
	// true credentials: missing: user_key
}

func ExampleAppIDMode() {
	ext := credentials.AppIDMode(credentials.Locations(credentials.InHeaders), credentials.Strip())
	r := httptest.NewRequest("GET", "/products", nil)
	r.Header.Set("App-Id", "app1")
	r.Header.Set("App_Key", "key1")
	c, err := ext.Extract(r)
	fmt.Println(c, err, r.Header.Get("App-Id") == "")
	// Output: app_id app_id="app1" app_key=[redacted] <nil> true
}

func ExampleFirstOf() {
	ext := credentials.FirstOf(
		credentials.UserKeyFrom(credentials.Header("X-API-Key")),
		credentials.Default(),
	)
	r := httptest.NewRequest("GET", "/?user_key=a&user_key=b", nil)
	_, err := ext.Extract(r)
	fmt.Println(errors.Is(err, credentials.ErrMalformed), err)
	// Output: true credentials: malformed: query parameter "user_key": repeated with different values
}

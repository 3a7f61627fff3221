package credentials

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Source locates one credential value (a user_key, an app_id, an app_key)
// in a request. The builders [UserKeyFrom], [AppIDFrom] and [OAuthFrom]
// turn sources into an [Extractor].
//
// The sources of this package never consume the request body and never
// put the value in an error.
type Source interface {
	// Lookup returns the value and the source that held it: s itself, or
	// for [AnyOf] the member that matched. from is nil when the value is
	// absent. err (wrapping ErrMalformed) reports a value that is present
	// but ambiguous or undecodable, e.g. a parameter repeated with
	// different values.
	Lookup(r *http.Request) (value string, from Source, err error)
	// Strip removes the value from r (query parameter, header) so that the
	// protected handler and upstream logs do not see it. Sources that
	// cannot remove their value (the form body) do nothing.
	Strip(r *http.Request)
	// String describes the location for error messages, e.g.
	// `query parameter "user_key"`.
	String() string
}

// Query returns a Source reading the URL query parameter name. As nginx's
// $arg_name (and so APIcast), the name is matched case-insensitively. A
// parameter repeated with the same value is accepted; repeated with
// different values it is malformed. Strip removes every occurrence from
// r.URL.RawQuery (and r.RequestURI, r.Form).
func Query(name string) Source {
	return &querySource{name: name, desc: `query parameter "` + name + `"`}
}

type querySource struct{ name, desc string }

func (s *querySource) String() string { return s.desc }

func (s *querySource) Lookup(r *http.Request) (string, Source, error) {
	if r.URL == nil {
		return "", nil, nil
	}
	var one single
	for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
		key, val, _ := strings.Cut(pair, "=")
		if !matchEscaped(key, s.name) {
			continue
		}
		val, ok := unescape(val)
		if !ok {
			return "", nil, malformed(s, "invalid percent-encoding")
		}
		if !one.add(val) {
			return "", nil, malformed(s, "repeated with different values")
		}
	}
	return one.result(s)
}

// single collects the values of a parameter or header that may be
// repeated: repeating the same value is fine, different values are not.
type single struct {
	v     string
	found bool
}

// add records v and reports false if a different value was seen before.
func (o *single) add(v string) bool {
	if o.found && v != o.v {
		return false
	}
	o.v, o.found = v, true
	return true
}

// result is the Lookup result for src: absent, or the value found in src.
func (o *single) result(src Source) (string, Source, error) {
	if !o.found {
		return "", nil, nil
	}
	return o.v, src, nil
}

func (s *querySource) Strip(r *http.Request) {
	if r.URL == nil || r.URL.RawQuery == "" {
		return
	}
	kept := make([]string, 0, 8)
	removed := false
	for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
		key, _, _ := strings.Cut(pair, "=")
		if matchEscaped(key, s.name) {
			removed = true
			continue
		}
		kept = append(kept, pair)
	}
	if !removed {
		return
	}
	r.URL.RawQuery = strings.Join(kept, "&")
	if r.RequestURI != "" {
		if path, _, ok := strings.Cut(r.RequestURI, "?"); ok {
			r.RequestURI = path
			if r.URL.RawQuery != "" {
				r.RequestURI += "?" + r.URL.RawQuery
			}
		}
	}
	for k := range r.Form {
		if equalName(k, s.name, false) {
			delete(r.Form, k)
		}
	}
}

// matchEscaped reports whether the raw (percent-encoded) query key equals
// name, ASCII case-insensitively as nginx's $arg_name, after decoding. It
// allocates only for keys that contain escapes.
func matchEscaped(raw, name string) bool {
	k, ok := unescape(raw)
	return ok && equalName(k, name, false)
}

// equalName compares names ASCII case-insensitively, as nginx does ("\u212a",
// the Kelvin sign, is not "k"); headers also treat '-' and '_' as equal.
func equalName(a, b string, header bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := lower(a[i]), lower(b[i])
		if header && x == '-' {
			x = '_'
		}
		if header && y == '-' {
			y = '_'
		}
		if x != y {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// unescape decodes a query component; it does not allocate when there is
// nothing to decode.
func unescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	v, err := url.QueryUnescape(s)
	return v, err == nil
}

// Header returns a Source reading the request header name. As APIcast, the
// name is matched case-insensitively with '-' and '_' treated as equal, so
// Header("user_key") accepts "User-Key", "user-key" and "user_key". Several
// header lines (or variants) with the same value are accepted; with
// different values the header is malformed. Strip deletes every variant.
func Header(name string) Source { return &headerSource{name: name, desc: `header "` + name + `"`} }

type headerSource struct{ name, desc string }

func (s *headerSource) String() string { return s.desc }

func (s *headerSource) Lookup(r *http.Request) (string, Source, error) {
	var one single
	for k, vals := range r.Header {
		if !equalName(k, s.name, true) {
			continue
		}
		for _, val := range vals {
			if !one.add(val) {
				return "", nil, malformed(s, "repeated with different values")
			}
		}
	}
	return one.result(s)
}

func (s *headerSource) Strip(r *http.Request) {
	for k := range r.Header {
		if equalName(k, s.name, true) {
			delete(r.Header, k)
		}
	}
}

// Form returns a Source reading the field name of an
// application/x-www-form-urlencoded body, for POST, PUT and PATCH requests
// only (as APIcast). The body is read up to [MaxFormBytes] and put back, so
// the handler reads it unchanged; larger bodies are not searched. The name
// is case-sensitive. Strip does nothing (the body is not rewritten).
func Form(name string) Source { return &formSource{name: name, desc: `form field "` + name + `"`} }

type formSource struct{ name, desc string }

func (s *formSource) String() string { return s.desc }

func (s *formSource) Strip(*http.Request) {}

func (s *formSource) Lookup(r *http.Request) (string, Source, error) {
	var one single
	for _, v := range PeekForm(r)[s.name] {
		if !one.add(v) {
			return "", nil, malformed(s, "repeated with different values")
		}
	}
	return one.result(s)
}

// MaxFormBytes is the largest urlencoded body [PeekForm] parses (1 MiB).
// Larger bodies are left alone and count as having no form fields.
const MaxFormBytes = 1 << 20

// PeekForm returns the fields of r's application/x-www-form-urlencoded body
// when r is a POST, PUT or PATCH request, without consuming the body: the
// bytes read are put back into r.Body (the original Close is kept), so the
// handler and r.ParseForm see the same body. It returns nil for other
// requests, for bodies over [MaxFormBytes], for bodies that fail part-way
// and, on later calls, once the handler has started reading the body.
// Repeated calls on the same request reuse the buffered body. Invalid pairs
// are skipped (as url.ParseQuery does). r.ContentLength is left as is: it
// still matches the bytes the handler will read.
func PeekForm(r *http.Request) url.Values {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil
	}
	pb, ok := r.Body.(*peekedBody)
	switch {
	case ok && pb.started: // partly read by the handler: not seen whole
		return nil
	case !ok:
		buf, err := io.ReadAll(io.LimitReader(r.Body, MaxFormBytes+1))
		pb = &peekedBody{buf: buf, closer: r.Body, usable: err == nil && len(buf) <= MaxFormBytes}
		pb.Reader = io.MultiReader(bytes.NewReader(buf), r.Body)
		r.Body = pb
	}
	if !pb.usable {
		return nil
	}
	vals, _ := url.ParseQuery(string(pb.buf))
	return vals
}

// peekedBody replays the buffered bytes and then the rest of the original
// body.
type peekedBody struct {
	io.Reader
	buf     []byte
	closer  io.Closer
	usable  bool // buf is the whole body, read without error
	started bool
}

func (b *peekedBody) Read(p []byte) (int, error) {
	b.started = true
	return b.Reader.Read(p)
}

func (b *peekedBody) Close() error { return b.closer.Close() }

// authorization returns the single Authorization header value, "" when
// absent, or an error when several different values are present.
func authorization(r *http.Request, src Source) (string, error) {
	var one single
	for _, v := range r.Header.Values("Authorization") {
		if !one.add(v) {
			return "", malformed(src, "several Authorization headers")
		}
	}
	return one.v, nil
}

// scheme splits an Authorization value into its credentials if the scheme
// (case-insensitive) is want.
func scheme(auth, want string) (string, bool) {
	s, rest, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(s, want) {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// BasicUser returns a Source reading the user-id of an
// "Authorization: Basic" header (the part before the last colon of the
// decoded credentials; the whole text when there is no colon). It counts as
// absent when empty, so ":key" falls through to [BasicPassword] in an
// [AnyOf]. Undecodable base64 is malformed. Strip deletes the
// Authorization header.
func BasicUser() Source { return basicSource{} }

// BasicPassword returns a Source reading the password of an
// "Authorization: Basic" header (after the last colon). It counts as absent
// when there is no colon or the password is empty. Strip deletes the
// Authorization header.
func BasicPassword() Source { return basicSource{password: true} }

type basicSource struct{ password bool }

func (s basicSource) String() string {
	if s.password {
		return "Authorization Basic password"
	}
	return "Authorization Basic user-id"
}

func (basicSource) Strip(r *http.Request) { r.Header.Del("Authorization") }

func (s basicSource) Lookup(r *http.Request) (string, Source, error) {
	auth, err := authorization(r, s)
	if err != nil {
		return "", nil, err
	}
	enc, ok := scheme(auth, "Basic")
	if !ok {
		return "", nil, nil
	}
	dec, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", nil, malformed(s, "invalid base64")
	}
	user, password := string(dec), "" // no colon: all of it is the user-id
	if i := strings.LastIndexByte(user, ':'); i >= 0 {
		user, password = user[:i], user[i+1:]
	}
	v := user
	if s.password {
		v = password
	}
	if v == "" {
		return "", nil, nil
	}
	return v, s, nil
}

// Bearer returns a Source reading the token of an "Authorization: Bearer"
// header (scheme matched case-insensitively). A Bearer header with an empty
// token is present but empty, hence malformed for the builders. The token
// is used as is: validating a JWT is the job of an [ExtractorFunc]. Strip
// deletes the Authorization header.
func Bearer() Source { return bearerSource{} }

type bearerSource struct{}

func (bearerSource) String() string { return "Authorization Bearer token" }

func (bearerSource) Strip(r *http.Request) { r.Header.Del("Authorization") }

func (s bearerSource) Lookup(r *http.Request) (string, Source, error) {
	auth, err := authorization(r, s)
	if err != nil {
		return "", nil, err
	}
	if strings.EqualFold(strings.TrimSpace(auth), "Bearer") {
		return "", s, nil // scheme without a token: present but empty
	}
	tok, ok := scheme(auth, "Bearer")
	if !ok {
		return "", nil, nil
	}
	return tok, s, nil
}

// AnyOf returns a Source that asks srcs in order and returns the first
// value found. A malformed member stops the search. Strip strips the
// member that [Source.Lookup] reported, so callers normally strip the
// returned from source rather than the AnyOf itself; AnyOf's own Strip
// strips every member.
func AnyOf(srcs ...Source) Source {
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.String()
	}
	return &anySource{srcs: srcs, desc: strings.Join(names, " or ")}
}

type anySource struct {
	srcs []Source
	desc string
}

func (s *anySource) String() string { return s.desc }

func (s *anySource) Lookup(r *http.Request) (string, Source, error) {
	for _, src := range s.srcs {
		v, from, err := src.Lookup(r)
		if err != nil || from != nil {
			return v, from, err
		}
	}
	return "", nil, nil
}

func (s *anySource) Strip(r *http.Request) {
	for _, src := range s.srcs {
		src.Strip(r)
	}
}

// checkValue applies the checks every builder makes on a found value.
func checkValue(src Source, v string, maxLen int) error {
	switch {
	case v == "":
		return malformed(src, "empty value")
	case len(v) > maxLen:
		return malformed(src, "longer than "+strconv.Itoa(maxLen)+" bytes")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return malformed(src, "control character in value")
		}
	}
	return nil
}

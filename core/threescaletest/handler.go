package threescaletest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// BackendVersion is the apisonator version the server claims in GET /status.
const BackendVersion = "3.4.3"

const (
	contentTypeXML = "application/vnd.3scale-v2.0+xml"
	exposeHeaders  = "ETag, Link, 3scale-rejection-reason"
	allowHeaders   = "Authorization, Accept-Encoding, Content-Type, Cache-Control, Accept, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since, X-Requested-With, X-HTTP-Method-Override, 3scale-options"
)

// response is what a route produces; write puts it on the wire with
// lowercase header names, as apisonator (Rack 3 behind Puma) does.
type response struct {
	status      int
	contentType string // "" = none
	csp         bool   // content-security-policy (every route response, not <error>s)
	headers     [][2]string
	body        []byte
}

func okResponse(status int, body []byte) response {
	return response{status: status, contentType: contentTypeXML, csp: true, body: body}
}

func (e *apiError) response(noBody bool) response {
	r := response{status: e.status, contentType: contentTypeXML}
	if !noBody || e.keepBody {
		r.body = e.xml()
	}
	return r
}

func (r response) write(w http.ResponseWriter) {
	h := w.Header()
	// nil values stop net/http from adding (sniffing) its own canonical
	// Content-Type and a Date header.
	h["Content-Type"] = nil
	h["Date"] = nil
	if r.contentType != "" {
		h["content-type"] = []string{r.contentType}
	}
	h["access-control-allow-origin"] = []string{"*"}
	h["access-control-expose-headers"] = []string{exposeHeaders}
	if r.csp {
		h["content-security-policy"] = []string{"default-src 'self'"}
	}
	for _, kv := range r.headers {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
	h["x-content-type-options"] = []string{"nosniff"}
	if r.status != http.StatusNoContent {
		h["Content-Length"] = []string{strconv.Itoa(len(r.body))}
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// Handler returns the backend as an http.Handler, for running it behind
// your own listener. Header names are written in lowercase like the real
// backend, so read them from a client response (which canonicalises
// names) rather than from an httptest.ResponseRecorder's map.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, bytesizeLimit+1))
	}
	rec := Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body,
	}
	rec.Query, _ = url.ParseQuery(r.URL.RawQuery)
	if r.Method == http.MethodPost {
		rec.Form = formValues(r.Header.Get("Content-Type"), body)
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	f := s.takeFault()
	s.mu.Unlock()
	if s.fault(w, r, f) {
		return
	}
	s.mu.Lock()
	resp := s.route(r, body)
	s.mu.Unlock()
	resp.write(w)
}

// formValues parses a POST body for Request.Form, leniently.
func formValues(ctype string, body []byte) url.Values {
	mt, p, _ := mime.ParseMediaType(ctype)
	if mt == "multipart/form-data" {
		out := url.Values{}
		_ = eachPart(body, p["boundary"], func(name, value string) error {
			out.Add(name, value)
			return nil
		})
		return out
	}
	v, _ := url.ParseQuery(string(body))
	return v
}

func eachPart(body []byte, boundary string, fn func(name, value string) error) error {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := io.ReadAll(part)
		if err != nil {
			return err
		}
		if err := fn(part.FormName(), string(v)); err != nil {
			return err
		}
	}
}

// route dispatches a request. Call with s.mu held.
func (s *Server) route(r *http.Request, body []byte) response {
	method := r.Method
	if method == http.MethodOptions {
		return response{status: http.StatusNoContent, headers: [][2]string{
			{"access-control-allow-methods", "GET, POST, PATCH, PUT, DELETE"},
			{"access-control-allow-headers", allowHeaders},
			{"access-control-max-age", "86400"},
		}}
	}
	get := method == http.MethodGet || method == http.MethodHead // Sinatra: GET routes answer HEAD
	switch path := r.URL.Path; {
	case get && strings.HasPrefix(path, "/transactions/") && authEndpoints[path[len("/transactions/"):]]:
		return s.auth(r, body, strings.TrimSuffix(path[len("/transactions/"):], ".xml"))
	case method == http.MethodPost && path == "/transactions.xml":
		return s.report(r, body)
	case get && path == "/status":
		return response{status: 200, contentType: "application/json", csp: true,
			body: []byte(`{"status":"ok","version":{"backend":"` + BackendVersion + `"}}`)}
	case get && path == "/check.txt":
		return response{status: 200, contentType: "text/plain;charset=utf-8", csp: true, body: []byte("ok")}
	case method == http.MethodHead && path == "/available":
		return response{status: 200, csp: true}
	}
	return response{status: http.StatusNotFound, contentType: contentTypeXML, csp: true,
		headers: [][2]string{{"x-cascade", "pass"}}}
}

var authEndpoints = map[string]bool{
	"authorize.xml": true, "authrep.xml": true, "oauth_authorize.xml": true, "oauth_authrep.xml": true,
}

// options are the 3scale-options header extensions.
type options struct {
	noBody, rejectionReason, limitHeaders, hierarchy, flatUsage, listAppKeys bool
}

func parseOptions(h http.Header) options {
	p, err := parseNested(h.Get("3scale-options"))
	if err != nil {
		return options{}
	}
	one := func(k string) bool { v, _ := p.str(k); return v == "1" }
	return options{
		noBody:          truthy(p, "no_body"),
		rejectionReason: one("rejection_reason_header"),
		limitHeaders:    one("limit_headers"),
		hierarchy:       one("hierarchy"),
		flatUsage:       one("flat_usage"),
		listAppKeys:     one("list_app_keys"),
	}
}

// truthy: no_body is enabled by any value but "0" and "false".
func truthy(p *phash, k string) bool {
	v, ok := p.str(k)
	return ok && v != "0" && v != "false"
}

// requestParams parses the query string merged with a form body (Rack's
// request.params), like Sinatra does for every route.
func requestParams(r *http.Request, body []byte) (*phash, error) {
	params, err := parseNested(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	form := newHash()
	mt, p, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/form-data":
		if err := eachPart(body, p["boundary"], func(name, value string) error {
			return addParam(form, name, value)
		}); err != nil {
			if pe, ok := err.(*paramError); ok {
				return nil, pe
			}
			return nil, &paramError{syntaxErrorMsg}
		}
	case mt == "application/x-www-form-urlencoded" || (mt == "" && r.Method == http.MethodPost):
		if form, err = parseNested(string(body)); err != nil {
			return nil, err
		}
	}
	params.merge(form)
	return params, nil
}

// validUTF8 reports whether every key and string value is valid UTF-8.
func validUTF8(v pvalue) bool {
	switch v := v.(type) {
	case string:
		return utf8.ValidString(v)
	case *phash:
		for _, k := range v.keys {
			if !utf8.ValidString(k) || !validUTF8(v.m[k]) {
				return false
			}
		}
	case *parray:
		for _, e := range v.elems {
			if !validUTF8(e) {
				return false
			}
		}
	}
	return true
}

// normStr is apisonator's parameter normalisation: only strings count,
// surrounding whitespace is stripped, blank is absent.
func normStr(p *phash, k string) (string, bool) {
	v, ok := p.str(k)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// rubyBlank is Ruby's String#blank?.
func rubyBlank(s string) bool { return strings.TrimSpace(s) == "" }

// resolveService finds the service addressed by provider_key (+ optional
// service_id). Call with s.mu held.
func (s *Server) resolveService(pk, sid string, hasSID bool) (*service, *apiError) {
	if !hasSID {
		if def, ok := s.accounts[pk]; ok {
			return s.services[def], nil
		}
		return nil, newError("provider_key_invalid_or_service_missing", pk)
	}
	st, ok := s.services[sid]
	switch {
	case !ok:
		return nil, newError("service_id_invalid", sid)
	case pk != "" && st.ProviderKey == pk: // report takes provider_key= verbatim
		return st, nil
	case s.accounts[pk] != "":
		return nil, newError("service_id_invalid", sid)
	}
	return nil, newError("provider_key_invalid", pk)
}

// tokenService checks service_token + service_id (no provider key given).
func (s *Server) tokenService(p *phash) (*service, *apiError) {
	tok, ok := p.str("service_token")
	if !ok || rubyBlank(tok) {
		return nil, newError("provider_key_or_service_token_required")
	}
	sid, ok := normStr(p, "service_id")
	if !ok {
		return nil, newError("service_id_missing")
	}
	if st := s.services[sid]; st != nil && st.Token != "" && st.Token == tok {
		return st, nil
	}
	return nil, newError("service_token_invalid", tok, sid)
}

package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/threescale-go/threescale/credentials"
)

// ErrorResponse is one of APIcast's configurable error responses
// (error_<x>, error_status_<x>, error_headers_<x>).
type ErrorResponse struct {
	Status      int    // HTTP status
	ContentType string // Content-Type header
	Body        string // response body
}

// Write writes the response: Content-Type, status, body.
func (e ErrorResponse) Write(w http.ResponseWriter) {
	if e.ContentType != "" {
		w.Header().Set("Content-Type", e.ContentType)
	}
	w.WriteHeader(e.Status)
	_, _ = io.WriteString(w, e.Body)
}

// ErrorResponses are the four responses of the middleware.
type ErrorResponses struct {
	// AuthMissing answers requests without (usable) credentials.
	AuthMissing ErrorResponse
	// AuthFailed answers requests 3scale denied (or that could not be
	// authorized).
	AuthFailed ErrorResponse
	// LimitsExceeded answers requests denied with limits_exceeded (the
	// middleware adds Retry-After).
	LimitsExceeded ErrorResponse
	// NoMatch answers requests no mapping rule matched ([ErrNoMatch]).
	NoMatch ErrorResponse
}

// PortaContentType is the Content-Type porta puts in exported configs.
const PortaContentType = "text/plain; charset=us-ascii"

// DefaultErrorResponses returns the values porta (the 3scale admin portal)
// stores for a new service, which is what real exported configurations
// carry: 403 "Authentication parameters missing", 403 "Authentication
// failed", 429 "Usage limit exceeded", 404 "No Mapping Rule matched", all
// text/plain; charset=us-ascii. Set AuthMissing.Status to 401 for
// APIcast's code default.
func DefaultErrorResponses() ErrorResponses {
	return ErrorResponses{
		AuthMissing:    ErrorResponse{http.StatusForbidden, PortaContentType, "Authentication parameters missing"},
		AuthFailed:     ErrorResponse{http.StatusForbidden, PortaContentType, "Authentication failed"},
		LimitsExceeded: ErrorResponse{http.StatusTooManyRequests, PortaContentType, "Usage limit exceeded"},
		NoMatch:        ErrorResponse{http.StatusNotFound, PortaContentType, "No Mapping Rule matched"},
	}
}

// apicastFallbacks are APIcast's own defaults, used for fields a
// configuration leaves out (configuration.lua, errors.lua).
func apicastFallbacks() ErrorResponses {
	const ct = "text/plain; charset=utf-8"
	return ErrorResponses{
		AuthMissing:    ErrorResponse{http.StatusUnauthorized, ct, "Authentication parameters missing"},
		AuthFailed:     ErrorResponse{http.StatusForbidden, ct, "Authentication failed"},
		LimitsExceeded: ErrorResponse{http.StatusTooManyRequests, ct, "Limits exceeded"},
		NoMatch:        ErrorResponse{http.StatusNotFound, ct, "No Mapping Rule matched"},
	}
}

// ProxyConfig is the part of a 3scale proxy configuration the middleware
// uses. Load it with [LoadProxyConfig] or [ParseProxyConfigFile].
type ProxyConfig struct {
	// ServiceID is the service id ("" if absent).
	ServiceID string
	// BackendVersion is the authentication mode: "1" (user_key), "2"
	// (app_id + app_key), "oauth" or "oidc". proxy.authentication_method
	// overrides the service's backend_version, as in APIcast.
	BackendVersion string
	// CredentialsLocation is proxy.credentials_location (default query).
	CredentialsLocation credentials.Location
	// AuthUserKey, AuthAppID and AuthAppKey are the credential parameter
	// names (defaults user_key, app_id, app_key).
	AuthUserKey, AuthAppID, AuthAppKey string
	// Rules are proxy.proxy_rules, in file order.
	Rules []Rule
	// Errors are the error responses; fields the file leaves out (or sets
	// to null) get APIcast's fallbacks (401 for auth missing, "Limits
	// exceeded", text/plain; charset=utf-8), so behaviour matches APIcast
	// reading the same file.
	Errors ErrorResponses

	mapper *RuleMapper
}

// Extractor returns the credentials extractor the configuration selects:
// [credentials.UserKeyMode], [credentials.AppIDMode] or
// [credentials.OAuthMode] with the configured names and location; opts
// (e.g. credentials.Strip()) are applied after them. For "oidc" the bearer
// token is used as the client id without validation: validate JWTs with
// your own credentials.ExtractorFunc.
func (c *ProxyConfig) Extractor(opts ...credentials.Option) credentials.Extractor {
	base := []credentials.Option{credentials.Locations(c.CredentialsLocation)}
	switch c.BackendVersion {
	case "2":
		base = append(base, credentials.AppIDName(c.AuthAppID), credentials.AppKeyName(c.AuthAppKey))
		return credentials.AppIDMode(append(base, opts...)...)
	case "oauth", "oidc":
		return credentials.OAuthMode(append(base, opts...)...)
	}
	base = append(base, credentials.UserKeyName(c.AuthUserKey))
	return credentials.UserKeyMode(append(base, opts...)...)
}

// Mapper returns the compiled mapping rules.
func (c *ProxyConfig) Mapper() *RuleMapper { return c.mapper }

// ConfigError reports a malformed proxy configuration field.
type ConfigError struct {
	Field  string // JSON path, e.g. "proxy.proxy_rules[3].delta"
	Reason string // what is wrong; never the value of a secret
}

// Error formats as "metrics: proxy config: proxy.proxy_rules[3].delta: want an integer, got string".
func (e *ConfigError) Error() string {
	return "metrics: proxy config: " + e.Field + ": " + e.Reason
}

// ParseProxyConfigFile reads and loads a proxy configuration file (see
// [LoadProxyConfig]).
func ParseProxyConfigFile(path string, opts ...RuleOption) (*ProxyConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: proxy config: %w", err)
	}
	return LoadProxyConfig(data, opts...)
}

// LoadProxyConfig parses a 3scale proxy configuration as exported by the
// admin portal and read by APIcast, in any of these shapes:
//
//	{"proxy_config": {"content": {"id": 42, "backend_version": "1", "proxy": {...}}}}
//	{"id": 42, "backend_version": "1", "proxy": {...}}
//	{"services": [{"id": 42, "backend_version": "1", "proxy": {...}}]}   (one service)
//
// It reads backend_version (or proxy.authentication_method),
// proxy.credentials_location, proxy.auth_user_key/auth_app_id/auth_app_key,
// proxy.proxy_rules (http_method, pattern, metric_system_name, delta, last,
// position, querystring_parameters) and the error_*, error_status_* and
// error_headers_* fields of auth_failed, auth_missing, limits_exceeded and
// no_match; other fields are ignored. The rules are compiled with opts.
// Errors are [*ConfigError]s naming the field.
func LoadProxyConfig(data []byte, opts ...RuleOption) (*ProxyConfig, error) {
	root, err := object("", data)
	if err != nil {
		return nil, err
	}
	svc := root
	switch {
	case root.has("proxy_config"):
		pc, err := root.object("proxy_config")
		if err != nil {
			return nil, err
		}
		raw := pc.m["content"]
		if s, ok, err := pc.str("content"); err == nil && ok { // content given as a JSON string
			raw = json.RawMessage(s)
		}
		if svc, err = object("proxy_config.content", raw); err != nil {
			return nil, err
		}
	case root.has("services") && !root.has("proxy"):
		var list []json.RawMessage
		if err := json.Unmarshal(root.m["services"], &list); err != nil {
			return nil, &ConfigError{"services", "want an array"}
		}
		if len(list) != 1 {
			return nil, &ConfigError{"services", fmt.Sprintf("want exactly one service, got %d", len(list))}
		}
		if svc, err = object("services[0]", list[0]); err != nil {
			return nil, err
		}
	}
	if !svc.has("proxy") {
		return nil, &ConfigError{svc.field("proxy"), "missing"}
	}
	proxy, err := svc.object("proxy")
	if err != nil {
		return nil, err
	}
	c := &ProxyConfig{}
	if c.ServiceID, _, err = svc.scalar("id"); err != nil {
		return nil, err
	}
	if err := c.loadAuth(svc, proxy); err != nil {
		return nil, err
	}
	if err := c.loadErrors(proxy); err != nil {
		return nil, err
	}
	if err := c.loadRules(proxy); err != nil {
		return nil, err
	}
	c.mapper, err = CompileRules(c.Rules, opts...)
	if re := (*RuleError)(nil); errors.As(err, &re) {
		field := map[string]string{"pattern": "pattern", "metric": "metric_system_name", "delta": "delta", "query": "querystring_parameters"}[re.Field]
		return nil, &ConfigError{fmt.Sprintf("%s[%d].%s", proxy.field("proxy_rules"), re.Index, field), re.Reason}
	}
	return c, err
}

func (c *ProxyConfig) loadAuth(svc, proxy obj) error {
	bv, ok, err := svc.scalar("backend_version")
	if err != nil {
		return err
	}
	field := svc.field("backend_version")
	if am, ok2, err := proxy.str("authentication_method"); err != nil {
		return err
	} else if ok2 && am != "" {
		bv, ok, field = am, true, proxy.field("authentication_method")
	}
	switch {
	case !ok || bv == "":
		bv = "1"
	case bv != "1" && bv != "2" && bv != "oauth" && bv != "oidc":
		return &ConfigError{field, fmt.Sprintf("unknown authentication mode %q (want 1, 2, oauth or oidc)", trunc(bv))}
	}
	c.BackendVersion = bv
	loc, _, err := proxy.str("credentials_location")
	if err != nil {
		return err
	}
	if c.CredentialsLocation, err = credentials.ParseLocation(loc); err != nil {
		return &ConfigError{proxy.field("credentials_location"), fmt.Sprintf("unknown location %q (want query, headers or authorization)", trunc(loc))}
	}
	for _, f := range []struct {
		name string
		dst  *string
		def  string
	}{
		{"auth_user_key", &c.AuthUserKey, credentials.DefaultUserKeyName},
		{"auth_app_id", &c.AuthAppID, credentials.DefaultAppIDName},
		{"auth_app_key", &c.AuthAppKey, credentials.DefaultAppKeyName},
	} {
		v, _, err := proxy.str(f.name)
		if err != nil {
			return err
		}
		if *f.dst = strings.ToLower(v); v == "" {
			*f.dst = f.def
		}
	}
	return nil
}

func (c *ProxyConfig) loadErrors(proxy obj) error {
	c.Errors = apicastFallbacks()
	for _, e := range []struct {
		name string
		dst  *ErrorResponse
	}{
		{"auth_missing", &c.Errors.AuthMissing},
		{"auth_failed", &c.Errors.AuthFailed},
		{"limits_exceeded", &c.Errors.LimitsExceeded},
		{"no_match", &c.Errors.NoMatch},
	} {
		if v, ok, err := proxy.str("error_" + e.name); err != nil {
			return err
		} else if ok {
			e.dst.Body = v
		}
		if v, ok, err := proxy.str("error_headers_" + e.name); err != nil {
			return err
		} else if ok && v != "" {
			e.dst.ContentType = v
		}
		st, ok, err := proxy.integer("error_status_" + e.name)
		switch {
		case err != nil:
			return err
		case ok && (st < 100 || st > 999):
			return &ConfigError{proxy.field("error_status_" + e.name), fmt.Sprintf("status %d out of range", st)}
		case ok:
			e.dst.Status = int(st)
		}
	}
	return nil
}

func (c *ProxyConfig) loadRules(proxy obj) error {
	raw, ok := proxy.m["proxy_rules"]
	if !ok || isNull(raw) {
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return &ConfigError{proxy.field("proxy_rules"), "want an array"}
	}
	for i, item := range list {
		o, err := object(fmt.Sprintf("%s[%d]", proxy.field("proxy_rules"), i), item)
		if err != nil {
			return err
		}
		var r Rule
		var ok bool
		if r.Method, _, err = o.str("http_method"); err != nil {
			return err
		}
		if r.Pattern, ok, err = o.str("pattern"); err != nil {
			return err
		} else if !ok || r.Pattern == "" {
			return &ConfigError{o.field("pattern"), "missing"}
		}
		if r.Metric, ok, err = o.str("metric_system_name"); err != nil {
			return err
		} else if !ok || r.Metric == "" {
			return &ConfigError{o.field("metric_system_name"), "missing"}
		}
		if r.Delta, _, err = o.integer("delta"); err != nil {
			return err
		}
		if r.Last, _, err = o.boolean("last"); err != nil {
			return err
		}
		pos, _, err := o.integer("position")
		if err != nil {
			return err
		}
		r.Position = int(pos)
		if r.Query, err = o.stringMap("querystring_parameters"); err != nil {
			return err
		}
		c.Rules = append(c.Rules, r)
	}
	return nil
}

// obj is a JSON object being read, with its path for error messages.
type obj struct {
	path string
	m    map[string]json.RawMessage
}

func object(path string, raw json.RawMessage) (obj, error) {
	o := obj{path: path}
	name := path
	if name == "" {
		name = "(root)"
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return o, &ConfigError{name, "missing"}
	}
	if err := json.Unmarshal(raw, &o.m); err != nil || o.m == nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return o, &ConfigError{name, fmt.Sprintf("invalid JSON at offset %d", syn.Offset)}
		}
		return o, &ConfigError{name, "want an object, got " + jsonType(raw)}
	}
	return o, nil
}

func (o obj) field(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "." + name
}

func (o obj) has(name string) bool { _, ok := o.m[name]; return ok }

func (o obj) object(name string) (obj, error) { return object(o.field(name), o.m[name]) }

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// get returns the raw value; absent and null are "not set".
func (o obj) get(name string) (json.RawMessage, bool) {
	raw, ok := o.m[name]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

func (o obj) str(name string) (string, bool, error) {
	raw, ok := o.get(name)
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, &ConfigError{o.field(name), "want a string, got " + jsonType(raw)}
	}
	return s, true, nil
}

// scalar reads a string or a number as text (ids, backend_version).
func (o obj) scalar(name string) (string, bool, error) {
	raw, ok := o.get(name)
	if !ok {
		return "", false, nil
	}
	if t := jsonType(raw); t == "number" {
		return string(bytes.TrimSpace(raw)), true, nil
	}
	return o.str(name)
}

// integer reads an integer given as a number or a numeric string.
func (o obj) integer(name string) (int64, bool, error) {
	raw, ok := o.get(name)
	if !ok {
		return 0, false, nil
	}
	text := string(bytes.TrimSpace(raw))
	if jsonType(raw) == "string" {
		_ = json.Unmarshal(raw, &text)
	} else if jsonType(raw) != "number" {
		return 0, false, &ConfigError{o.field(name), "want an integer, got " + jsonType(raw)}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil {
		return 0, false, &ConfigError{o.field(name), "want an integer"}
	}
	return n, true, nil
}

// boolean reads true/false, also as the strings "true"/"false".
func (o obj) boolean(name string) (bool, bool, error) {
	raw, ok := o.get(name)
	if !ok {
		return false, false, nil
	}
	switch strings.Trim(string(bytes.TrimSpace(raw)), `"`) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, &ConfigError{o.field(name), "want a boolean, got " + jsonType(raw)}
}

// stringMap reads an object of strings. Null, {} and [] (how some encoders
// write an empty map) all give nil.
func (o obj) stringMap(name string) (map[string]string, error) {
	raw, ok := o.get(name)
	if !ok {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil || len(list) > 0 {
			return nil, &ConfigError{o.field(name), "want an object of strings"}
		}
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func jsonType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// trunc shortens a configuration value quoted in an error.
func trunc(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

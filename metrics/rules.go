package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/threescale-go/threescale/core"
	"github.com/threescale-go/threescale/credentials"
)

// Rule is one APIcast mapping rule (a proxy_rules entry of the 3scale
// proxy configuration).
type Rule struct {
	// Method is matched exactly against the request method after
	// upper-casing the rule's value; "ANY" or "" matches every method.
	Method string
	// Pattern is the path pattern, e.g. "/products/{id}/reviews$" or
	// "/search?q={q}&lang=en". See [CompileRules] for the grammar.
	Pattern string
	// Metric is the metric system name the delta is added to.
	Metric string
	// Delta is added to Metric when the rule matches (>= 0; 0 matches
	// without cost).
	Delta int64
	// Last stops the walk after this rule if it matches.
	Last bool
	// Position orders the rules (ascending; ties keep slice order).
	Position int
	// Query holds extra query-string conditions (param → value or "{x}"),
	// merged over those parsed from Pattern's "?" part. 3scale exports
	// them as querystring_parameters.
	Query map[string]string
}

// RuleOption configures [CompileRules].
type RuleOption func(*ruleConfig)

type ruleConfig struct {
	segmentPrefix bool
	allowZero     bool
}

// SegmentPrefix makes prefix matching segment-aware: "/foo" then matches
// "/foo" and "/foo/bar" but not "/foobar" (APIcast matches all three).
// Patterns that end with "/" or "$" are unaffected.
func SegmentPrefix() RuleOption { return func(c *ruleConfig) { c.segmentPrefix = true } }

// AllowZeroUsage accepts requests whose matching rules all have delta 0:
// Map returns the match with an empty Usage instead of [ErrNoMatch]
// (APIcast answers such requests with no_match).
func AllowZeroUsage() RuleOption { return func(c *ruleConfig) { c.allowZero = true } }

// RuleMapper is a [Mapper] over compiled mapping rules. Build it with
// [CompileRules]; it is immutable and safe for concurrent use.
type RuleMapper struct {
	rules    []*compiledRule
	byMethod map[string]*ruleIndex // rules of that method or ANY, in order
	anyOnly  *ruleIndex            // ANY rules, for other methods
	cfg      ruleConfig
}

// ruleIndex narrows the rules worth trying for a path by one byte of the
// path: the rules whose literal prefix is longer than k can only match a
// path whose byte k equals the prefix's, so bucket[c] holds, in walk order,
// the rules with prefix[k] == c plus those with a prefix of at most k
// bytes (short). k < 0 means no index (few rules).
type ruleIndex struct {
	k      int
	short  []*compiledRule
	bucket *[256][]*compiledRule
}

// minIndexed is the number of rules from which a ruleIndex is built.
const minIndexed = 8

func newRuleIndex(rules []*compiledRule) *ruleIndex {
	idx := &ruleIndex{k: -1, short: rules}
	if len(rules) < minIndexed {
		return idx
	}
	// choose the byte position that minimises the longest candidate list
	best, bestCost := -1, len(rules)
	maxLen := 0
	for _, c := range rules {
		maxLen = max(maxLen, len(c.prefix))
	}
	for k := 0; k < maxLen; k++ {
		var counts [256]int
		short := 0
		for _, c := range rules {
			if len(c.prefix) <= k {
				short++
			} else {
				counts[c.prefix[k]]++
			}
		}
		cost := short
		for _, n := range counts {
			cost = max(cost, short+n)
		}
		if cost < bestCost {
			best, bestCost = k, cost
		}
	}
	if best < 0 {
		return idx
	}
	idx.k, idx.short, idx.bucket = best, nil, new([256][]*compiledRule)
	for _, c := range rules {
		if len(c.prefix) <= best {
			idx.short = append(idx.short, c)
			for b := range idx.bucket {
				idx.bucket[b] = append(idx.bucket[b], c)
			}
		} else {
			b := c.prefix[best]
			idx.bucket[b] = append(idx.bucket[b], c)
		}
	}
	return idx
}

// candidates returns the rules that may match path, in walk order.
func (idx *ruleIndex) candidates(path string) []*compiledRule {
	if idx == nil { // zero RuleMapper
		return nil
	}
	if idx.k < 0 || len(path) <= idx.k {
		return idx.short
	}
	return idx.bucket[path[idx.k]]
}

type compiledRule struct {
	info   MatchedRule
	method string // "" for ANY
	prefix string // decoded literal text before the first placeholder
	stars  []star
	exact  bool
	seg    bool // segment-aware prefix end
	conds  []cond
}

// star is a run of adjacent placeholders followed by literal text.
type star struct {
	names []string // placeholder names, one per adjacent placeholder
	chunk string   // decoded literal text up to the next placeholder
}

type cond struct {
	key, value string
	name       string // placeholder name; "" means value must equal
	present    bool   // value is a placeholder: the key only has to be present
}

type capture struct{ name, value string }

// CompileRules compiles mapping rules into a [RuleMapper] with APIcast's
// semantics (gateways.md §1.1), computed once so that nothing is compiled
// per request:
//
//   - Rules are walked in Position order. Every matching rule adds its
//     Delta to its Metric; a matching rule with Last stops the walk.
//   - The method must equal the rule's (upper-cased) method; ANY or ""
//     matches all.
//   - The pattern is a prefix match on the request path by default
//     ("/foo" matches "/foo", "/foo/bar", "/foobar", "/foo.json"); a
//     trailing "$" makes it exact. Runs of "/" collapse to one.
//   - "{name}" matches one or more characters of one path segment (no
//     "/"), so "@", ":", "%"… are accepted ("{}" is literal text, as in
//     APIcast). Captured values are returned in
//     [Match.Params]. Adjacent or ambiguous placeholders in one segment
//     capture leftmost-shortest, except a placeholder that ends the
//     segment, which takes the rest of it.
//   - Every other character is literal: unlike APIcast (issue #1001),
//     ".", "+", "(", ")", "*" are not regular-expression operators, and "$"
//     is only an anchor at the end.
//   - Matching happens on the decoded, normalised path (r.URL.Path with
//     dot-segments and duplicate slashes resolved, as nginx's $uri);
//     percent-escapes in patterns are decoded at compile time, so
//     "/foo%20bar" and "/foo bar" are the same pattern.
//   - The "?" part of the pattern (and Rule.Query) are conditions on query
//     parameters: "k={x}" (any value containing a "{name}" variable, as
//     APIcast) requires k to be present (any value, even empty, captured
//     as x), "k=v" requires the value v; for a repeated
//     parameter the last value counts; other parameters are ignored. For
//     POST, PUT and PATCH with an urlencoded body the form fields count too
//     and win over URL parameters with the same name (the body is read
//     without being consumed, see credentials.PeekForm).
//   - When no rule matches Map returns [ErrNoMatch]. When only rules with
//     delta 0 match, Usage is empty and Map also returns ErrNoMatch (with
//     the matched rules), as APIcast does, unless [AllowZeroUsage] is set.
//
// Errors name the rule by index and field. Patterns must start with "/".
func CompileRules(rules []Rule, opts ...RuleOption) (*RuleMapper, error) {
	m := &RuleMapper{byMethod: make(map[string]*ruleIndex)}
	for _, o := range opts {
		if o != nil {
			o(&m.cfg)
		}
	}
	order := make([]int, len(rules))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rules[order[a]].Position < rules[order[b]].Position })
	for _, i := range order {
		c, err := compileRule(rules[i], m.cfg)
		if err != nil {
			err.Index = i
			return nil, err
		}
		m.rules = append(m.rules, c)
	}
	methods := map[string]bool{}
	var anyRules []*compiledRule
	for _, c := range m.rules {
		if c.method == "" {
			anyRules = append(anyRules, c)
		} else {
			methods[c.method] = true
		}
	}
	for method := range methods {
		var list []*compiledRule
		for _, c := range m.rules {
			if c.method == "" || c.method == method {
				list = append(list, c)
			}
		}
		m.byMethod[method] = newRuleIndex(list)
	}
	m.anyOnly = newRuleIndex(anyRules)
	return m, nil
}

// RuleError reports an invalid rule: the index in the slice given to
// [CompileRules] and the field.
type RuleError struct {
	Index  int    // index in the slice given to CompileRules
	Field  string // "pattern", "metric", "delta" or "query"
	Reason string // what is wrong
}

// Error formats as `metrics: rule 3: pattern: must start with "/"`.
func (e *RuleError) Error() string {
	return "metrics: rule " + strconv.Itoa(e.Index) + ": " + e.Field + ": " + e.Reason
}

func compileRule(r Rule, cfg ruleConfig) (*compiledRule, *RuleError) {
	method := strings.ToUpper(strings.TrimSpace(r.Method))
	if method == "ANY" {
		method = ""
	}
	if r.Delta < 0 {
		return nil, &RuleError{Field: "delta", Reason: strconv.FormatInt(r.Delta, 10) + " is negative"}
	}
	if err := (core.Usage{r.Metric: r.Delta}).Validate(); err != nil {
		return nil, &RuleError{Field: "metric", Reason: err.Error()}
	}
	c := &compiledRule{method: method, info: MatchedRule{
		Method: method, Pattern: r.Pattern, Metric: r.Metric, Delta: r.Delta, Last: r.Last, Position: r.Position,
	}}
	if c.info.Method == "" {
		c.info.Method = "ANY"
	}
	path, query, _ := strings.Cut(r.Pattern, "?")
	if err := c.compilePath(path); err != nil {
		return nil, &RuleError{Field: "pattern", Reason: err.Error()}
	}
	c.seg = cfg.segmentPrefix && !c.exact && !strings.HasSuffix(path, "/")
	conds := map[string]string{}
	if query != "" {
		for pair := range strings.SplitSeq(query, "&") {
			k, v, _ := strings.Cut(pair, "=")
			if k = lenientUnescape(k, true); k != "" {
				conds[k] = v
			}
		}
		for k, v := range conds {
			conds[k] = lenientUnescape(v, true)
		}
	}
	for k, v := range r.Query {
		if k == "" {
			return nil, &RuleError{Field: "query", Reason: "empty parameter name"}
		}
		conds[k] = v
	}
	for k, v := range conds {
		cd := cond{key: k, value: v}
		cd.name, cd.present = queryVariable(v)
		c.conds = append(c.conds, cd)
	}
	sort.Slice(c.conds, func(a, b int) bool { return c.conds[a].key < c.conds[b].key })
	return c, nil
}

// queryVariable reports whether a query condition value is a variable: as
// in APIcast, any value containing "{name}" with name made of letters,
// digits, "_" and "-".
func queryVariable(v string) (name string, ok bool) {
	for {
		i := strings.IndexByte(v, '{')
		if i < 0 {
			return "", false
		}
		v = v[i+1:]
		j := 0
		for j < len(v) && (v[j] == '_' || v[j] == '-' || isAlnum(v[j])) {
			j++
		}
		if j > 0 && j < len(v) && v[j] == '}' {
			return v[:j], true
		}
	}
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (c *compiledRule) compilePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("must start with \"/\"")
	}
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if strings.HasSuffix(p, "$") {
		c.exact, p = true, p[:len(p)-1]
	}
	var lit strings.Builder
	flush := func() string {
		s := lenientUnescape(lit.String(), false)
		lit.Reset()
		return s
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '{' || strings.HasPrefix(p[i:], "{}") { // "{}" is literal, as in APIcast
			lit.WriteByte(p[i])
			continue
		}
		end := strings.IndexAny(p[i+1:], "{}/")
		if end < 0 || p[i+1+end] != '}' {
			return fmt.Errorf("unclosed \"{\" at offset %d", i)
		}
		name := p[i+1 : i+1+end]
		i += end + 1
		switch text := flush(); {
		case len(c.stars) == 0:
			c.prefix = text
		case text == "": // adjacent placeholders: one run
			last := &c.stars[len(c.stars)-1]
			last.names = append(last.names, name)
			continue
		default:
			c.stars[len(c.stars)-1].chunk = text
		}
		c.stars = append(c.stars, star{names: []string{name}})
	}
	text := flush()
	if len(c.stars) == 0 {
		c.prefix = text
	} else {
		c.stars[len(c.stars)-1].chunk = text
	}
	return nil
}

// lenientUnescape decodes %XX escapes (and "+" as space when query is
// true), leaving invalid escapes as they are.
func lenientUnescape(s string, query bool) string {
	if !strings.ContainsRune(s, '%') && (!query || !strings.ContainsRune(s, '+')) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case s[i] == '+' && query:
			b = append(b, ' ')
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// matchPath matches the normalised path p, appending captures to caps.
func (c *compiledRule) matchPath(p string, caps []capture) ([]capture, bool) {
	if !strings.HasPrefix(p, c.prefix) {
		return caps, false
	}
	p = p[len(c.prefix):]
	for i := range c.stars {
		st := &c.stars[i]
		last := i == len(c.stars)-1
		seg := len(p) // how far a placeholder may extend: up to the next "/"
		if j := strings.IndexByte(p, '/'); j >= 0 {
			seg = j
		}
		minLen := len(st.names)
		if seg < minLen {
			return caps, false
		}
		var n int
		switch {
		case st.chunk == "": // only the last star: take the rest of the segment
			n = seg
		case last && c.exact:
			n = len(p) - len(st.chunk)
			if n < minLen || n > seg || p[n:] != st.chunk {
				return caps, false
			}
		default: // leftmost occurrence of the following literal
			k := strings.Index(p[minLen:], st.chunk)
			if k < 0 || minLen+k > seg {
				return caps, false
			}
			n = minLen + k
		}
		caps = appendCaptures(caps, st.names, p[:n])
		p = p[n+len(st.chunk):]
	}
	switch {
	case c.exact:
		return caps, p == ""
	case c.seg:
		return caps, p == "" || p[0] == '/'
	}
	return caps, true
}

// appendCaptures splits v among adjacent placeholders: one character each,
// the last takes the rest.
func appendCaptures(caps []capture, names []string, v string) []capture {
	for i, name := range names {
		part := v[:1]
		if i == len(names)-1 {
			part = v
		}
		v = v[len(part):]
		if name != "" {
			caps = append(caps, capture{name, part})
		}
	}
	return caps
}

// args looks up query-string/form parameters for rule conditions; the
// form body is read at most once per request.
type args struct {
	r        *http.Request
	form     url.Values
	formRead bool
}

func (a *args) last(key string) (string, bool) {
	if !a.formRead {
		a.form, a.formRead = credentials.PeekForm(a.r), true
	}
	if vs := a.form[key]; len(vs) > 0 {
		return vs[len(vs)-1], true
	}
	if a.r.URL == nil {
		return "", false
	}
	return lastQueryValue(a.r.URL.RawQuery, key)
}

// lastQueryValue returns the decoded value of the last occurrence of key
// in a raw query string, without allocating unless escapes are present.
// Invalid escapes such as "%zz" are kept as they are (nginx's argument
// decoding is lenient too), so such a parameter is still present.
func lastQueryValue(raw, key string) (string, bool) {
	var val string
	found := false
	for pair := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if lenientUnescape(k, true) == key {
			val, found = v, true
		}
	}
	if !found {
		return "", false
	}
	return lenientUnescape(val, true), true
}

func (c *compiledRule) matchQuery(a *args, caps []capture) ([]capture, bool) {
	for _, cd := range c.conds {
		v, ok := a.last(cd.key)
		if !ok || !cd.present && v != cd.value {
			return caps, false
		}
		if cd.present && cd.name != "" {
			caps = append(caps, capture{cd.name, v})
		}
	}
	return caps, true
}

// Map implements [Mapper].
func (m *RuleMapper) Map(r *http.Request) (Match, error) {
	idx, ok := m.byMethod[r.Method]
	if !ok {
		idx = m.anyOnly
	}
	var rawPath string
	if r.URL != nil {
		rawPath = r.URL.Path
	}
	path := normalizePath(rawPath)
	var (
		hitBuf  [16]*compiledRule
		capBuf  [8]capture
		hits    = hitBuf[:0]
		caps    = capBuf[:0]
		a       = args{r: r}
		metrics = 0
	)
	for _, c := range idx.candidates(path) {
		start := len(caps)
		caps, ok = c.matchPath(path, caps)
		if ok && len(c.conds) > 0 {
			caps, ok = c.matchQuery(&a, caps)
		}
		if !ok {
			caps = caps[:start]
			continue
		}
		hits = append(hits, c)
		if c.info.Delta > 0 {
			metrics++
		}
		if c.info.Last {
			break
		}
	}
	if len(hits) == 0 {
		return Match{}, ErrNoMatch
	}
	match := Match{Rules: make([]MatchedRule, len(hits))}
	if metrics > 0 {
		match.Usage = make(core.Usage, metrics)
	}
	for i, c := range hits {
		match.Rules[i] = c.info
		if c.info.Delta > 0 {
			match.Usage[c.info.Metric] += c.info.Delta
		}
	}
	if len(caps) > 0 {
		match.Params = make(map[string]string, len(caps))
		for _, cp := range caps {
			if _, dup := match.Params[cp.name]; !dup {
				match.Params[cp.name] = cp.value
			}
		}
	}
	if len(match.Usage) == 0 && !m.cfg.allowZero {
		return match, ErrNoMatch
	}
	return match, nil
}

// Rules returns the compiled rules in walk order, as [MatchedRule] values.
func (m *RuleMapper) Rules() []MatchedRule {
	out := make([]MatchedRule, len(m.rules))
	for i, c := range m.rules {
		out[i] = c.info
	}
	return out
}

package core

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Canonical header keys, precomputed so lookups skip canonicalisation.
const (
	hdrRejectionReason = "3scale-Rejection-Reason"
	hdrLimitRemaining  = "3scale-Limit-Remaining"
	hdrLimitReset      = "3scale-Limit-Reset"
	hdrLimitMax        = "3scale-Limit-Max-Value"
)

// ParseAuthResponse turns an authorize/authrep response (status, headers,
// body) into a result or a typed error, exactly as the client does. It is
// exported for callers that transport requests themselves and for tests.
//
// The parser is hand-written and tolerant: the backend does not escape the
// <reason> text (or some attributes), so documents that are not well-formed
// XML are still read. Bodies that are not a 3scale document at all (HTML
// from a proxy, empty, truncated) give an ErrBackendUnavailable.
//
// What is tolerated and what is an error (decided per document):
//
//   - Tolerated: a UTF-8 byte-order mark, XML declarations, comments and
//     white space (including CRLF and pretty-printing by a re-formatting
//     proxy) between elements and around numbers; attributes on <status>;
//     single- or double-quoted attributes, with white space around '=';
//     elements in any order; unknown elements (skipped); an unknown period
//     name (PeriodUnknown); unparseable period_start/period_end (zero
//     time); negative counters (kept as sent); a max_value or
//     current_value beyond int64 (saturated to the int64 bounds: a huge
//     limit is "practically unlimited", not a broken backend).
//   - Errors (ErrBackendUnavailable): no <status> or <error> root, a
//     truncated document, a missing or non-boolean <authorized>, an
//     <authorized> that disagrees with the HTTP status, a usage_report
//     without a numeric max_value or current_value. These mean the answer
//     cannot be trusted to decide an authorization.
func ParseAuthResponse(status int, header http.Header, body []byte) (*AuthResult, error) {
	res, err := parseAuthResponse(status, header, body, false)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func parseAuthResponse(status int, header http.Header, body []byte, noBody bool) (*AuthResult, *Error) {
	if status != http.StatusOK && status != http.StatusConflict {
		return nil, parseErrorResponse(status, body, noBody)
	}
	s := strings.TrimSpace(string(body))
	if s == "" {
		if !noBody {
			return nil, &Error{Kind: ErrBackendUnavailable, StatusCode: status, Message: "empty response body"}
		}
		res := &AuthResult{Authorized: status == http.StatusOK, StatusCode: status, NoBody: true}
		fillFromHeaders(res, header)
		return res, nil
	}
	res := &AuthResult{StatusCode: status}
	if msg := parseStatusDoc(s, res); msg != "" {
		if e := parseErrorDoc(status, s); e != nil {
			return nil, e
		}
		return nil, &Error{Kind: ErrBackendUnavailable, StatusCode: status, Message: "unparseable response: " + msg}
	}
	fillFromHeaders(res, header)
	if res.Authorized != (status == http.StatusOK) {
		return nil, &Error{Kind: ErrBackendUnavailable, StatusCode: status, Message: "unparseable response: status code disagrees with <authorized>"}
	}
	return res, nil
}

func fillFromHeaders(res *AuthResult, h http.Header) {
	if !res.Authorized {
		if v := headerValue(h, hdrRejectionReason); v != "" {
			res.Reason = ReasonCode(v)
		} else if res.Reason = InferReason(res.ReasonText); res.Reason == ReasonNone {
			res.Reason = ReasonUnknown
		}
	}
	rem, okRem := headerInt(h, hdrLimitRemaining)
	if !okRem {
		return
	}
	rl := &res.RateLimit
	rl.Present = true
	if rem < 0 {
		rl.Unlimited = true
		return
	}
	rl.Remaining = rem
	if reset, ok := headerInt(h, hdrLimitReset); ok && reset >= 0 {
		rl.Reset, rl.HasReset = time.Duration(reset)*time.Second, true
	}
	if m, ok := headerInt(h, hdrLimitMax); ok && m >= 0 {
		rl.MaxValue, rl.HasMax = m, true
	}
}

func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	// Header maps built by hand may hold non-canonical (e.g. lower-case)
	// keys, as the backend writes them on the wire.
	for k, v := range h {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}

func headerInt(h http.Header, key string) (int64, bool) {
	v := headerValue(h, key)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// parseErrorResponse builds the error for a non-200/409 auth answer or a
// non-202 report answer.
func parseErrorResponse(status int, body []byte, noBody bool) *Error {
	s := strings.TrimSpace(string(body))
	if e := parseErrorDoc(status, s); e != nil {
		return e
	}
	e := &Error{StatusCode: status}
	switch {
	case status >= 500:
		e.Kind, e.Message = ErrBackendUnavailable, "backend error"
	case s == "" && noBody:
		e.Kind, e.Message = ErrBadRequest, "error without body (no_body extension)"
	case s == "":
		e.Kind, e.Message = ErrBackendUnavailable, "unexpected status with empty body"
	default:
		e.Kind, e.Message = ErrBackendUnavailable, "unexpected response (not a 3scale document)"
	}
	return e
}

// parseErrorDoc reads `<error code="C">message</error>`; nil if s is not one.
func parseErrorDoc(status int, s string) *Error {
	s = skipProlog(s)
	if !startsWithTag(s, "error") {
		return nil
	}
	end := strings.IndexByte(s, '>')
	if end < 0 {
		return nil
	}
	tag := s[len("<error"):end]
	code, _ := attr(tag, "code")
	msg := s[end+1:]
	if strings.HasSuffix(tag, "/") {
		msg = ""
	} else if i := strings.LastIndex(msg, "</error>"); i >= 0 {
		msg = msg[:i]
	} else {
		return nil // truncated
	}
	code = unescape(code)
	return &Error{Kind: kindForCode(code, status), StatusCode: status, Code: code, Message: unescape(msg)}
}

func skipProlog(s string) string {
	s = strings.TrimPrefix(strings.TrimLeft(s, " \t\r\n"), "\uFEFF") // UTF-8 byte-order mark
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if !strings.HasPrefix(s, "<?") && !strings.HasPrefix(s, "<!") {
			return s
		}
		i := strings.IndexByte(s, '>')
		if i < 0 {
			return s
		}
		s = s[i+1:]
	}
}

// parseStatusDoc fills res from a <status> document in one forward pass;
// it returns "" on success or a description of what is wrong.
func parseStatusDoc(s string, res *AuthResult) string {
	s = skipProlog(s)
	if !startsWithTag(s, "status") {
		return "no <status> element"
	}
	if !strings.HasSuffix(s, "</status>") {
		return "truncated document"
	}
	gt := strings.IndexByte(s, '>') // <status> may carry attributes (xmlns, ...)
	if gt < 0 || gt > len(s)-len("</status>") || s[gt-1] == '/' {
		return "no <status> element"
	}
	s = s[gt+1 : len(s)-len("</status>")]
	seenAuth := false
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			break
		}
		s = s[lt+1:]
		name, rest, selfClosing := tagName(s)
		if name == "" || name[0] == '/' {
			s = rest
			continue
		}
		if name == "reason" {
			res.ReasonText, s = reasonText(rest)
			continue
		}
		if !knownStatusElement(name) {
			s = rest // unknown elements are skipped, their children read as siblings
			continue
		}
		text, after, ok := blockUntilClose(rest, name, selfClosing)
		if !ok {
			return "unterminated <" + name + ">"
		}
		switch name {
		case "authorized":
			switch strings.TrimSpace(text) {
			case "true":
				res.Authorized = true
			case "false":
			default:
				return "bad <authorized> value"
			}
			seenAuth = true
		case "plan":
			res.Plan = unescape(text)
		case "application":
			res.Application = parseApplication(text)
		case "usage_reports":
			var msg string
			if res.UsageReports, msg = parseUsageReports(text); msg != "" {
				return msg
			}
		case "app_keys":
			res.AppKeys = parseAppKeys("<app_keys" + s[len("app_keys"):])
		case "hierarchy":
			res.Hierarchy = parseHierarchy(text)
		}
		s = after
	}
	if !seenAuth {
		return "no <authorized> element"
	}
	return ""
}

func knownStatusElement(name string) bool {
	switch name {
	case "authorized", "plan", "application", "usage_reports", "app_keys", "hierarchy":
		return true
	}
	return false
}

// tagName reads the name of the tag that s starts with (s is just past
// '<') and returns the input after the tag's '>' and whether it was
// self-closing.
func tagName(s string) (name, rest string, selfClosing bool) {
	i := 0
	for i < len(s) && s[i] != '>' && s[i] != '/' && !isSpace(s[i]) {
		i++
	}
	if i == 0 && len(s) > 0 && s[0] == '/' {
		i = 1
		for i < len(s) && s[i] != '>' {
			i++
		}
	}
	name = s[:i]
	gt := strings.IndexByte(s[i:], '>')
	if gt < 0 {
		return name, "", false
	}
	gt += i
	return name, s[gt+1:], gt > 0 && s[gt-1] == '/'
}

// textUntilClose returns the text up to "</name>" and the input after it;
// ok is false when there is no closing tag.
func textUntilClose(s, name string) (text, rest string, ok bool) {
	j := indexClose(s, name)
	if j < 0 {
		return "", "", false
	}
	return s[:j], s[j+len(name)+3:], true
}

// blockUntilClose is textUntilClose for elements with children.
func blockUntilClose(s, name string, selfClosing bool) (text, rest string, ok bool) {
	if selfClosing {
		return "", s, true
	}
	return textUntilClose(s, name)
}

// elementText returns the text between <name> and </name> (first
// occurrence), or "" and true for <name/>.
func elementText(s, name string) (string, bool) {
	i := indexTag(s, name)
	if i < 0 {
		return "", false
	}
	rest := s[i+1+len(name):]
	if strings.HasPrefix(rest, "/>") {
		return "", true
	}
	gt := strings.IndexByte(rest, '>')
	if gt < 0 {
		return "", false
	}
	rest = rest[gt+1:]
	j := indexClose(rest, name)
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}

// indexTag finds "<name" followed by '>', '/' or white space.
func indexTag(s, name string) int {
	off := 0
	for {
		i := strings.Index(s[off:], "<"+name)
		if i < 0 {
			return -1
		}
		i += off
		if k := i + 1 + len(name); k < len(s) {
			switch s[k] {
			case '>', '/', ' ', '\t', '\n', '\r':
				return i
			}
		}
		off = i + 1
	}
}

// startsWithTag reports whether s starts with "<name" followed by '>', '/'
// or white space.
func startsWithTag(s, name string) bool {
	k := 1 + len(name)
	if len(s) <= k || s[0] != '<' || s[1:k] != name {
		return false
	}
	c := s[k]
	return c == '>' || c == '/' || isSpace(c)
}

func indexClose(s, name string) int {
	off := 0
	for {
		i := strings.IndexByte(s[off:], '<')
		if i < 0 {
			return -1
		}
		i += off
		if k := i + 2 + len(name); k < len(s) && s[i+1] == '/' && s[k] == '>' && s[i+2:k] == name {
			return i
		}
		off = i + 1
	}
}

// reasonText reads the <reason> text (s starts just after "<reason>").
// The backend does not escape it (so it is returned as sent, entities and
// all), and it can embed request input (app keys, referrers, redirect
// URLs): the text runs to the last "</reason>" that is followed by the next
// element the backend writes (or by the end of the document), so injected
// tags stay inside the reason.
func reasonText(s string) (text, rest string) {
	end := -1
	for off := 0; ; {
		j := strings.Index(s[off:], "</reason>")
		if j < 0 {
			break
		}
		j += off
		after := strings.TrimLeft(s[j+len("</reason>"):], " \t\r\n") // pretty-printed documents
		if after == "" || followsReason(after) {
			end = j
		}
		off = j + 1
	}
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end+len("</reason>"):]
}

// followsReason reports whether s starts with an element that can follow
// </reason> in a status document (any of them, in any order).
func followsReason(s string) bool {
	for _, name := range [...]string{"plan", "application", "usage_reports", "app_keys", "hierarchy", "authorized"} {
		if startsWithTag(s, name) {
			return true
		}
	}
	return false
}

func parseApplication(s string) *OAuthApplication {
	a := &OAuthApplication{}
	a.ID, _ = elementText(s, "id")
	a.Key, _ = elementText(s, "key")
	if u, ok := elementText(s, "redirect_url"); ok {
		a.RedirectURL = u
	} else {
		a.RedirectURL, _ = elementText(s, "redirect_uri")
	}
	a.RedirectURL = unescape(a.RedirectURL)
	return a
}

const layoutReportTime = "2006-01-02 15:04:05 -0700"

func parseUsageReports(s string) ([]UsageReport, string) {
	if s == "" {
		return nil, ""
	}
	// Plans rarely have more than four limits; append grows past that.
	out := make([]UsageReport, 0, 4)
	for {
		i := indexTag(s, "usage_report")
		if i < 0 {
			return out, ""
		}
		s = s[i+len("<usage_report"):]
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			return nil, "truncated usage_report"
		}
		tag := s[:gt]
		s = s[gt+1:]
		var r UsageReport
		r.Metric, _ = attr(tag, "metric")
		p, _ := attr(tag, "period")
		r.Period = ParsePeriod(p)
		ex, _ := attr(tag, "exceeded")
		r.Exceeded = ex == "true"
		var hasMax, hasCur bool
		if !strings.HasSuffix(tag, "/") {
			for {
				lt := strings.IndexByte(s, '<')
				if lt < 0 {
					return nil, "truncated usage_report"
				}
				var name string
				var selfClosing bool
				name, s, selfClosing = tagName(s[lt+1:])
				if name == "/usage_report" {
					break
				}
				if name == "" || name[0] == '/' || selfClosing {
					continue
				}
				text, after, ok := textUntilClose(s, name)
				if !ok {
					return nil, "unterminated <" + name + ">"
				}
				s = after
				switch name {
				case "max_value":
					r.MaxValue, hasMax = parseInt(text)
				case "current_value":
					r.CurrentValue, hasCur = parseInt(text)
				case "period_start":
					r.PeriodStart = parseReportTime(text)
				case "period_end":
					r.PeriodEnd = parseReportTime(text)
				}
			}
		}
		if !hasMax {
			return nil, "usage_report without a valid max_value"
		}
		if !hasCur {
			return nil, "usage_report without a valid current_value"
		}
		if r.Period == PeriodEternity {
			r.PeriodStart, r.PeriodEnd = time.Time{}, time.Time{}
		}
		out = append(out, r)
	}
}

// parseInt parses a counter; values beyond int64 saturate (ParseInt
// returns the bound with ErrRange) instead of failing the document.
func parseInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return n, true
		}
		return 0, false
	}
	return n, true
}

// parseReportTime parses "2006-01-02 15:04:05 +0000" without allocating;
// it falls back to time.Parse for other offsets and returns the zero time
// for garbage.
func parseReportTime(s string) time.Time {
	if len(s) == 25 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' && s[19] == ' ' && s[20:] == "+0000" {
		y, ok1 := digits(s[0:4])
		mo, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		h, ok4 := digits(s[11:13])
		mi, ok5 := digits(s[14:16])
		se, ok6 := digits(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 {
			return time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
		}
	}
	t, err := time.Parse(layoutReportTime, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func parseAppKeys(s string) *AppKeys {
	gt := strings.IndexByte(s, '>')
	if gt < 0 {
		return nil
	}
	tag := s[len("<app_keys"):gt]
	ak := &AppKeys{}
	app, _ := attr(tag, "app")
	svc, _ := attr(tag, "svc")
	ak.App, ak.Service = app, svc
	if strings.HasSuffix(tag, "/") {
		return ak
	}
	body := s[gt+1:]
	if j := indexClose(body, "app_keys"); j >= 0 {
		body = body[:j]
	}
	for {
		i := indexTag(body, "key")
		if i < 0 {
			return ak
		}
		body = body[i+len("<key"):]
		end := strings.IndexByte(body, '>')
		if end < 0 {
			return ak
		}
		if id, ok := attr(body[:end], "id"); ok {
			ak.Keys = append(ak.Keys, id)
		}
		body = body[end+1:]
	}
}

func parseHierarchy(s string) map[string][]string {
	h := make(map[string][]string)
	for {
		i := indexTag(s, "metric")
		if i < 0 {
			return h
		}
		s = s[i+len("<metric"):]
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return h
		}
		tag := s[:end]
		s = s[end+1:]
		name, ok := attr(tag, "name")
		if !ok {
			continue
		}
		if _, seen := h[name]; seen {
			continue // the backend repeats a metric once per usage report
		}
		children, _ := attr(tag, "children")
		h[name] = strings.Fields(children)
	}
}

// attr returns the value of name="..." (or '...') inside a start tag's
// attribute text.
func attr(tag, name string) (string, bool) {
	off := 0
	for {
		i := strings.Index(tag[off:], name)
		if i < 0 {
			return "", false
		}
		i += off
		j := i + len(name)
		if i == 0 || isSpace(tag[i-1]) {
			k := j
			for k < len(tag) && isSpace(tag[k]) {
				k++
			}
			if k < len(tag) && tag[k] == '=' {
				k++
				for k < len(tag) && isSpace(tag[k]) {
					k++
				}
				if k < len(tag) && (tag[k] == '"' || tag[k] == '\'') {
					q := tag[k]
					e := strings.IndexByte(tag[k+1:], q)
					if e < 0 {
						return "", false
					}
					return tag[k+1 : k+1+e], true
				}
			}
		}
		off = j
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// unescape resolves the five XML entities and numeric character references.
// Unknown entities are kept as they are.
func unescape(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		semi := strings.IndexByte(s[i:], ';')
		if semi < 0 || semi > 10 {
			b.WriteByte(c)
			i++
			continue
		}
		ent := s[i+1 : i+semi]
		if r, ok := entity(ent); ok {
			b.WriteString(r)
			i += semi + 1
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func entity(e string) (string, bool) {
	switch e {
	case "amp":
		return "&", true
	case "lt":
		return "<", true
	case "gt":
		return ">", true
	case "quot":
		return `"`, true
	case "apos":
		return "'", true
	}
	if len(e) > 1 && e[0] == '#' {
		var n uint64
		var err error
		if e[1] == 'x' || e[1] == 'X' {
			n, err = strconv.ParseUint(e[2:], 16, 32)
		} else {
			n, err = strconv.ParseUint(e[1:], 10, 32)
		}
		if err == nil && n > 0 && n <= 0x10FFFF {
			return string(rune(n)), true
		}
	}
	return "", false
}

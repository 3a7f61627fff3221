package threescaletest

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// report handles POST /transactions.xml. The synchronous checks decide the
// answer; an accepted batch is then processed at once by the simulated
// worker (so counters are up to date when the client sees the 202).
// Call with s.mu held.
func (s *Server) report(r *http.Request, body []byte) response {
	opts := parseOptions(r.Header)
	fail := func(e *apiError) response { return e.response(opts.noBody) }
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
		}
		if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
			return fail(newError("content_type_invalid", mt))
		}
	}
	params, err := requestParams(r, body)
	if err != nil {
		return (&apiError{code: "bad_request", status: http.StatusBadRequest, msg: err.Error(), keepBody: true}).response(true)
	}
	fail = func(e *apiError) response { return e.response(opts.noBody || truthy(params, "no_body")) }
	// Unlike the auth endpoints, provider_key is taken verbatim here.
	pk, hasPK := params.str("provider_key")
	var st *service
	if !hasPK {
		var e *apiError
		if st, e = s.tokenService(params); e != nil {
			return fail(e)
		}
	}
	if !validUTF8(params) {
		return fail(newError("not_valid_data"))
	}
	tv, _ := params.get("transactions")
	if isBlank(tv) {
		return fail(newError("transactions_is_blank"))
	}
	txns, ok := tv.(*phash)
	if !ok {
		return fail(newError("transactions_format_invalid"))
	}
	for _, k := range txns.keys {
		if txns.m[k] == nil {
			return fail(newError("transactions_has_nil_transaction"))
		}
	}
	for _, k := range txns.keys {
		if h, ok := txns.m[k].(*phash); ok {
			if _, has := h.get("user_id"); has {
				return fail(newError("end_users_no_longer_supported"))
			}
		}
	}
	if hasPK {
		sid, hasSID := normStr(params, "service_id")
		var e *apiError
		if st, e = s.resolveService(pk, sid, hasSID); e != nil {
			return fail(e)
		}
	}
	s.processBatch(st, txns, opts.flatUsage)
	return okResponse(http.StatusAccepted, nil)
}

func isBlank(v pvalue) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return rubyBlank(v)
	case *phash:
		return v.len() == 0
	case *parray:
		return len(v.elems) == 0
	}
	return false
}

type pendingTxn struct {
	app   *Application
	usage *effUsage
	at    time.Time
}

// processBatch is the worker: it validates every transaction and records
// all of them, or none and stores an IntegrationError.
func (s *Server) processBatch(st *service, txns *phash, flat bool) {
	now := s.nowUTC()
	var pending []pendingTxn
	for _, k := range txns.keys {
		t, e := s.parseTxn(st, txns.m[k], now, flat)
		if e != nil {
			s.ierrs = append(s.ierrs, IntegrationError{ServiceID: st.ID, Code: e.code, Message: e.msg, Time: now})
			return
		}
		if t != nil {
			pending = append(pending, *t)
		}
	}
	for _, t := range pending {
		s.record(st.ID, t.app.ID, t.usage, t.at)
	}
}

// parseTxn validates one transaction; nil, nil means "nothing to record".
func (s *Server) parseTxn(st *service, v pvalue, now time.Time, flat bool) (*pendingTxn, *apiError) {
	h, ok := v.(*phash)
	if !ok {
		return nil, newError("transactions_format_invalid")
	}
	appID, hasAppID := normStr(h, "app_id")
	userKey, hasUserKey := normStr(h, "user_key")
	var app *Application
	switch {
	case hasAppID && hasUserKey:
		return nil, newError("authentication_error")
	case hasAppID:
		if app = st.apps[appID]; app == nil {
			return nil, newError("application_not_found", appID)
		}
	case hasUserKey:
		if app = st.apps[st.userKeys[userKey]]; app == nil {
			return nil, newError("user_key_invalid", userKey)
		}
	default:
		return nil, newError("application_not_found")
	}
	uv, _ := h.get("usage")
	usage, ok := uv.(*phash)
	if !ok || usage.len() == 0 {
		return nil, nil
	}
	entries, e := st.parseUsage(usage, true)
	if e != nil {
		return nil, e
	}
	at := now
	if ts, ok := h.str("timestamp"); ok {
		if t, ok := parseTimestamp(ts); ok {
			at = t
		}
	}
	switch {
	case at.Before(now.Add(-86400 * time.Second)):
		return nil, newError("transaction_timestamp_too_old")
	case at.After(now.Add(3600 * time.Second)):
		return nil, newError("transaction_timestamp_too_new")
	}
	allZero := true
	for _, e := range entries {
		allZero = allZero && !e.set && e.n == 0
	}
	if allZero {
		return nil, nil
	}
	return &pendingTxn{app: app, usage: st.effective(entries, flat), at: at}, nil
}

// timestampLayouts are the date-time forms accepted besides Unix seconds
// (a practical subset of what Ruby's Date._parse understands).
var timestampLayouts = []string{
	"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 -07:00", "2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05",
	time.RFC1123Z, time.RFC1123, "2006-01-02", "2006/01/02", "2006/01/02 15:04:05",
}

// parseTimestamp parses a report timestamp: an integer (Ruby Integer()
// syntax: decimal, 0x/0b/0o, leading-0 octal, underscores) is Unix
// seconds; otherwise one of timestampLayouts (UTC unless an offset is
// given). ok is false for unparseable text (the worker then uses now).
func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

package threescaletest

import (
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/threescale-go/threescale/core"
)

// usageValue is one validated usage value: add n, or set the counter to n
// ("#n").
type usageValue struct {
	n   int64
	set bool
}

type usageEntry struct {
	metric string
	usageValue
}

// effUsage is a usage after propagation to ancestors, in first-seen order.
type effUsage struct {
	order []string
	m     map[string]usageValue
}

func (u *effUsage) has(metric string) bool { _, ok := u.m[metric]; return ok }

var usageValueRe = regexp.MustCompile(`\A\s*#?\d+\s*\z`)

// parseUsageValue validates one value (§1.4).
func parseUsageValue(metric string, v pvalue) (usageValue, *apiError) {
	// Like errors.rb's UsageValueInvalid: a value that is not a string
	// (absent, or a nested array/hash) reads as empty.
	s, isStr := v.(string)
	if !isStr || rubyBlank(s) {
		return usageValue{}, newError("usage_value_empty", metric)
	}
	if !usageValueRe.MatchString(s) {
		return usageValue{}, newError("usage_value_invalid", s, metric)
	}
	s = strings.TrimSpace(s)
	set := strings.HasPrefix(s, "#")
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil { // beyond int64: saturate rather than fail
		n = math.MaxInt64
	}
	return usageValue{n: n, set: set}, nil
}

// parseUsage validates a usage hash in hash order: per metric, the value
// (if checkValues) and then the name.
func (st *service) parseUsage(u *phash, checkValues bool) ([]usageEntry, *apiError) {
	var out []usageEntry
	for _, k := range u.keys {
		name := strings.TrimSpace(k)
		var uv usageValue
		if checkValues {
			var err *apiError
			if uv, err = parseUsageValue(name, u.m[k]); err != nil {
				return nil, err
			}
		}
		if _, ok := st.parent[name]; !ok {
			return nil, newError("metric_invalid", name)
		}
		out = append(out, usageEntry{name, uv})
	}
	return out, nil
}

// effective merges duplicate names (last wins) and, unless flat, adds each
// metric's usage to all its ancestors; a set ("#n") is propagated as a set.
func (st *service) effective(entries []usageEntry, flat bool) *effUsage {
	e := &effUsage{m: map[string]usageValue{}}
	var own []string
	for _, u := range entries {
		if !e.has(u.metric) {
			e.order = append(e.order, u.metric)
			own = append(own, u.metric)
		}
		e.m[u.metric] = u.usageValue
	}
	if flat {
		return e
	}
	for _, name := range own {
		v := e.m[name]
		for _, a := range st.ancestors(name) {
			cur, ok := e.m[a]
			if !ok {
				e.order = append(e.order, a)
			}
			if v.set {
				e.m[a] = v
			} else {
				e.m[a] = usageValue{n: satAdd(cur.n, v.n), set: cur.set}
			}
		}
	}
	return e
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// record applies usage to the application's counters of every period at t.
// Call with s.mu held.
func (s *Server) record(svcID, appID string, u *effUsage, t time.Time) {
	for _, m := range u.order {
		v := u.m[m]
		if !v.set && v.n == 0 {
			continue
		}
		for _, p := range allPeriods {
			k := ckey(svcID, appID, m, p, t)
			if v.set {
				s.counters[k] = v.n
			} else {
				s.counters[k] = satAdd(s.counters[k], v.n)
			}
		}
	}
}

// usageReport is one <usage_report>.
type usageReport struct {
	Limit
	stored, current int64
	start, end      time.Time
}

// reports returns the plan's usage reports: metrics in declaration order,
// longest period first. With only != nil, just the reports of those
// metrics (no_body loads only the limits of the metrics in the usage).
func (s *Server) reports(st *service, app *Application, now time.Time, only *effUsage) []usageReport {
	var out []usageReport
	for _, m := range st.Metrics {
		if only != nil && !only.has(m.Name) {
			continue
		}
		for _, p := range allPeriods {
			for _, l := range app.Plan.Limits {
				if l.Metric == m.Name && l.Period == p {
					v := s.counters[ckey(st.ID, app.ID, m.Name, p, now)]
					out = append(out, usageReport{Limit: l, stored: v, current: v,
						start: periodStart(p, now), end: periodEnd(p, now)})
				}
			}
		}
	}
	return out
}

// denial is a 409 reason.
type denial struct{ code, text string }

// auth handles the four authorization endpoints. Call with s.mu held.
func (s *Server) auth(r *http.Request, body []byte, endpoint string) response {
	oauth := strings.HasPrefix(endpoint, "oauth_")
	authrep := strings.HasSuffix(endpoint, "authrep")
	opts := parseOptions(r.Header)
	params, err := requestParams(r, body)
	if err != nil {
		return (&apiError{code: "bad_request", status: http.StatusBadRequest, msg: err.Error(), keepBody: true}).response(true)
	}
	noBody := opts.noBody || truthy(params, "no_body")
	fail := func(e *apiError) response { return e.response(noBody) }
	if !validUTF8(params) {
		return fail(newError("not_valid_data"))
	}
	pk, hasPK := normStr(params, "provider_key")
	var st *service
	if !hasPK {
		var e *apiError
		if st, e = s.tokenService(params); e != nil {
			return fail(e)
		}
	}
	if _, ok := params.get("user_id"); ok {
		return fail(newError("end_users_no_longer_supported"))
	}
	usageParam, _ := params.get("usage")
	usageHash, isHash := usageParam.(*phash)
	if usageParam != nil && !isHash {
		return response{status: http.StatusForbidden, contentType: contentTypeXML, csp: true}
	}
	if hasPK {
		sid, hasSID := normStr(params, "service_id")
		var e *apiError
		if st, e = s.resolveService(pk, sid, hasSID); e != nil {
			return fail(e)
		}
	}
	appID, hasAppID := normStr(params, "app_id")
	userKey, hasUserKey := normStr(params, "user_key")
	if oauth && !hasAppID {
		return fail(newError("application_not_found"))
	}
	if hasAppID && hasUserKey {
		return fail(newError("authentication_error"))
	}
	var app *Application
	if !oauth && st.BackendVersion == BackendVersionUserKey {
		if !hasUserKey {
			return fail(newError("user_key_invalid"))
		}
		if app = st.apps[st.userKeys[userKey]]; app == nil {
			return fail(newError("user_key_invalid", userKey))
		}
	} else {
		if !hasAppID {
			return fail(newError("application_not_found"))
		}
		if app = st.apps[appID]; app == nil {
			return fail(newError("application_not_found", appID))
		}
	}
	hasUsage := usageHash.len() > 0
	if noBody && hasUsage {
		if _, e := st.parseUsage(usageHash, false); e != nil {
			return fail(e)
		}
	}

	// Redirect URL (oauth_* only): redirect_url wins over redirect_uri.
	redirectName, redirect := "redirect_url", ""
	if v, ok := params.str("redirect_url"); ok {
		redirect = v
	} else if v, ok := params.str("redirect_uri"); ok {
		redirectName, redirect = "redirect_uri", v
	}

	d := s.checkApp(st, app, params, oauth, redirectName, redirect)
	now := s.nowUTC()
	var eff *effUsage
	var limitsExceeded bool
	if d == nil {
		var entries []usageEntry
		if hasUsage {
			var e *apiError
			if entries, e = st.parseUsage(usageHash, true); e != nil {
				return fail(e)
			}
			eff = st.effective(entries, opts.flatUsage)
		}
	}
	var only *effUsage
	if noBody {
		only = eff
		if only == nil {
			only = &effUsage{}
		}
	}
	reps := s.reports(st, app, now, only)
	if d == nil {
		for _, rep := range reps {
			if exceeds(rep, eff) {
				d, limitsExceeded = &denial{string(core.ReasonLimitsExceeded), "usage limits are exceeded"}, true
				break
			}
		}
	}
	authorized := d == nil
	if authorized && authrep && eff != nil {
		for i := range reps {
			if v, ok := eff.m[reps[i].Metric]; ok {
				if v.set {
					reps[i].current = v.n
				} else {
					reps[i].current = satAdd(reps[i].stored, v.n)
				}
			}
		}
		s.record(st.ID, app.ID, eff, now)
	}

	resp := okResponse(http.StatusOK, nil)
	if !authorized {
		resp.status = http.StatusConflict
		if opts.rejectionReason {
			resp.headers = append(resp.headers, [2]string{"3scale-rejection-reason", d.code})
		}
	}
	if opts.limitHeaders && (authorized || limitsExceeded) {
		resp.headers = append(resp.headers, limitHeaders(reps, eff, now)...)
	}
	if !noBody {
		resp.body = statusXML(st, app, d, oauth, redirectName, reps, opts)
	}
	return resp
}

// exceeds is the limit check of §7 for one report.
func exceeds(rep usageReport, eff *effUsage) bool {
	if eff == nil {
		return rep.stored > rep.Max
	}
	v, ok := eff.m[rep.Metric]
	switch {
	case !ok:
		return false
	case v.set:
		return v.n > rep.Max
	}
	return satAdd(rep.stored, v.n) > rep.Max
}

// checkApp runs the denial validators before the limits, in apisonator's
// order (§2.5).
func (s *Server) checkApp(st *service, app *Application, p *phash, oauth bool, redirectName, redirect string) *denial {
	oauthSvc := st.BackendVersion == BackendVersionOAuth
	if oauth && !oauthSvc {
		return &denial{string(core.ReasonOAuthNotEnabled), "oauth is not enabled"}
	}
	key, hasKey := p.str("app_key")
	key = strings.TrimSpace(key)
	switch {
	case oauthSvc:
		if hasKey && (key == "" || !slices.Contains(app.Keys, key)) {
			return keyDenial(key)
		}
	case st.BackendVersion != BackendVersionUserKey && len(app.Keys) > 0:
		if !hasKey || key == "" || !slices.Contains(app.Keys, key) {
			return keyDenial(key)
		}
	}
	if oauth && redirect != "" && redirect != app.RedirectURL {
		return &denial{redirectName + "_invalid", redirectName + ` "` + redirect + `" is invalid`}
	}
	if st.ReferrerFiltersRequired && len(app.ReferrerFilters) > 0 {
		ref, _ := p.str("referrer")
		if ref == "" {
			return &denial{string(core.ReasonReferrerNotAllowed), "referrer is missing"}
		}
		if ref != "*" && !matchesAny(app.ReferrerFilters, ref) {
			return &denial{string(core.ReasonReferrerNotAllowed), `referrer "` + ref + `" is not allowed`}
		}
	}
	if app.Suspended {
		return &denial{string(core.ReasonApplicationNotActive), "application is not active"}
	}
	if st.Suspended {
		return &denial{string(core.ReasonServiceNotActive), "service is not active"}
	}
	return nil
}

func keyDenial(key string) *denial {
	if key == "" {
		return &denial{string(core.ReasonApplicationKeyInvalid), "application key is missing"}
	}
	return &denial{string(core.ReasonApplicationKeyInvalid), `application key "` + key + `" is invalid`}
}

// matchesAny reports whether ref matches one of the referrer filters, "*"
// matching any sequence and the whole referrer having to match.
func matchesAny(filters []string, ref string) bool {
	return slices.ContainsFunc(filters, func(f string) bool { return wildcardMatch(f, ref) })
}

func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// limitHeaders computes the 3scale-limit-* headers (§5).
func limitHeaders(reps []usageReport, eff *effUsage, now time.Time) [][2]string {
	best, bestRem := -1, int64(0)
	for i, rep := range reps {
		var u int64
		if eff != nil {
			v, ok := eff.m[rep.Metric]
			if !ok {
				continue
			}
			u = v.n
		}
		room := max(rep.Max-rep.current, 0)
		var rem int64
		switch {
		case room == 0:
			rem = 0
		case u == 0:
			continue // unconstrained
		default:
			rem = room / u
		}
		if best < 0 || rem < bestRem || (rem == bestRem && rep.Period > reps[best].Period) {
			best, bestRem = i, rem
		}
	}
	if best < 0 {
		return [][2]string{{"3scale-limit-remaining", "-1"}, {"3scale-limit-reset", "-1"}}
	}
	rep := reps[best]
	reset := int64(-1)
	if rep.Period != core.PeriodEternity {
		d := periodEnd(rep.Period, now).Sub(now)
		reset = int64((d + time.Second - 1) / time.Second)
	}
	return [][2]string{
		{"3scale-limit-remaining", strconv.FormatInt(bestRem, 10)},
		{"3scale-limit-reset", strconv.FormatInt(reset, 10)},
		{"3scale-limit-max-value", strconv.FormatInt(rep.Max, 10)},
	}
}

const timeFormat = "2006-01-02 15:04:05 -0700"

// statusXML renders a <status> document, single-line like apisonator.
func statusXML(st *service, app *Application, d *denial, oauth bool, redirectName string, reps []usageReport, opts options) []byte {
	var b strings.Builder
	b.WriteString(xmlDecl + "<status>")
	if d == nil {
		b.WriteString("<authorized>true</authorized>")
	} else {
		b.WriteString("<authorized>false</authorized><reason>" + d.text + "</reason>")
	}
	if oauth {
		key := ""
		if len(app.Keys) > 0 {
			key = app.Keys[0]
		}
		b.WriteString("<application><id>" + app.ID + "</id><key>" + key + "</key><" + redirectName + ">" +
			xmlText.Replace(app.RedirectURL) + "</" + redirectName + "></application>")
	}
	b.WriteString("<plan>" + xmlText.Replace(app.Plan.Name) + "</plan>")
	if len(reps) > 0 {
		b.WriteString("<usage_reports>")
		for _, rep := range reps {
			b.WriteString(`<usage_report metric="` + rep.Metric + `" period="` + rep.Period.String() + `"`)
			if rep.stored > rep.Max {
				b.WriteString(` exceeded="true"`)
			}
			b.WriteString(">")
			if rep.Period != core.PeriodEternity {
				b.WriteString("<period_start>" + rep.start.Format(timeFormat) + "</period_start><period_end>" +
					rep.end.Format(timeFormat) + "</period_end>")
			}
			b.WriteString("<max_value>" + strconv.FormatInt(rep.Max, 10) + "</max_value><current_value>" +
				strconv.FormatInt(rep.current, 10) + "</current_value></usage_report>")
		}
		b.WriteString("</usage_reports>")
	}
	if opts.listAppKeys {
		b.WriteString(`<app_keys app="` + app.ID + `" svc="` + st.ID + `">`)
		for i, k := range app.Keys {
			if i == 256 {
				break
			}
			b.WriteString(`<key id="` + k + `"/>`)
		}
		b.WriteString("</app_keys>")
	}
	if opts.hierarchy {
		b.WriteString("<hierarchy>")
		for _, rep := range reps {
			b.WriteString(`<metric name="` + rep.Metric + `" children="` + strings.Join(st.children[rep.Metric], " ") + `"/>`)
		}
		b.WriteString("</hierarchy>")
	}
	b.WriteString("</status>")
	return []byte(b.String())
}

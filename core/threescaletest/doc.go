// Package threescaletest provides an in-process simulator of the 3scale
// Service Management API (the "backend", apisonator), for tests and
// examples that must run without a 3scale account.
//
// [NewServer] starts it on 127.0.0.1 with a random port, like
// net/http/httptest; its URL field is the base URL to give to a client.
// Seed it with [Server.AddService] and [Server.AddApplication] (or
// [WithSeed] and [DemoSeed]), then call it exactly as the real backend:
//
//   - GET /transactions/authorize.xml, authrep.xml, oauth_authorize.xml and
//     oauth_authrep.xml, with the real parameter normalisation, validation
//     order, <error> documents, 409 denials, usage reports, limit checks
//     (parent metrics, flat_usage, "#N" set usage, max 0) and the
//     3scale-options extensions (rejection_reason_header, limit_headers,
//     no_body, hierarchy, flat_usage, list_app_keys);
//   - POST /transactions.xml (report): 202 after the synchronous checks;
//     the batch is then applied at once (not asynchronously as in the real
//     backend), or rejected as a whole and recorded as an
//     [IntegrationError];
//   - GET /status, GET /check.txt, HEAD /available and CORS preflights.
//
// Responses match the bytes of the real backend (apisonator 3.4.3): single
// line XML bodies, Content-Type application/vnd.3scale-v2.0+xml, lowercase
// header names. The package's tests replay captures of the real backend
// against it.
//
// Periods are calendar-aligned in UTC (weeks start on Monday) and computed
// from an injectable clock ([WithClock], [Server.SetClock]); counters can
// be read and written with [Server.Counter] and [Server.SetCounter].
// Every request is recorded ([Server.Requests]), and [Server.InjectFault]
// makes the next requests slow, failing (5xx, HTML error pages, truncated
// bodies, dropped connections) or hanging.
//
// Differences from the real backend: usage is recorded synchronously (no
// eventual consistency), report timestamps accept a practical subset of
// the formats of Ruby's Date._parse, usage values beyond int64 saturate,
// and the list of keys and metrics is ordered as declared (the real backend
// uses Redis set order).
package threescaletest

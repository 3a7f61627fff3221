// Package core is a client for the 3scale Service Management API (the
// "backend", apisonator): authorize, authrep, report and their OAuth
// variants, with every extension the backend offers.
//
// Create one [Client] and share it; it is safe for concurrent use:
//
//	c, err := core.NewClient(core.WithServiceToken("2555417777820", os.Getenv("THREESCALE_SERVICE_TOKEN")))
//	res, err := c.AuthRep(ctx, core.AuthRequest{
//		Credentials: core.UserKey(key),
//		Usage:       core.Usage{"hits": 1},
//	})
//	switch {
//	case err != nil: // the backend could not answer, or refused the request
//	case !res.Authorized: // a denial: res.Reason says why (limits_exceeded, ...)
//	}
//
// # Credentials
//
// Service credentials are a service token with its service id (preferred)
// or a provider key (legacy), set on the client and overridable per call
// ([AuthRequest.Service]). Application credentials are a [Credentials]
// value built with [AppID], [UserKey] or [OAuthApp]; the type cannot hold
// combinations the backend rejects (app_id with user_key, user_id).
//
// # Results and errors
//
// A call that reaches the backend and gets a status document (HTTP 200 or
// 409) returns an [AuthResult]; a denial is a result with Authorized false
// and a machine [ReasonCode], never an error. Everything else is an [*Error]
// whose Is method matches one sentinel per class ([ErrServiceCredentials],
// [ErrApplicationNotFound], [ErrUserKeyInvalid], [ErrMetricInvalid],
// [ErrUsageValueInvalid], [ErrBadRequest], [ErrBackendUnavailable],
// [ErrTimeout], [ErrInvalidInput], ...). Error texts never contain the
// service token, provider key, app key or user key.
//
// # Extensions
//
// [Extensions] are sent in the 3scale-options header. By default the client
// asks for rejection_reason_header and limit_headers, so every denial has a
// machine code and every answer its [RateLimit] state; hierarchy,
// list_app_keys, flat_usage and no_body are options, per client or per call.
//
// # Defaults
//
// Backend https://su1.3scale.net; a fresh http.Client (http.DefaultClient
// is never used or modified) with a 3 s connect timeout; 10 s per call
// ([WithTimeout]); usage hits=1 when a request has none
// ([WithDefaultUsage]); response bodies capped at 1 MiB and always drained
// so connections are reused.
//
// # Parsing
//
// Responses are parsed by a hand-written, allocation-light reader that
// tolerates what the backend really sends (the <reason> text is not
// escaped, so documents are not always well-formed XML) and classifies
// anything that is not a 3scale document (HTML from a proxy, empty or
// truncated bodies) as [ErrBackendUnavailable].
//
// # Testing
//
// Package [github.com/threescale-go/threescale/core/threescaletest] runs an
// in-process backend simulator on 127.0.0.1 for tests and demos.
package core

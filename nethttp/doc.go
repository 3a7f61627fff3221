// Package threescale puts 3scale API management in front of any Go HTTP
// API: every request is identified (credentials), priced (usage, from
// mapping rules or per route), and authorized and reported by 3scale
// before your handler runs; your handler then reads the decision from the
// request context.
//
// The package lives in the nethttp directory but is named threescale, so
// the common case needs one import and reads naturally:
//
//	import threescale "github.com/threescale-go/threescale/nethttp"
//
//	mw := threescale.Middleware(
//		threescale.WithServiceToken(serviceID, serviceToken),
//	)
//	http.ListenAndServe(addr, mw(mux))
//
// It holds the framework-neutral engine that the chimw, ginmw and echomw
// adapters reuse: the engine works on http.ResponseWriter and
// *http.Request, which every one of those frameworks exposes, so each
// adapter only translates (a screen of code) and takes this package's
// [Option] type; there are no per-framework options.
//
// # The engine
//
// [New] builds an [Engine] once, from the 3scale service credentials (or
// a ready core.Client, [WithClient]), a credentials extractor
// ([WithCredentials], default: the user_key query parameter) and a usage
// mapper ([WithMapper], [WithUsage], [WithProxyConfig]; default hits=1).
// It is safe for concurrent use; [Engine.Close] stops whatever the
// decision strategy runs in the background and flushes pending reports.
// [Middleware] is the one-line form for set-up code: it panics on invalid
// options, like regexp.MustCompile, and never while serving.
//
// Per request, in order: exemptions ([WithExempt], or a mapper's
// metrics.Match.Exempt) pass through; credentials are extracted; usage
// is mapped; missing credentials and unmapped requests are rejected
// without calling 3scale; then the [Decider] decides; allowed requests go
// on with a [Decision] in their context ([FromContext]).
//
// # Strategies
//
// How a decision is reached is pluggable ([Decider], [Strategy],
// [WithStrategy], [WithDecider]). [AuthRep], the default, makes one
// synchronous authrep call per request (oauth_authrep for OAuth
// credentials); [AuthorizeOnly] only authorizes. Cached strategies with
// batched reporting and failure policies plug in the same way, without
// changes to the engine or the adapters.
//
// # Responses
//
// Rejections go through one [ErrorHandler] ([WithErrorHandler], default
// [DefaultErrorHandler]) shared by every adapter, with a [*RejectError]
// matching one sentinel; each status, content type and body can be
// changed with [WithResponse]:
//
//	ErrMissingCredentials  401 Authentication parameters missing
//	ErrDenied              403 the 3scale reason (e.g. "application is not active")
//	                           or message (e.g. `application with id="x" was not found`)
//	ErrLimitsExceeded      409 the 3scale reason, plus Retry-After
//	                           (429 with WithTooManyRequests, as APIcast)
//	ErrNoMatch             404 No Mapping Rule matched
//	ErrBackendUnavailable  503 Authorization service unavailable (WithFailOpen lets requests through)
//	ErrMisconfigured       500 Internal Server Error (service token or id refused, unknown
//	                           metric...; logged at Error with the 3scale code)
//	ErrCanceled            499, no body (the client went away)
//
// Keys echoed by 3scale in reasons are replaced by "[redacted]". When
// 3scale reports limits, allowed and rejected responses carry
// RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset
// ([WithRateLimitHeaders] turns them off).
//
// # Per-route use
//
// [Engine.With] returns a view of the engine with per-route options (its
// own usage, mapper, exemption or responses) sharing the client, strategy
// and lifecycle:
//
//	reads := e.MustWith(threescale.WithUsage(core.Usage{"product_reads": 1}))
//	mux.Handle("GET /products/{id}", reads.Handler(productHandler))
//
// # Security
//
// Service tokens, provider keys, app keys and user keys never appear in
// logs, response bodies or error strings. [Decision.Identity] names
// user_key callers by application id when 3scale gives it (the
// list_app_keys extension, core.Extensions{ListAppKeys: true} through
// [WithClientOptions]), else as [RedactedUserKey].
package threescale

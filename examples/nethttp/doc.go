// Command nethttp is the main example: a small net/http API protected by
// 3scale with threescale.Middleware (package
// github.com/threescale-go/threescale/nethttp).
//
//	go run ./examples/nethttp
//
// It listens on ADDR (default 127.0.0.1:8080). GET /healthz is
// unprotected. GET /hello reports hits=1, GET /products/{id}
// product_reads=1 and POST /products product_writes=2; allowed requests
// answer {"app_id": ..., "plan": ..., "usage": {...}} from the decision in
// the request context. Credentials: user_key (query user_key or header
// User-Key) or app_id/app_key (query app_id/app_key or headers
// App-Id/App-Key).
//
// Without THREESCALE_BACKEND_URL it starts an embedded 3scale simulator
// and prints demo credentials and curl commands. With it, it uses
// THREESCALE_SERVICE_ID and THREESCALE_SERVICE_TOKEN (or
// THREESCALE_PROVIDER_KEY). THREESCALE_PROXY_CONFIG=path.json takes the
// credentials location and mapping rules from a 3scale proxy
// configuration and protects every path but /healthz. THREESCALE_MODE
// selects the strategy (authrep, the default). SIGINT or SIGTERM stops it
// gracefully.
//
// The chi, gin and echo examples follow the same contract.
package main

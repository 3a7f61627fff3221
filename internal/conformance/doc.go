// Package conformance is the adapter conformance suite: one function, Run,
// that every framework adapter (nethttp, chimw, ginmw, echomw) runs from its
// tests, so that all four behave the same: allow, each rejection,
// rate-limit headers, context propagation, per-route usage, exempt routes,
// backend outages and cancelled requests.
//
// It drives a real Engine against the core/threescaletest simulator over
// loopback; only the adapter is swapped.
package conformance

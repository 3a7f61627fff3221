// Package demotest is the contract test every example runs: it starts the
// example in-process (its run function) on 127.0.0.1:0, against the
// embedded simulator, an external simulator given by
// THREESCALE_BACKEND_URL, and a proxy configuration, and checks the
// routes, credentials, responses and graceful shutdown the README
// promises.
package demotest

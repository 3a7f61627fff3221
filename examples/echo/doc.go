// Command echo is the echo example: a small API protected by 3scale.
//
//	go run ./examples/echo
//
// Without THREESCALE_BACKEND_URL it starts an embedded 3scale simulator
// and prints demo credentials and curl commands. See the README for the
// environment variables.
package main

// Package demo is the code the four examples (examples/nethttp, chi, gin,
// echo) share: reading the environment, starting the embedded 3scale
// simulator with the demo service, building the engine, printing the demo
// credentials and curl commands, the JSON handler, and serving with a
// graceful shutdown. Each example's main.go only mounts routes on its
// framework.
package demo

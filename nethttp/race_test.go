//go:build race

package threescale_test

const raceEnabled = true

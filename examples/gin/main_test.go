package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/threescale-go/threescale/internal/demo/demotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestContract starts the example in-process against the simulator and
// checks the contract shared by the four examples.
func TestContract(t *testing.T) { demotest.Run(t, run) }

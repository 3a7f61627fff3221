package core

import (
	"fmt"
	"strings"
)

// Usage maps metric system names to non-negative integer deltas, e.g.
// Usage{"hits": 1, "search": 2}. On authorize it is the predicted usage; on
// authrep and report it is what gets recorded.
type Usage map[string]int64

// Hits returns Usage{"hits": n}, the conventional default.
func Hits(n int64) Usage { return Usage{"hits": n} }

// Validate checks every entry before anything is sent: metric names must be
// non-empty, free of surrounding white space, and must not contain '[' or
// ']' (they are Rack hash keys on the wire); values must be >= 0.
func (u Usage) Validate() error {
	for name, v := range u {
		if err := validateMetricName(name); err != nil {
			return err
		}
		if v < 0 {
			return fmt.Errorf("%w: usage value %d for metric %q is negative", ErrInvalidInput, v, name)
		}
	}
	return nil
}

func validateMetricName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty metric name", ErrInvalidInput)
	case strings.ContainsAny(name, "[]"):
		return fmt.Errorf("%w: metric name %q contains '[' or ']'", ErrInvalidInput, name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: metric name %q has surrounding white space", ErrInvalidInput, name)
	}
	return nil
}

// Clone returns a copy of u (nil for nil).
func (u Usage) Clone() Usage {
	if u == nil {
		return nil
	}
	c := make(Usage, len(u))
	for k, v := range u {
		c[k] = v
	}
	return c
}

// Add adds other's deltas to u (allocating u when nil) and returns it.
func (u Usage) Add(other Usage) Usage {
	if u == nil && len(other) > 0 {
		u = make(Usage, len(other))
	}
	for k, v := range other {
		u[k] += v
	}
	return u
}

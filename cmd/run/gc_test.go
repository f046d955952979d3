package run

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestPauseGC checks that pauseGC turns the collector off under a memory limit, that its
// function restores both settings once, and that GOGC or GOMEMLIMIT in the environment make it
// a no-op.
func TestPauseGC(t *testing.T) {
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(math.MaxInt64)
	defer func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}()
	tests := []struct {
		name, gogc, gomemlimit string
		wantPaused             bool
	}{
		{name: "default", wantPaused: true},
		{name: "GOGC set", gogc: "100"},
		{name: "GOMEMLIMIT set", gomemlimit: "1GiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.gomemlimit)
			on := pauseGC()
			wantPercent, wantLimit := 100, int64(math.MaxInt64)
			if tc.wantPaused {
				wantPercent, wantLimit = -1, startupMemoryLimit
			}
			if got := debug.SetGCPercent(-2); got != wantPercent { // -2: a query (any negative value is "off")
				t.Errorf("while paused: GC percent %d, want %d", got, wantPercent)
			}
			debug.SetGCPercent(wantPercent)
			if got := debug.SetMemoryLimit(-1); got != wantLimit {
				t.Errorf("while paused: memory limit %d, want %d", got, wantLimit)
			}
			on()
			debug.SetGCPercent(50) // a later change of the settings is not undone by a second call
			on()
			if got := debug.SetGCPercent(100); got != 50 {
				t.Errorf("after on twice: GC percent %d, want 50 (the second call must do nothing)", got)
			}
			if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
				t.Errorf("after on: memory limit %d, want none", got)
			}
		})
	}
}

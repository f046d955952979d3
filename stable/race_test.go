//go:build race

package stable

// raceEnabled is set when the race detector is on: the heaviest tests then do less (the
// detector slows them tenfold) while still crossing the same boundaries.
const raceEnabled = true

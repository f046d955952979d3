// Package peer runs a WebAssembly module under wazero's own built-in WASI implementation
// (github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1) over host directories.
//
// It is the reference point wasmrun is measured against: the standard-library comparison test
// counts which Go tests pass under each, and the benchmark suite times the same workloads under
// both. It is deliberately thin: everything here is wazero's, configured the way wazero's own
// integration tests configure it (real clocks, real sleep, crypto/rand), so differences in results
// come from the WASI implementations and the filesystems beneath them, not from the harness.
//
// Unlike wasmrun, which gives the guest a single preopen "/" over its own mount table, wazero
// gives one preopen per mount and the guest's libc picks the longest matching prefix.
package peer

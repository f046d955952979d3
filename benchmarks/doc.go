// Package benchmarks holds wasmrun's benchmark suite.
//
// The Go benchmarks in this package measure the filesystem below the guest, so that a change can
// be checked in seconds with benchstat:
//
//	go test -run '^$' -bench . -count 10 . > old.txt  # in benchmarks/
//	(change something)
//	go test -run '^$' -bench . -count 10 . > new.txt
//	benchstat old.txt new.txt
//
// Every benchmark runs once over a heap filesystem (what /tmp is) and once over a stable store
// (what "/" is), through the vfs.Namespace the WASI layer uses: sequential writes and reads in 4
// KiB and 1 MiB chunks, random 4 KiB reads and writes, creating, statting and deleting small
// files, listing a directory, and the write-temp-then-rename pattern. BenchmarkWASI goes one layer
// up: fd_write, fd_read, fd_pwrite and fd_pread called by a wasm module through wasmrun's
// wasi_snapshot_preview1 host module, and reports 0 allocs/op; TestWASINoAllocs fails if one
// allocates.
//
// The end-to-end suite (python.wasm and a Go guest under wasmrun, wazero's WASI, node's WASI and
// native python3; tables, charts and goals) is the command benchmarks/cmd/suite: see README.md.
package benchmarks

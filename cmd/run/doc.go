// Package run is the wasmrun command: its flags, the run of a module and the `wasmrun fs`
// subcommands. The main package is cmd/run/wasmrun (so that `go install ./cmd/...` installs one
// binary, named wasmrun); its package documentation describes the command.
package run

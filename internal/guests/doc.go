// Package guests builds the test guest programs under testdata/guests from source, for tests.
//
// A guest is named by its kind and its name:
//
//	"go/<name>"  testdata/guests/go/<name>/*.go, built with GOOS=wasip1 GOARCH=wasm go build
//	"c/<name>"   testdata/guests/c/<name>.c, built with clang --target=wasm32-wasi -O2 and wasi-libc
//	"wat/<name>" testdata/guests/wat/<name>.wat, built with wat2wasm
//
// Build compiles a guest once per source content and toolchain version: results are cached under
// the user cache directory (or $WASMRUN_GUEST_CACHE), keyed by a hash of the sources, the build
// command and the toolchain's version, so a binary can never be stale and a second test run pays
// nothing. Nothing built is ever committed.
//
// StdlibTest does the same for a Go standard-library package's test binary (go test -c), which
// internal tests run under WASI to compare wasmrun with wazero's own WASI implementation.
//
// A missing toolchain fails the test with the command that installs it; it never skips.
//
// The C toolchain is clang with the wasm32-wasi target. The WASI sysroot is found automatically:
// first clang's default (Debian's wasi-libc installs into clang's search path), then
// $WASI_SYSROOT, /usr/share/wasi-sysroot, /usr/lib/wasi-sysroot and /opt/wasi-sdk/share/wasi-sysroot.
// $WASI_CC overrides the clang binary.
package guests

package runtime_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	wasmrt "github.com/wasmrun/wasmrun/runtime"
)

// guestDir holds the test guests, testdata/NAME.wat built to NAME.wasm by TestMain.
var guestDir string

// TestMain builds the WAT guests in testdata with wat2wasm (a missing wat2wasm fails the run:
// the tests need real guests), and points the default store and compilation cache at a
// temporary directory, so that no test touches the user's.
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "wasmrun-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	os.Setenv(wasmrt.EnvStore, filepath.Join(tmp, "default.store"))
	os.Setenv(wasmrt.EnvCacheDir, filepath.Join(tmp, "cache"))
	guestDir = filepath.Join(tmp, "guests")
	if err := buildWAT("testdata", guestDir); err != nil {
		fmt.Fprintln(os.Stderr, "runtime tests:", err)
		return 1
	}
	return m.Run()
}

// buildWAT compiles every src/*.wat to dst/*.wasm.
func buildWAT(src, dst string) error {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		return fmt.Errorf("wat2wasm is needed to build the test guests: install wabt (Debian: apt-get install wabt)")
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	wats, err := filepath.Glob(filepath.Join(src, "*.wat"))
	if err != nil || len(wats) == 0 {
		return fmt.Errorf("no WAT guests in %s", src)
	}
	for _, wat := range wats {
		out := filepath.Join(dst, strings.TrimSuffix(filepath.Base(wat), ".wat")+".wasm")
		if b, err := exec.Command("wat2wasm", "--debug-names", wat, "-o", out).CombinedOutput(); err != nil {
			return fmt.Errorf("wat2wasm %s: %v\n%s", wat, err, b)
		}
	}
	return nil
}

// guest returns the bytes of the test guest name.
func guest(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(guestDir, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package run

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGoInstall installs the way a user does (go install ./cmd/... in a clone, and ./... from
// the root) into an empty GOBIN: exactly one binary comes out, named wasmrun; no benchmark or
// development tool is installed with it.
func TestGoInstall(t *testing.T) {
	for _, pattern := range []string{"./cmd/...", "./..."} {
		t.Run(pattern, func(t *testing.T) {
			gobin := t.TempDir()
			cmd := exec.Command("go", "install", pattern)
			cmd.Dir = filepath.Join("..", "..")
			cmd.Env = append(os.Environ(), "GOBIN="+gobin)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go install %s: %v\n%s", pattern, err, out)
			}
			entries, err := os.ReadDir(gobin)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"wasmrun"}) {
				t.Errorf("go install %s installed %q, want only wasmrun", pattern, names)
			}
		})
	}
}

// TestModulesTidy checks that both modules' go.mod and go.sum are what go mod tidy makes of
// them, and that the library's go.mod does not require the benchmark suite's plotting
// libraries.
func TestModulesTidy(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, dir := range []string{root, filepath.Join(root, "benchmarks")} {
		cmd := exec.Command("go", "mod", "tidy", "-diff")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go mod tidy -diff in %s: %v\n%s", dir, err, out)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range []string{"gonum.org/v1/plot", "codeberg.org/go-fonts", "golang.org/x/image"} {
		if strings.Contains(string(gomod), dep) {
			t.Errorf("go.mod requires %s, which only the benchmarks use", dep)
		}
	}
}

package peer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/internal/guests"
	"github.com/wasmrun/wasmrun/internal/peer"
)

// TestRun checks the harness itself: arguments, environment, stdio, exit codes and mounts reach
// the guest under wazero's WASI.
func TestRun(t *testing.T) {
	ctx := context.Background()
	cache, err := guests.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	p, err := peer.New(ctx, peer.Options{CacheDir: filepath.Join(cache, "wazero")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	compile := func(t *testing.T, name string) *peer.Module {
		wasm, err := os.ReadFile(guests.Build(t, name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Compile(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	tests := []struct {
		name      string
		guest     string
		args      []string
		env       []string
		stdin     string
		wantCode  int
		wantOut   []string // lines stdout must contain
		wantErr   string   // text stderr must contain
		hostFiles bool     // the guest works in a host directory mounted at /data
	}{
		{
			name:     "stdio",
			guest:    "c/stdio",
			args:     []string{"stdio"},
			stdin:    "hello\nWorld\n",
			wantOut:  []string{"HELLO", "WORLD"},
			wantErr:  "stdio: 12 bytes, 2 lines",
			wantCode: 0,
		},
		{
			name:     "args env exit",
			guest:    "c/sys",
			args:     []string{"sys", "/", "two words", "ünï", "exit", "7"},
			env:      []string{"A=1", "GREETING=hello world"},
			wantCode: 7,
			wantOut: []string{
				"argc=6", "argv[0]=sys", "argv[2]=two words", "argv[3]=ünï",
				"environ[0]=A=1", "environ[1]=GREETING=hello world", "environc=2",
				"PASS poll_oneoff clock: nanosleep 20ms", "PASS random_get returns fresh bytes",
			},
		},
		{
			name:      "files workload on a host directory",
			guest:     "go/files",
			args:      []string{"files", "/data/work", "4", "5"},
			hostFiles: true,
			wantOut:   []string{"PASS walk and verify", "RESULT: PASS 7 checks"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := compile(t, tt.guest)
			var stdout, stderr bytes.Buffer
			cfg := peer.Config{
				Args: tt.args, Env: tt.env,
				Stdin: strings.NewReader(tt.stdin), Stdout: &stdout, Stderr: &stderr,
			}
			host := t.TempDir()
			if tt.hostFiles {
				cfg.Mounts = []peer.Mount{{HostDir: host, GuestPath: "/data"}}
			}
			code, err := p.Run(ctx, m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, &stdout, &stderr)
			}
			lines := strings.Split(stdout.String(), "\n")
			for _, want := range tt.wantOut {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("stdout lacks the line %q:\n%s", want, &stdout)
				}
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, &stderr)
			}
			if tt.hostFiles {
				// The workload ran on the host directory and cleaned up after itself.
				ents, err := os.ReadDir(filepath.Join(host, "work"))
				if err != nil || len(ents) != 0 {
					t.Errorf("host work directory: %v entries, err %v; want it empty", len(ents), err)
				}
			}
		})
	}
}

// TestRunOnce checks the convenience wrapper and that a trap is an error, not an exit code.
func TestRunOnce(t *testing.T) {
	wasm, err := os.ReadFile(guests.Build(t, "c/stdio"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, err := peer.Run(context.Background(), wasm, peer.Config{Args: []string{"stdio"}, Stdin: strings.NewReader("x"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "X" {
		t.Errorf("Run = %d, %v, stdout %q; want 0, nil, \"X\"", code, err, out.String())
	}
	trap, err := os.ReadFile(guests.Build(t, "wat/trap"))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := peer.Run(context.Background(), trap, peer.Config{Stdout: &out}); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Run of a trapping module: err %v, want an unreachable trap", err)
	}
	if out.String() != "before trap\n" {
		t.Errorf("trap guest wrote %q before trapping, want \"before trap\\n\"", out.String())
	}
	if _, err := peer.Run(context.Background(), []byte("not wasm"), peer.Config{}); err == nil {
		t.Error("Run of a non-module succeeded")
	}
	if _, err := peer.Run(context.Background(), wasm, peer.Config{Env: []string{"NOEQUALS"}}); err == nil {
		t.Error("Run with a malformed environment entry succeeded")
	}
}

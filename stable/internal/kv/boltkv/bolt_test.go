package boltkv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

func openTestStore(t *testing.T) kv.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kv.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenBolt(path, BoltOptions{Buckets: []kv.BucketSpec{{Name: "b"}}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s kv.Store, k, v string) {
	t.Helper()
	if err := s.Update(func(w kv.Writer) error { return w.Put(0, []byte(k), []byte(v)) }); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s kv.Store, k string) string {
	t.Helper()
	var v string
	if err := s.View(func(r kv.Reader) error { v = string(r.Get(0, []byte(k))); return nil }); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestViewSeesUpdates checks that the read transaction Views share never shows a state older
// than the last Update that returned, in each way the two can interleave.
func TestViewSeesUpdates(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s kv.Store)
	}{
		{"after an update", func(t *testing.T, s kv.Store) {
			put(t, s, "k", "1")
			if v := get(t, s, "k"); v != "1" {
				t.Fatalf("got %q, want 1", v)
			}
			put(t, s, "k", "2")
			if v := get(t, s, "k"); v != "2" {
				t.Fatalf("got %q, want 2", v)
			}
		}},
		{"update during a view", func(t *testing.T, s kv.Store) {
			put(t, s, "k", "1")
			// A View using the shared transaction while an Update starts and commits: it
			// still sees the old state, and the next View the new one.
			err := s.View(func(r kv.Reader) error {
				done := make(chan struct{})
				go func() {
					defer close(done)
					put(t, s, "k", "2")
				}()
				<-done
				if v := string(r.Get(0, []byte("k"))); v != "1" {
					t.Errorf("inside the view: got %q, want 1", v)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if v := get(t, s, "k"); v != "2" {
				t.Fatalf("after the update: got %q, want 2", v)
			}
		}},
		{"view during a view", func(t *testing.T, s kv.Store) {
			put(t, s, "k", "1")
			err := s.View(func(r kv.Reader) error {
				if v := get(t, s, "k"); v != "1" {
					t.Errorf("nested view: got %q, want 1", v)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			put(t, s, "k", "3")
			if v := get(t, s, "k"); v != "3" {
				t.Fatalf("got %q, want 3", v)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, openTestStore(t)) })
	}
}

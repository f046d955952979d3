package stable

import (
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/boltkv"
)

// Raw access to a store's buckets, to damage stores on purpose.

func openRaw(path string) (kv.Store, error) {
	return boltkv.OpenBolt(path, boltkv.BoltOptions{Buckets: bucketSpecs, LockTimeout: -1})
}

type rawWriter struct {
	t testing.TB
	w kv.Writer
}

func (r rawWriter) put(b kv.Bucket, k, v []byte) {
	if err := r.w.Put(b, k, v); err != nil {
		r.t.Fatal(err)
	}
}

func (r rawWriter) del(b kv.Bucket, k []byte) {
	if err := r.w.Delete(b, k); err != nil {
		r.t.Fatal(err)
	}
}

func (r rawWriter) get(b kv.Bucket, k []byte) []byte { return r.w.Get(b, k) }

// rawUpdate changes the closed store s in one transaction and closes it.
func rawUpdate(t testing.TB, s kv.Store, fn func(w rawWriter)) {
	t.Helper()
	err := s.Update(func(w kv.Writer) error {
		fn(rawWriter{t, w})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

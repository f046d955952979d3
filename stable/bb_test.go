package stable

import (
	"testing"
)

func bbCheck(t *testing.T, f *FS, where string) {
	f.mu.Lock()
	for f.committing {
		f.cond.Wait()
	}
	err := f.store.Check(func(e error) { t.Errorf("%s: bbolt: %v", where, e) })
	f.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
}

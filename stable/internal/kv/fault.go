package kv

import (
	"io/fs"
	"sync"
)

// Fault is a test seam that makes a Store's writes fail as a full or failing disk would: once
// armed with Fail, the store accepts a budget of bytes of keys and values put, and then every
// Put fails with the error given, wrapped in an *fs.PathError naming the file as the operating
// system's errors are. The transaction is then rolled back, as bbolt rolls back a commit whose
// write fails, and Update returns that error. Deletes never fail (bbolt can delete into pages
// it already has). Set it in Options.Fault. A Fault is safe for concurrent use.
type Fault struct {
	mu     sync.Mutex
	armed  bool
	budget int64
	err    error
}

// Fail arms f: after budget more bytes are put, every Put fails with err (syscall.ENOSPC,
// syscall.EIO, ...) until Heal.
func (f *Fault) Fail(budget int64, err error) {
	f.mu.Lock()
	f.armed, f.budget, f.err = true, budget, err
	f.mu.Unlock()
}

// Heal disarms f: writes succeed again, as after space was freed.
func (f *Fault) Heal() {
	f.mu.Lock()
	f.armed = false
	f.mu.Unlock()
}

// Charge is for engines: it charges n bytes (of a Put of the store at path) to the budget and
// returns the error to fail that Put with, if any.
func (f *Fault) Charge(path string, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	if f.budget < int64(n) {
		f.budget = 0
		return &fs.PathError{Op: "write", Path: path, Err: f.err}
	}
	f.budget -= int64(n)
	return nil
}

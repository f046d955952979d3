package boltkv

import (
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// Regression tests for what the power-cut campaign (cmd/run TestPowerCut*, on internal/powercut)
// found in the log, each replaying the state a cut left.

// TestStaleRecordBehindOldHeader: a checkpoint moved the generation to G and reset the log's
// header to G (unsynced), a commit appended its record of generation G, and the power failed
// before its fdatasync returned, keeping the record and not the header (a torn cut: the disk
// wrote the two in any order). The next open sees a header of G-1 and ignores the log; it must
// also make sure the record can never come back, or a later open that finds the header it wrote
// (G) replays a commit that was never acknowledged on top of newer ones: found as fsck's "1
// records end at offset 2154, the store's end at 32" by POWERCUT_SEED=1796405877279966699.
func TestStaleRecordBehindOldHeader(t *testing.T) {
	path := t.TempDir() + "/s.db"
	s := openTestWAL(t, path, WALOptions{NoSync: true, CheckpointBytes: 1 << 30})
	commit := func(s *WAL, v string) {
		t.Helper()
		if err := s.Update(func(w kv.Writer) error { return write(w, putOps(0, "k", v)) }); err != nil {
			t.Fatal(err)
		}
	}
	commit(s, "acked")
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(s, "never acked")
	store, log := crashCopy(t, s)
	copy(log, logHeader{salt: s.salt, gen: s.gen - 1}.encode()) // the cut dropped the header
	s.Close()

	// Open #2 finds the old header: the record is not replayed, and fsck finds the log fine.
	s2 := reopen(t, store, log, WALOptions{NoSync: true, CheckpointBytes: 1 << 30})
	if got := viewModel(t, s2)[0]["k"]; got != "acked" {
		t.Fatalf("after the cut k = %q, want acked", got)
	}
	if err := s2.Check(func(p error) { t.Errorf("check after the cut: %v", p) }); err != nil {
		t.Fatal(err)
	}
	// It commits straight into bbolt (a background commit, UpdateBackground), and the power fails again.
	if err := s2.UpdateBackground(func(w kv.Writer) error { return write(w, putOps(0, "k", "newer")) }); err != nil {
		t.Fatal(err)
	}
	store2, log2 := crashCopy(t, s2)
	s2.Close()

	// Open #3 must not replay the record open #2 ignored.
	s3 := reopen(t, store2, log2, WALOptions{NoSync: true})
	defer s3.Close()
	if got := viewModel(t, s3)[0]["k"]; got != "newer" {
		t.Fatalf("after the second cut k = %q, want newer (a commit never acknowledged came back)", got)
	}
}

// TestZeroHeaderUnsyncedRecord: a new log (a store's first read-write open after a clean close)
// got its header and then a commit's record, and the power failed before the record's fdatasync
// returned, keeping the record's write and not the header's (the file's first 32 bytes are
// zeros). The next open must not call that damage (found by stable's TestPowerCutSteps,
// "background commits, cut at operation 6 (torn)": "the header is damaged, and 1 valid record
// follow"), must not replay the record, and must make sure it never comes back.
func TestZeroHeaderUnsyncedRecord(t *testing.T) {
	path := t.TempDir() + "/s.db"
	s := openTestWAL(t, path, WALOptions{NoSync: true, CheckpointBytes: 1 << 30})
	if err := s.Update(func(w kv.Writer) error { return write(w, putOps(0, "k", "never acked")) }); err != nil {
		t.Fatal(err)
	}
	store, log := crashCopy(t, s)
	clear(log[:logHeaderSize]) // the cut dropped the header's write
	s.Close()

	s2 := reopen(t, store, log, WALOptions{NoSync: true, CheckpointBytes: 1 << 30})
	if got, ok := viewModel(t, s2)[0]["k"]; ok {
		t.Fatalf("after the cut k = %q, want no k (the commit was never acknowledged)", got)
	}
	if err := s2.Check(func(p error) { t.Errorf("check after the cut: %v", p) }); err != nil {
		t.Fatal(err)
	}
	if err := s2.UpdateBackground(func(w kv.Writer) error { return write(w, putOps(0, "j", "newer")) }); err != nil {
		t.Fatal(err)
	}
	store2, log2 := crashCopy(t, s2)
	s2.Close()
	s3 := reopen(t, store2, log2, WALOptions{NoSync: true})
	defer s3.Close()
	m := viewModel(t, s3)[0]
	if _, ok := m["k"]; ok || m["j"] != "newer" {
		t.Fatalf("after the second cut: %v, want j=newer and no k", m)
	}
}

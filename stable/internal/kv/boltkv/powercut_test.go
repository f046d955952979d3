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

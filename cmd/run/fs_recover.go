package run

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/wasmrun/wasmrun/stable"
)

var cmdRecover = &fsCommand{
	name:     "recover",
	synopsis: "",
	summary:  "open a store whose write-ahead log is damaged, dropping what cannot be read",
	help: `A store keeps its latest commits in a write-ahead log beside it (FILE-wal) until they are
written into the store file. A crash can tear the log's last record: that record was never
reported durable, and every open drops it without a word. Damage is different: a bad record
with valid ones after it, a damaged header, a file that is not a log. Then every open (and fsck)
refuses the store, says where the damage is and how much would be dropped, and leaves the log
as it is, since the records after the damage held commits that were reported durable.

recover accepts that loss: it opens the store for writing, keeps the commits before the damage,
drops the damaged record and everything after it, keeps a copy of the damaged log as
FILE-wal.damaged, and says what was dropped. A store with no damage is left as it is. Run fsck
afterwards. It needs the store to itself: run it while no wasmrun uses it.`,
	access: storeSelf,
	run: func(c *fsContext, _ []string) error {
		if err := c.mustExist(); err != nil {
			return err
		}
		p := c.opts.store
		var dropped error
		f, err := stable.Open(p, stable.Options{
			LockTimeout: c.lockTimeout(),
			AcceptLoss:  func(damage error) bool { dropped = damage; return true },
		})
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if dropped == nil {
			fmt.Fprintf(c.stdout, "%s: nothing to recover: its log is not damaged\n", p)
			return nil
		}
		fmt.Fprintf(c.stdout, "%s: recovered, dropping what could not be read: %v\n", p, dropped)
		return nil
	},
}

// damageHint returns a hint for an error of opening a store: how to open a store whose log is
// damaged, if that is the error ("" otherwise).
func damageHint(err error) string {
	var pe *fs.PathError
	if !errors.Is(err, stable.ErrLoss) || !errors.As(err, &pe) {
		return ""
	}
	return fmt.Sprintf("to open it without what cannot be read, run: wasmrun fs recover --store %s", pe.Path)
}

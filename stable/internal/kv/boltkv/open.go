package boltkv

import (
	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// Open opens the local store at path, which must exist: the bbolt file (see OpenBolt) with
// its write-ahead log in front (see OpenWAL), the engine the stable package keeps its stores
// in. opts.Accept, if set, reads the bbolt file before the log is replayed into it. Errors:
// those of OpenBolt and OpenWAL, and Accept's.
func Open(path string, opts kv.Options) (kv.Store, error) {
	inner, err := OpenBolt(path, BoltOptions{
		Buckets:     opts.Buckets,
		LockTimeout: opts.LockTimeout,
		ReadOnly:    opts.ReadOnly,
		NoSync:      opts.NoSync,
	})
	if err != nil {
		return nil, err
	}
	if opts.Accept != nil {
		if err := inner.View(opts.Accept); err != nil {
			_ = inner.Close()
			return nil, err
		}
	}
	s, err := OpenWAL(inner, WALOptions{
		ReadOnly:        opts.ReadOnly,
		NoSync:          opts.NoSync,
		Fault:           opts.Fault,
		CheckpointBytes: opts.LogBytes,
		AcceptLoss:      opts.AcceptLoss,
	})
	if err != nil {
		_ = inner.Close()
		return nil, err
	}
	return s, nil
}

var _ kv.Opener = Open

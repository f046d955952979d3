// Package boltkv is the local engine behind the kv seam: a bbolt file (OpenBolt), with a
// write-ahead log in front of it (OpenWAL: a commit is one record appended to a log file
// beside the store and one fdatasync, checkpointed into bbolt in the background; see WAL and
// the stable package's RATIONALE.md). Open opens both, as the stable package does.
//
// It is the only package that imports bbolt. It maps bbolt's errors, panics and memory-map
// faults onto the kv package's errors (see kv's package documentation), and it checks the
// page graph of a file it opens before bbolt follows it (verify.go).
package boltkv

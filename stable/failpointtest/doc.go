// Package failpointtest holds the failpoint tests of the stable backend, in their own package
// as they install process-wide hooks (stable/internal/failpoint). At every durability boundary
// of a commit (before the transaction, before the pages, during the pages, before the commit,
// after it) they inject an error, and they kill a child process with SIGKILL, and then check
// that the store holds exactly the last committed state, that every record reported durable is
// intact, that no rename-over left a half file, and that Fsck passes.
//
// The package has no non-test code.
package failpointtest

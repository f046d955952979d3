//go:build !linux

package heap

// prefault does nothing where madvise(MADV_POPULATE_WRITE) does not exist.
func prefault(*page) {}

//go:build !linux

package vfs

import (
	"fmt"
	"runtime"
)

func newHostDir(dir string) (FS, error) {
	return nil, fmt.Errorf("vfs: host directory %s: not supported on %s: %w", dir, runtime.GOOS, ENOTSUP)
}

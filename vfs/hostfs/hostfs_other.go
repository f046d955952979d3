//go:build !linux

package hostfs

import (
	"fmt"
	"runtime"

	"github.com/wasmrun/wasmrun/vfs"
)

func newHostDir(dir string) (vfs.FS, error) {
	return nil, fmt.Errorf("vfs: host directory %s: not supported on %s: %w", dir, runtime.GOOS, vfs.ENOTSUP)
}

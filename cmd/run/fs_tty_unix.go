//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package run

import (
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal (what golang.org/x/term's IsTerminal checks: the
// terminal attributes can be read).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}

//go:build unix

package run

import (
	"os"
	"syscall"
)

// backupSignals ask a running wasmrun for a backup of its store (see backupOnSignal).
var backupSignals = []os.Signal{syscall.SIGUSR1}

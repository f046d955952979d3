//go:build !unix

package run

import "os"

// backupSignals is empty where there is no SIGUSR1.
var backupSignals []os.Signal

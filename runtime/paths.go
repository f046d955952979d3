package runtime

import (
	"errors"
	"os"
	"path/filepath"
)

// Environment variables that change the default paths.
const (
	// EnvStore names the stable store file mounted at "/" when Options.Store is empty.
	EnvStore = "WASMRUN_STORE"
	// EnvCacheDir names the compilation cache directory when Options.CacheDir is empty.
	EnvCacheDir = "WASMRUN_CACHE_DIR"
)

// DefaultStorePath returns the stable store file that New mounts at "/" when neither
// Options.Root nor Options.Store is set:
//
//  1. $WASMRUN_STORE, if set and not empty;
//  2. $XDG_DATA_HOME/wasmrun/default.store, if $XDG_DATA_HOME is an absolute path;
//  3. $HOME/.local/share/wasmrun/default.store.
//
// The store holds the guest's files: user data that must survive reboots, upgrades and cache
// cleaners. That is what the XDG base directory specification calls data ("user-specific data
// files"), not configuration (os.UserConfigDir: small files a user edits) and not cache
// (os.UserCacheDir: anything there may be deleted at any time). Go has no os.UserDataDir, so the
// XDG rule is applied here on every platform, which also keeps the path the same on Linux and
// macOS and easy to find in the documentation.
//
// It returns an error only when the home directory is unknown.
func DefaultStorePath() (string, error) {
	if p := os.Getenv(EnvStore); p != "" {
		return p, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "wasmrun", "default.store"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("cannot choose the default store: " + err.Error() + " (set $" + EnvStore + ")")
	}
	return filepath.Join(home, ".local", "share", "wasmrun", "default.store"), nil
}

// DefaultCacheDir returns the directory where New keeps compiled machine code when
// Options.CacheDir is empty: $WASMRUN_CACHE_DIR if set, else the "wasmrun" directory under
// os.UserCacheDir ($XDG_CACHE_HOME or ~/.cache on Linux). Compiled code is a pure function of the
// module's bytes and the wazero version, so it may be deleted at any time: it is cache in the XDG
// sense. wazero keeps one subdirectory per wazero version and architecture inside it.
//
// It returns an error when no cache directory is known.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(EnvCacheDir); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", errors.New("cannot choose the compilation cache directory: " + err.Error() + " (set $" + EnvCacheDir + ")")
	}
	return filepath.Join(d, "wasmrun"), nil
}

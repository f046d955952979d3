package run

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return "" }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// sizeFlag is a byte count with an optional binary suffix: 4096, 64K, 64M, 1G, 1.5G, 2T;
// K, KB, KiB (any case) all mean 1024.
type sizeFlag int64

func (s *sizeFlag) String() string { return formatSize(int64(*s)) }

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

// parseSize parses a byte count, see sizeFlag.
func parseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	num := strings.TrimRightFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	unit := strings.ToUpper(strings.TrimSpace(s[len(num):]))
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "B"), "I")
	var mult float64
	switch unit {
	case "":
		mult = 1
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("bad size %q: the unit must be K, M, G or T (powers of 1024)", v)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad size %q: want a number of bytes such as 4096, 64M or 1.5G", v)
	}
	n := f * mult
	if n >= 1<<63 {
		return 0, fmt.Errorf("bad size %q: too large", v)
	}
	return int64(n), nil
}

// formatSize prints n in the largest unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// mountSpec is one --dir or --mount: a filesystem of some kind at a guest path.
type mountSpec struct {
	guest string // absolute, clean guest path
	kind  string // "host", "heap" or "stable"
	arg   string // host: the directory; stable: the store file; heap: the size ("" unbounded)
	ro    bool   // mounted read-only (EROFS on writes)
}

// The kinds of --mount, and what their argument is.
var mountKinds = map[string]string{
	"heap":   "optional size, such as heap:256M",
	"stable": "store file, such as stable:data.store",
	"host":   "host directory, such as host:./data",
}

// parseMount parses --mount GUEST=KIND[:ARG][:ro].
func parseMount(v string) (mountSpec, error) {
	guest, spec, ok := strings.Cut(v, "=")
	if !ok {
		return mountSpec{}, fmt.Errorf("--mount %q: want GUEST=KIND[:ARG][:ro], such as /scratch=heap:64M", v)
	}
	g, err := guestPath(guest)
	if err != nil {
		return mountSpec{}, fmt.Errorf("--mount %q: %v", v, err)
	}
	m := mountSpec{guest: g}
	spec, m.ro = strings.CutSuffix(spec, ":ro")
	m.kind, m.arg, _ = strings.Cut(spec, ":")
	help, ok := mountKinds[m.kind]
	if !ok {
		return mountSpec{}, fmt.Errorf("--mount %q: unknown kind %q: want heap, stable or host", v, m.kind)
	}
	switch m.kind {
	case "heap":
		if m.arg != "" {
			if _, err := parseSize(m.arg); err != nil {
				return mountSpec{}, fmt.Errorf("--mount %q: %v", v, err)
			}
		}
	default:
		if m.arg == "" {
			return mountSpec{}, fmt.Errorf("--mount %q: %s needs a %s", v, m.kind, help)
		}
	}
	return m, nil
}

// parseDir parses --dir HOST[:GUEST][:ro]. GUEST must be absolute, which is how the last ':'
// followed by '/' is told from a ':' inside HOST; wasmtime's HOST::GUEST is accepted too.
// Without GUEST, the directory appears at its absolute host path, so that paths the guest prints
// are valid on the host as well.
func parseDir(v string) (mountSpec, error) {
	s, ro := strings.CutSuffix(v, ":ro")
	host, guest := s, ""
	if h, g, ok := strings.Cut(s, "::"); ok {
		host, guest = h, g
	} else if i := strings.LastIndex(s, ":/"); i >= 0 {
		host, guest = s[:i], s[i+1:]
	}
	if host == "" {
		return mountSpec{}, fmt.Errorf("--dir %q: want HOST[:GUEST][:ro], such as ./data:/data", v)
	}
	if guest == "" {
		abs, err := filepath.Abs(host)
		if err != nil {
			return mountSpec{}, fmt.Errorf("--dir %q: %v", v, err)
		}
		guest = filepath.ToSlash(abs)
	}
	g, err := guestPath(guest)
	if err != nil {
		return mountSpec{}, fmt.Errorf("--dir %q: %v", v, err)
	}
	return mountSpec{guest: g, kind: "host", arg: host, ro: ro}, nil
}

// guestPath checks and cleans a guest mount point.
func guestPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("the guest path %q is not absolute", p)
	}
	return path.Clean(p), nil
}

// parseEnv turns --env values into the guest's environment: KEY=VALUE as is, and a bare KEY
// takes the host's value (and is left out if the host has none).
func parseEnv(vs []string) ([]string, error) {
	var env []string
	for _, v := range vs {
		key, _, hasValue := strings.Cut(v, "=")
		if key == "" {
			return nil, errors.New("--env " + strconv.Quote(v) + ": want KEY=VALUE or KEY")
		}
		if hasValue {
			env = append(env, v)
		} else if val, ok := os.LookupEnv(key); ok {
			env = append(env, key+"="+val)
		}
	}
	return env, nil
}

package run

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return "" }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// orderedFlag is a repeatable string flag (--dir, --mount) that also records, in order, which
// flag each value came from, so that values of two flags can be put back in command-line order.
type orderedFlag struct {
	list  *listFlag
	order *[]string
	name  string
}

func (o orderedFlag) String() string { return "" }
func (o orderedFlag) Set(s string) error {
	*o.order = append(*o.order, o.name)
	return o.list.Set(s)
}

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

// durationFlag is a duration flag whose error says which units exist (flag.Duration's says
// "parse error" for a number without a unit).
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }

func (d *durationFlag) Set(v string) error {
	t, err := time.ParseDuration(v)
	if err != nil {
		if _, nerr := strconv.ParseFloat(v, 64); nerr == nil && v != "0" {
			return fmt.Errorf("%q has no unit: add one of ns, us, ms, s, m, h (such as 30s, 1.5m or 2h45m)", v)
		}
		return fmt.Errorf("want a duration such as 500ms, 30s, 1.5m or 2h45m (units: ns, us, ms, s, m, h)")
	}
	*d = durationFlag(t)
	return nil
}

// dashed spells a flag the way the help text does: -x for a one-letter flag, --name for the
// others (Go's flag package accepts either, and spells both with one dash in its errors).
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagNameInError finds the flag names Go's flag package writes in its errors, as "-name".
var flagNameInError = regexp.MustCompile(`(^|[ :])-([A-Za-z0-9][A-Za-z0-9-]*)`)

// parseFlags is fs.Parse(args) with the command-line conventions of wasmrun: one-letter boolean
// flags may be combined (-la is -l -a), and errors spell flags as the help does (--tmp-size,
// not -tmp-size).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(expandShort(fs, args))
	if err == nil {
		return nil
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		// Spelled as typed: -lx may be meant as -l -x.
		for _, a := range args {
			if n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); n == name && strings.HasPrefix(a, "-") {
				typed, _, _ := strings.Cut(a, "=")
				return errors.New("flag provided but not defined: " + typed)
			}
		}
	}
	msg = flagNameInError.ReplaceAllStringFunc(msg, func(m string) string {
		i := strings.Index(m, "-")
		return m[:i] + dashed(m[i+1:])
	})
	msg = strings.Replace(msg, " for flag --", " for --", 1)
	msg = strings.Replace(msg, " for flag -", " for -", 1)
	return errors.New(msg)
}

// expandShort splits combined one-letter boolean flags (-la into -l -a) among the flags at the
// start of args, up to the first argument that is not a flag or "--"; an argument whose letters
// are not all one-letter boolean flags of fs is left for fs.Parse to judge.
func expandShort(fs *flag.FlagSet, args []string) []string {
	isBool := func(f *flag.Flag) bool {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		return ok && b.IsBoolFlag()
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		name, _, hasValue := strings.Cut(name, "=")
		if f := fs.Lookup(name); f != nil {
			out = append(out, a)
			if !hasValue && !isBool(f) && i+1 < len(args) {
				i++
				out = append(out, args[i]) // the flag's value
			}
			continue
		}
		if a[1] == '-' || hasValue {
			out = append(out, a)
			continue
		}
		split := make([]string, 0, len(name))
		for _, r := range name {
			f := fs.Lookup(string(r))
			if f == nil || !isBool(f) {
				split = nil
				break
			}
			split = append(split, "-"+string(r))
		}
		if split == nil {
			out = append(out, a)
			continue
		}
		out = append(out, split...)
	}
	return out
}

package run

import (
	"flag"
	"slices"
	"strings"
	"testing"
)

// TestHelpEverywhere checks that -h and --help print help and exit 0 in the command and in
// every fs subcommand, whatever else is on the command line (du -h is not human sizes).
func TestHelpEverywhere(t *testing.T) {
	store := newStore(t)
	for _, h := range []string{"-h", "--help"} {
		if got := cli(t, store, h); got.code != 0 || !strings.Contains(got.stdout, "Usage:") {
			t.Errorf("wasmrun %s: %d, %q", h, got.code, got.stdout)
		}
		for _, c := range fsCommands {
			got := fsCLI(t, store, c.name, h, "/")
			if got.code != 0 || !strings.HasPrefix(got.stdout, "Usage: wasmrun fs "+c.name+" ") || got.stderr != "" {
				t.Errorf("wasmrun fs %s %s /: %d, stdout %q, stderr %q; want its help", c.name, h, got.code, got.stdout, got.stderr)
			}
		}
	}
}

// TestCommandLineMistakes checks that every command-line mistake exits 2, with a message that
// spells flags as the help does and says what is wanted.
func TestCommandLineMistakes(t *testing.T) {
	store := newStore(t)
	tests := []struct {
		name   string
		fs     bool // a wasmrun fs command line
		args   []string
		want   []string // substrings of stderr
		unwant []string
	}{
		{name: "unknown long flag", args: []string{"--nope", g("echo")}, want: []string{"not defined: --nope"}},
		{name: "unknown short flags", args: []string{"-la", g("echo")}, want: []string{"not defined: -la"}},
		{name: "bad size", args: []string{"--tmp-size", "lots", g("echo")},
			want: []string{`invalid value "lots" for --tmp-size`, "K, M, G or T"}, unwant: []string{" -tmp-size"}},
		{name: "missing value", args: []string{"--timeout"}, want: []string{"needs an argument: --timeout"}},
		{name: "duration without unit", args: []string{"--timeout", "5", g("echo")},
			want: []string{`"5" has no unit`, "ns, us, ms, s, m, h"}},
		{name: "bad duration", args: []string{"--commit-interval", "soon", g("echo")},
			want: []string{"--commit-interval", "units: ns, us, ms, s, m, h"}},
		{name: "bad --dir", args: []string{"--dir", ":/x", g("echo")}, want: []string{"--dir"}},
		{name: "bad --mount", args: []string{"--mount", "/x", g("echo")}, want: []string{"--mount"}},
		{name: "bad --max-memory", args: []string{"--max-memory", "100", g("echo")}, want: []string{"--max-memory"}},
		{name: "no module", args: nil, want: []string{"no module"}},
		{name: "fs: no subcommand", fs: true, args: nil},
		{name: "fs: unknown subcommand", fs: true, args: []string{"nope"}, want: []string{`no subcommand "nope"`}},
		{name: "fs: unknown flag", fs: true, args: []string{"ls", "--nope"}, want: []string{"not defined: --nope"}},
		{name: "fs: unknown combined flags", fs: true, args: []string{"ls", "-lx"}, want: []string{"not defined: -lx"}},
		{name: "fs: duration without unit", fs: true, args: []string{"ls", "--lock-timeout", "3"},
			want: []string{`invalid value "3" for --lock-timeout`, "has no unit"}, unwant: []string{" -lock-timeout"}},
		{name: "fs: too many arguments", fs: true, args: []string{"fsck", "x"}, want: []string{"wrong number of arguments"}},
		{name: "fs: missing argument", fs: true, args: []string{"cat"}, want: []string{"wrong number of arguments"}},
		{name: "fs: bad mode", fs: true, args: []string{"mkdir", "-m", "999", "/d"}, want: []string{`invalid value "999" for -m: bad mode "999"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got result
			if tc.fs {
				got = fsCLI(t, store, tc.args...)
			} else {
				got = cli(t, store, tc.args...)
			}
			if got.code != 2 {
				t.Errorf("exit status %d, want 2; stderr %q", got.code, got.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.stderr, w) {
					t.Errorf("stderr %q lacks %q", got.stderr, w)
				}
			}
			for _, w := range tc.unwant {
				if strings.Contains(got.stderr, w) {
					t.Errorf("stderr %q has %q", got.stderr, w)
				}
			}
		})
	}
}

// TestCombinedShortFlags checks that one-letter boolean flags combine: ls -la is ls -l -a.
func TestCombinedShortFlags(t *testing.T) {
	store := newStore(t)
	fsOK(t, store, "mkdir", "-p", "/d/.hidden/x")
	fsOK(t, store, "put", "-", "/d/file")
	separate := fsOK(t, store, "ls", "-l", "-a", "-R", "/d")
	for _, args := range [][]string{{"ls", "-laR", "/d"}, {"ls", "/d", "-Ral"}, {"ls", "-la", "-R", "/d"}} {
		if got := fsOK(t, store, args...); got != separate {
			t.Errorf("wasmrun fs %q = %q, want %q (as with -l -a -R)", args, got, separate)
		}
	}
	if !strings.Contains(separate, ".hidden") {
		t.Errorf("ls -l -a -R shows no dot file: %q", separate)
	}
}

func TestExpandShort(t *testing.T) {
	fl := flag.NewFlagSet("t", flag.ContinueOnError)
	fl.Bool("l", false, "")
	fl.Bool("a", false, "")
	fl.String("m", "", "")
	fl.String("store", "", "")
	tests := []struct{ in, want []string }{
		{[]string{"-la", "x"}, []string{"-l", "-a", "x"}},
		{[]string{"-l", "-a"}, []string{"-l", "-a"}},
		{[]string{"-lm", "x"}, []string{"-lm", "x"}},   // -m takes a value: left to flag.Parse
		{[]string{"-m", "-la"}, []string{"-m", "-la"}}, // the value of -m
		{[]string{"--store", "-la", "-la"}, []string{"--store", "-la", "-l", "-a"}},
		{[]string{"--la"}, []string{"--la"}},
		{[]string{"x", "-la"}, []string{"x", "-la"}},   // after the first argument: the guest's
		{[]string{"--", "-la"}, []string{"--", "-la"}}, // after --
		{[]string{"-la=1"}, []string{"-la=1"}},
	}
	for _, tc := range tests {
		if got := expandShort(fl, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("expandShort(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

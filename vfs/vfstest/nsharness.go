package vfstest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// nsHarness wraps a Namespace over a fresh backend, with path helpers whose failures read
// "Open(/a/b, Create|Excl) = ESUCCESS, want EEXIST".
type nsHarness struct {
	*harness // the root backend, for checks below the Namespace
	ns       *vfs.Namespace
	root     vfs.Node
}

// nsSub runs f as the subtest name on a Namespace over a fresh backend.
func (k *kit) nsSub(t *testing.T, name string, f func(t *testing.T, n *nsHarness)) {
	t.Run(name, func(t *testing.T) {
		defer failOnPanic(t)
		fsys := k.newFS(t)
		ns := vfs.NewNamespace(fsys)
		f(t, &nsHarness{harness: newHarness(t, fsys, k.opts), ns: ns, root: ns.Root()})
	})
}

func oflagString(f vfs.OFlag) string {
	var s []string
	for _, c := range []struct {
		f    vfs.OFlag
		name string
	}{
		{vfs.ORead, "Read"}, {vfs.OWrite, "Write"}, {vfs.OCreate, "Create"}, {vfs.OExcl, "Excl"},
		{vfs.OTrunc, "Trunc"}, {vfs.ODirectory, "Directory"}, {vfs.ONoFollow, "NoFollow"},
	} {
		if f&c.f != 0 {
			s = append(s, c.name)
		}
	}
	if len(s) == 0 {
		return "0"
	}
	return strings.Join(s, "|")
}

// show shortens long paths in messages.
func show(p string) string {
	if len(p) > 60 {
		return fmt.Sprintf("%s...(%d bytes)", p[:40], len(p))
	}
	return p
}

func (n *nsHarness) open(p string, flags vfs.OFlag) (*vfs.Handle, vfs.Errno) {
	hd, e := n.ns.Open(n.root, p, flags, 0o644)
	if e == vfs.ESUCCESS && (hd == nil || hd.File == nil) {
		n.t.Fatalf("Open(%s, %s) returned ESUCCESS and no File", show(p), oflagString(flags))
	}
	return hd, e
}

func (n *nsHarness) mustOpen(p string, flags vfs.OFlag) *vfs.Handle {
	n.t.Helper()
	hd, e := n.open(p, flags)
	n.must(e, "Open(%s, %s)", show(p), oflagString(flags))
	return hd
}

// wantOpen opens p, checks the errno and closes the handle if one came back.
func (n *nsHarness) wantOpen(p string, flags vfs.OFlag, want vfs.Errno) {
	n.t.Helper()
	hd, e := n.open(p, flags)
	n.want(e, want, "Open(%s, %s)", show(p), oflagString(flags))
	if e == vfs.ESUCCESS {
		hd.File.Close()
	}
}

func (n *nsHarness) mkdirNS(p string) {
	n.t.Helper()
	n.must(n.ns.Mkdir(n.root, p, 0o755), "Mkdir(%s)", show(p))
}

func (n *nsHarness) writeNS(p, content string) {
	n.t.Helper()
	hd := n.mustOpen(p, vfs.OWrite|vfs.OCreate|vfs.OTrunc)
	defer hd.File.Close()
	if c, e := hd.File.WriteAt([]byte(content), 0); c != len(content) || e != vfs.ESUCCESS {
		n.t.Fatalf("WriteAt(%s) = (%d, %s)", show(p), c, e.Name())
	}
}

func (n *nsHarness) symlinkNS(target, p string) {
	n.t.Helper()
	n.must(n.ns.Symlink(target, n.root, p), "Symlink(%q, %s)", show(target), show(p))
}

// readNS returns the content of p, following symlinks.
func (n *nsHarness) readNS(p string) string {
	n.t.Helper()
	hd := n.mustOpen(p, vfs.ORead)
	defer hd.File.Close()
	buf := make([]byte, 1<<16)
	c, e := hd.File.ReadAt(buf, 0)
	n.must(e, "ReadAt(%s)", show(p))
	return string(buf[:c])
}

// resolve is Resolve from the root.
func (n *nsHarness) resolve(p string, follow bool) (vfs.Node, vfs.Errno) {
	return n.ns.Resolve(n.root, p, follow)
}

// wantResolve checks that p resolves to the same node as q (or fails with want).
func (n *nsHarness) wantResolve(p string, follow bool, q string) {
	n.t.Helper()
	got, e := n.resolve(p, follow)
	if !n.want(e, vfs.ESUCCESS, "Resolve(%s, follow=%v)", show(p), follow) {
		return
	}
	want, e := n.resolve(q, false)
	n.must(e, "Resolve(%s)", q)
	if got != want {
		n.t.Errorf("Resolve(%s, follow=%v) = ino %d, want %s (ino %d)", show(p), follow, got.Ino, q, want.Ino)
	}
}

func (n *nsHarness) wantResolveErr(p string, follow bool, want vfs.Errno) {
	n.t.Helper()
	_, e := n.resolve(p, follow)
	n.want(e, want, "Resolve(%s, follow=%v)", show(p), follow)
}

// statNS is StatAt from the root.
func (n *nsHarness) statNS(p string, follow bool) vfs.Stat {
	n.t.Helper()
	st, e := n.ns.StatAt(n.root, p, follow)
	n.must(e, "StatAt(%s, follow=%v)", show(p), follow)
	return st
}

// setupNS runs setup lines through the Namespace: "d /p", "f /p text", "s /p target".
func (n *nsHarness) setupNS(lines []string) {
	n.t.Helper()
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		switch f[0] {
		case "d":
			n.mkdirNS(f[1])
		case "f":
			n.writeNS(f[1], f[2])
		case "s":
			n.symlinkNS(f[2], f[1])
		default:
			panic("vfstest: bad setup line " + l)
		}
	}
}

// expectNS checks lines against the namespace, without following a final symlink:
// "- /p" (missing), "d /p", "f /p text", "s /p target".
func (n *nsHarness) expectNS(lines []string) {
	n.t.Helper()
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		st, e := n.ns.StatAt(n.root, f[1], false)
		if f[0] == "-" {
			n.want(e, vfs.ENOENT, "StatAt(%s)", f[1])
			continue
		}
		if !n.want(e, vfs.ESUCCESS, "StatAt(%s)", f[1]) {
			continue
		}
		want := map[string]vfs.FileType{"d": vfs.TypeDir, "f": vfs.TypeRegular, "s": vfs.TypeSymlink}[f[0]]
		if st.Type != want {
			n.t.Errorf("StatAt(%s).Type = %s, want %s", f[1], st.Type, want)
			continue
		}
		switch f[0] {
		case "f":
			if got := n.readNS(f[1]); got != f[2] {
				n.t.Errorf("content of %s = %q, want %q", f[1], got, f[2])
			}
		case "s":
			if got, e := n.ns.Readlink(n.root, f[1]); got != f[2] || e != vfs.ESUCCESS {
				n.t.Errorf("Readlink(%s) = (%q, %s), want (%q, ESUCCESS)", f[1], got, e.Name(), f[2])
			}
		}
	}
}

// Package readonly is a decorator that refuses every change to a vfs.FS with EROFS, as a
// read-only mount does on Linux: New(fsys) answers reads from fsys and refuses SetAttr,
// Create, Link, Remove, Rename and Open for writing, after the checks Linux makes first (a
// missing name is still ENOENT, an existing one EEXIST for Create, a directory EISDIR for a
// write open).
//
// The result is a vfs.Wrapper that implements no optional capability itself: vfs.As finds
// fsys's own (vfs.Committer, vfs.Closer, vfs.Usager, stats.BackendStatser, any other) through
// it, so a store mounted read-only is still committed and closed by the runtime and its
// figures still reach --stats.
package readonly

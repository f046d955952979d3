"""The python.wasm guest of wasmrun's escape tests (runtime/escape_test.go).

    usage: python -c "$(cat corpus.py)" < OPERATIONS

The same interpreter as testdata/guests/go/escape ("escape corpus"; see its doc for the
operations and the output), through Python's os module and so through wasi-libc, the way an
unmodified program calls the filesystem. Paths are bytes, passed as given. Where Python itself
refuses an argument before any call reaches the host (a path with a NUL byte raises ValueError),
the errno printed is "V"; an operation Python does not offer on WASI prints "N".
"""
import os
import sys

out = []


def run(op, args):
    a = args[0] if args else b""
    b = args[1] if len(args) > 1 else b""
    if op == "open":
        mode = b.decode()
        flags = os.O_RDWR if "w" in mode else os.O_RDONLY
        if "w" in mode and "r" not in mode:
            flags = os.O_WRONLY
        for c, f in (("c", os.O_CREAT), ("t", os.O_TRUNC), ("x", os.O_EXCL), ("d", os.O_DIRECTORY), ("n", os.O_NOFOLLOW)):
            if c in mode:
                flags |= f
        fd = os.open(a, flags, 0o644)
        try:
            if "w" in mode:
                os.write(fd, args[2] if len(args) > 2 else b"")
            if "r" in mode and "d" not in mode:
                return os.read(fd, 64)
        finally:
            os.close(fd)
        return b""
    if op == "mkdir":
        os.mkdir(a)
    elif op == "rmdir":
        os.rmdir(a)
    elif op == "unlink":
        os.unlink(a)
    elif op == "symlink":
        os.symlink(a, b)
    elif op in ("link", "linkf"):
        # With directory fds: this python.wasm's wasi-libc turns linkat(AT_FDCWD, old, AT_FDCWD,
        # new) into path_link(3, old=new, 3, new), the old path overwritten by the new one (a
        # shared buffer), so os.link without dir fds fails with ENOENT before wasmrun is asked
        # the right question. Paths are made relative to an fd on "/" instead, as the libc does.
        root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.link(a.lstrip(b"/") or b".", b.lstrip(b"/") or b".", src_dir_fd=root, dst_dir_fd=root,
                    follow_symlinks=(op == "linkf"))
        finally:
            os.close(root)
    elif op == "rename":
        os.rename(a, b)
    elif op == "readlink":
        return os.readlink(a)
    elif op in ("stat", "lstat"):
        st = os.stat(a, follow_symlinks=(op == "stat"))
        # The WASI filetype numbers, as the Go guest prints them.
        import stat as S
        typ = 4 if S.S_ISREG(st.st_mode) else 3 if S.S_ISDIR(st.st_mode) else 7 if S.S_ISLNK(st.st_mode) else 0
        return b"%d %d" % (typ, st.st_size if typ == 4 else 0)
    else:
        raise SystemExit("corpus.py: unknown operation %r" % op)
    return b""


for line in sys.stdin.buffer:
    f = line.split()
    if not f:
        continue
    args = [bytes.fromhex(h.decode()) for h in f[1:]]
    try:
        res = run(f[0].decode(), args)
        out.append("0 " + (res or b"").hex())
    except OSError as e:
        out.append("%d " % e.errno)
    except ValueError:
        out.append("V ")
    except NotImplementedError:
        out.append("N ")
out.append("END")
sys.stdout.write("\n".join(out) + "\n")

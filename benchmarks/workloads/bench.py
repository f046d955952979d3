"""The benchmark suite's workloads, in Python.

The same file runs under python.wasm (wasmrun, wazero's WASI, node's WASI) and
under the native python3, so every configuration executes exactly the same
bytecode. It is passed to the interpreter with -c, so nothing has to be mounted
for it.

    python bench.py DIR [key=value ...]

DIR is created if missing, and must be empty. Parameters (defaults are the full sizes):

    groups=seq,small,append,sqlite,tree,rename,random   which workloads to run
    seq=67108864      bytes of the sequential file
    small=5000        small files
    appends=500       appends, each followed by fsync
    inserts=20000     sqlite rows inserted in one transaction
    commits=500       sqlite single-row transactions
    dirs=200 files=20 the tree: dirs directories of files files each
    renames=2000      write-temp-then-rename replacements
    rsize=268435456   bytes of the random-I/O file
    rops=20000        random 4 KiB reads, and as many random 4 KiB writes

Each measured phase prints one JSON line on stdout:

    {"phase": "seq_write_1m", "s": 0.123, "ops": 64, "bytes": 67108864}

where s is the wall-clock seconds of the phase alone (time.perf_counter), ops
the operations it did and bytes the file data it moved. Set-up and clean-up
are not timed. Any failure raises, and the process exits non-zero.
"""

import json
import os
import shutil
import sys
import time

now = time.perf_counter


def emit(phase, seconds, ops, nbytes=0):
    print(json.dumps({"phase": phase, "s": seconds, "ops": ops, "bytes": nbytes}), flush=True)


def seq(d, p):
    size = p["seq"]
    path = os.path.join(d, "seq.dat")
    for chunk, tag in ((1 << 20, "1m"), (4096, "4k")):
        buf = b"\xa5" * chunk  # not zeros: a backend may skip storing zero pages
        n = size // chunk
        for durable in (False, True):
            t0 = now()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            for _ in range(n):
                os.write(fd, buf)
            if durable:
                os.fsync(fd)
            os.close(fd)
            t = now() - t0
            emit("seq_write_%s%s" % (tag, "_fsync" if durable else ""), t, n, n * chunk)
            if not durable:
                t0 = now()
                fd = os.open(path, os.O_RDONLY)
                got = 0
                while True:
                    b = os.read(fd, chunk)
                    if not b:
                        break
                    got += len(b)
                os.close(fd)
                t = now() - t0
                if got != n * chunk:
                    raise SystemExit("seq read %d bytes, want %d" % (got, n * chunk))
                emit("seq_read_%s" % tag, t, n, got)
            os.unlink(path)


def small(d, p):
    n = p["small"]
    sd = os.path.join(d, "small")
    os.mkdir(sd)
    data = b"s" * 1024
    paths = [os.path.join(sd, "f%06d" % i) for i in range(n)]

    t0 = now()
    for path in paths:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, data)
        os.close(fd)
    emit("small_create", now() - t0, n, n * len(data))

    t0 = now()
    for path in paths:
        if os.stat(path).st_size != len(data):
            raise SystemExit("bad size for " + path)
    emit("small_stat", now() - t0, n)

    lists = 10
    t0 = now()
    for _ in range(lists):
        with os.scandir(sd) as it:
            k = sum(1 for _ in it)
        if k != n:
            raise SystemExit("listed %d entries, want %d" % (k, n))
    emit("small_list", now() - t0, lists * n)

    t0 = now()
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        b = os.read(fd, 4096)
        os.close(fd)
        if len(b) != len(data):
            raise SystemExit("short read of " + path)
    emit("small_read", now() - t0, n, n * len(data))

    t0 = now()
    for path in paths:
        os.unlink(path)
    emit("small_delete", now() - t0, n)
    os.rmdir(sd)


def append(d, p):
    n = p["appends"]
    path = os.path.join(d, "append.log")
    line = b"an appended line of a log, followed by an fsync\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    t0 = now()
    for _ in range(n):
        os.write(fd, line)
        os.fsync(fd)
    t = now() - t0
    os.close(fd)
    if os.stat(path).st_size != n * len(line):
        raise SystemExit("append: wrong size")
    emit("append_fsync", t, n, n * len(line))
    os.unlink(path)


def sqlite(d, p):
    import sqlite3

    path = os.path.join(d, "bench.db")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v TEXT)")
    n = p["inserts"]
    t0 = now()
    con.execute("BEGIN")
    for i in range(n):
        con.execute("INSERT INTO t (k, v) VALUES (?, ?)", (i % 100, "value number %d" % i))
    con.execute("COMMIT")
    emit("sqlite_insert", now() - t0, n)

    m = p["commits"]
    t0 = now()
    for i in range(m):
        con.execute("INSERT INTO t (k, v) VALUES (?, ?)", (i % 100, "commit %d" % i))
    emit("sqlite_commits", now() - t0, m)

    t0 = now()
    rows = con.execute("SELECT k, count(*), sum(length(v)), avg(id) FROM t GROUP BY k ORDER BY k").fetchall()
    emit("sqlite_aggregate", now() - t0, 1)
    if len(rows) != 100 or sum(r[1] for r in rows) != n + m:
        raise SystemExit("sqlite: wrong aggregate")
    con.close()
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)


def tree(d, p):
    dirs, files = p["dirs"], p["files"]
    top = os.path.join(d, "tree")
    data = b"t" * 100
    t0 = now()
    os.mkdir(top)
    for i in range(dirs):
        sub = os.path.join(top, "d%04d" % i)
        os.mkdir(sub)
        for j in range(files):
            fd = os.open(os.path.join(sub, "f%03d" % j), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.close(fd)
    emit("tree_create", now() - t0, dirs * (files + 1))

    t0 = now()
    count = 0
    total = 0
    for root, _, names in os.walk(top):
        for name in names:
            total += os.lstat(os.path.join(root, name)).st_size
            count += 1
    emit("tree_walk", now() - t0, dirs * (files + 1))
    if count != dirs * files or total != count * len(data):
        raise SystemExit("tree: walked %d files" % count)

    t0 = now()
    shutil.rmtree(top)
    emit("tree_remove", now() - t0, dirs * (files + 1))


def rename(d, p):
    n = p["renames"]
    target = os.path.join(d, "state.json")
    tmp = target + ".tmp"
    data = b"r" * 256
    t0 = now()
    for _ in range(n):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)
        os.replace(tmp, target)
    emit("rename", now() - t0, n)
    os.unlink(target)


def lcg(x):
    return (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF


def random_io(d, p):
    size, n = p["rsize"], p["rops"]
    path = os.path.join(d, "random.dat")
    chunk = b"\x5a" * (1 << 20)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    for _ in range(size // len(chunk)):
        os.write(fd, chunk)
    os.fsync(fd)  # set-up: every configuration starts from the file on its storage
    blocks = size // 4096

    x = 1
    t0 = now()
    for _ in range(n):
        x = lcg(x)
        b = os.pread(fd, 4096, ((x >> 33) % blocks) * 4096)
        if len(b) != 4096:
            raise SystemExit("random read: short read")
    emit("random_read", now() - t0, n, n * 4096)

    buf = b"\xc3" * 4096
    t0 = now()
    for _ in range(n):
        x = lcg(x)
        os.pwrite(fd, buf, ((x >> 33) % blocks) * 4096)
    emit("random_write", now() - t0, n, n * 4096)
    os.close(fd)
    os.unlink(path)


GROUPS = {
    "seq": seq,
    "small": small,
    "append": append,
    "sqlite": sqlite,
    "tree": tree,
    "rename": rename,
    "random": random_io,
}

DEFAULTS = {
    "groups": "seq,small,append,sqlite,tree,rename,random",
    "seq": 64 << 20,
    "small": 5000,
    "appends": 500,
    "inserts": 20000,
    "commits": 500,
    "dirs": 200,
    "files": 20,
    "renames": 2000,
    "rsize": 256 << 20,
    "rops": 20000,
}


def main(argv):
    if not argv:
        raise SystemExit("usage: bench.py DIR [key=value ...]")
    d = argv[0]
    if not os.path.isdir(d):
        os.makedirs(d)
    p = dict(DEFAULTS)
    for kv in argv[1:]:
        k, _, v = kv.partition("=")
        if k not in p:
            raise SystemExit("unknown parameter " + k)
        p[k] = v if k == "groups" else int(v)
    for g in p["groups"].split(","):
        GROUPS[g](d, p)


main(sys.argv[1:])

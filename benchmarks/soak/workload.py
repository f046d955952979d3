"""The soak workload (benchmarks/soak): mixed file I/O from python.wasm, forever.

    usage: python -c "$(cat workload.py)" ROOT SEED

Under ROOT (on the stable store) it overwrites, truncates, appends to, reads, stats, lists,
fsyncs and atomically replaces a fixed set of files, and keeps a sqlite3 table of bounded size;
in /tmp (the heap) it rewrites and truncates scratch files. Every quantity is bounded, so the
working set is fixed (about 4 MiB of files and 2 MiB of database under ROOT, 6 MiB in /tmp on
average): once it is reached, the memory of the process and the size of the store must stop
growing. Each second it prints "OPS n" (operations so far), flushed.

Most operations go through file descriptors opened once, at the start (pwrite, pread,
ftruncate, fsync), and only a few percent open a file or a directory. That is not for wasmrun:
this python.wasm (its wasi-vfs layer, which embeds the standard library) never reuses an fd
number and keeps a table indexed by them, so every open costs the guest about 28 bytes of its
own linear memory for good (200,000 open/close pairs: fd numbers 15 to 200,015, memory +5.5 MiB;
the same growth happens under wazero's own WASI). A workload that opened a file per operation
would measure that, not wasmrun.
"""
import os
import random
import sqlite3
import sys
import time

root, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
os.makedirs(root, exist_ok=True)
os.makedirs("/tmp/soak", exist_ok=True)
FILES, LOGS, SCRATCH, ROWS = 200, 10, 50, 5000
blob = memoryview(bytes(rng.randrange(256) for _ in range(1 << 18)))
buf = bytearray(1 << 15)


def data(n):
    # A view, not a copy: the workload allocates next to nothing per operation.
    off = rng.randrange(len(blob) - n + 1)
    return blob[off:off + n]


def path(i):
    return "%s/f%03d" % (root, i)


RW = os.O_RDWR | os.O_CREAT
files = [os.open(path(i), RW, 0o644) for i in range(FILES)]
logs = [os.open("%s/log%d" % (root, i), RW | os.O_APPEND, 0o644) for i in range(LOGS)]
scratch = [os.open("/tmp/soak/s%02d" % i, RW, 0o644) for i in range(SCRATCH)]

con = sqlite3.connect(os.path.join(root, "soak.sqlite"), isolation_level=None)
# Keep the database and its journal open (sqlite otherwise opens the journal, and takes its
# dot-file lock, in every transaction).
con.execute("pragma locking_mode = exclusive")
con.execute("pragma journal_mode = persist")
con.execute("create table if not exists t (id integer primary key, v blob)")
next_id = (con.execute("select max(id) from t").fetchone()[0] or 0) + 1

ops, last = 0, time.monotonic()
while True:
    r = rng.randrange(100)
    if r < 30:  # overwrite a file in place
        fd, d = files[rng.randrange(FILES)], data(rng.randrange(1, 1 << 15))
        os.pwrite(fd, d, 0)
        os.ftruncate(fd, len(d))
    elif r < 32:  # replace a file atomically: write a new one, rename it over the old
        i = rng.randrange(FILES)
        fd = os.open(path(i) + ".new", RW | os.O_TRUNC, 0o644)
        os.write(fd, data(rng.randrange(1, 1 << 15)))
        os.fsync(fd)
        os.replace(path(i) + ".new", path(i))
        os.close(files[i])
        files[i] = fd
    elif r < 47:  # append to a log, start it again when it is large
        fd = logs[rng.randrange(LOGS)]
        os.write(fd, data(rng.randrange(1, 4096)))
        if os.fstat(fd).st_size > 1 << 17:
            os.ftruncate(fd, 0)
    elif r < 57:  # sqlite3: insert a batch, delete the oldest beyond ROWS
        con.execute("begin")
        con.executemany("insert into t values (?, ?)", [(next_id + i, data(200)) for i in range(10)])
        next_id += 10
        con.execute("delete from t where id <= ?", (next_id - ROWS,))
        con.execute("commit")
    elif r < 72:  # scratch files in /tmp: rewritten, or emptied
        fd = scratch[rng.randrange(SCRATCH)]
        if rng.randrange(3) == 0:
            os.ftruncate(fd, 0)
        else:
            d = data(rng.randrange(1, 1 << 18))
            os.pwrite(fd, d, 0)
            os.ftruncate(fd, len(d))
    elif r < 87:  # read a file
        fd, off = files[rng.randrange(FILES)], 0
        while n := os.preadv(fd, [buf], off):
            off += n
    elif r < 95:  # stat by path
        os.stat(path(rng.randrange(FILES)))
    elif r < 96:  # list the directory
        for e in os.scandir(root):
            e.stat()
    else:  # fsync a file
        os.fsync(files[rng.randrange(FILES)])
    ops += 1
    now = time.monotonic()
    if now - last >= 1:
        last = now
        print("OPS %d" % ops, flush=True)

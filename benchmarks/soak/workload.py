"""The soak workload (benchmarks/soak): mixed file I/O from python.wasm, forever.

    usage: python -c "$(cat workload.py)" ROOT SEED

Under ROOT (on the stable store) it overwrites, replaces by rename, appends to, reads, lists
and fsyncs a fixed set of files, and keeps a sqlite3 table of bounded size; in /tmp (the heap)
it writes and removes scratch files. Every quantity is bounded, so the working set is fixed
(about 4 MiB of files and 2 MiB of database under ROOT, 6 MiB in /tmp on average): once it is
reached, the memory of the process and the size of the store must stop growing. Each second it
prints "OPS n" (operations so far), flushed.
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
blob = bytes(rng.randrange(256) for _ in range(1 << 18))


def data(n):
    off = rng.randrange(len(blob) - n + 1)
    return blob[off:off + n]


con = sqlite3.connect(os.path.join(root, "soak.sqlite"), isolation_level=None)
con.execute("create table if not exists t (id integer primary key, v blob)")
next_id = (con.execute("select max(id) from t").fetchone()[0] or 0) + 1

ops, last = 0, time.monotonic()
while True:
    r = rng.randrange(100)
    if r < 30:  # overwrite a file in place
        with open("%s/f%03d" % (root, rng.randrange(FILES)), "wb") as f:
            f.write(data(rng.randrange(1, 1 << 15)))
    elif r < 40:  # replace a file atomically
        name = "%s/f%03d" % (root, rng.randrange(FILES))
        with open(name + ".new", "wb") as f:
            f.write(data(rng.randrange(1, 1 << 15)))
        os.replace(name + ".new", name)
    elif r < 55:  # append to a log, start it again when it is large
        name = "%s/log%d" % (root, rng.randrange(LOGS))
        with open(name, "ab") as f:
            f.write(data(rng.randrange(1, 4096)))
            if f.tell() > 1 << 17:
                f.truncate(0)
    elif r < 65:  # sqlite3: insert a batch, delete the oldest beyond ROWS
        con.execute("begin")
        con.executemany("insert into t values (?, ?)", [(next_id + i, data(200)) for i in range(10)])
        next_id += 10
        con.execute("delete from t where id <= ?", (next_id - ROWS,))
        con.execute("commit")
    elif r < 80:  # scratch files in /tmp, written and removed
        name = "/tmp/soak/s%02d" % rng.randrange(SCRATCH)
        if rng.randrange(3) == 0 and os.path.exists(name):
            os.remove(name)
        else:
            with open(name, "wb") as f:
                f.write(data(rng.randrange(1, 1 << 18)))
    elif r < 90:  # read a file
        try:
            with open("%s/f%03d" % (root, rng.randrange(FILES)), "rb") as f:
                f.read()
        except FileNotFoundError:
            pass
    elif r < 95:  # list and stat
        for e in os.scandir(root):
            e.stat()
    else:  # fsync a file
        try:
            fd = os.open("%s/f%03d" % (root, rng.randrange(FILES)), os.O_RDWR)
            os.fsync(fd)
            os.close(fd)
        except FileNotFoundError:
            pass
    ops += 1
    now = time.monotonic()
    if now - last >= 1:
        last = now
        print("OPS %d" % ops, flush=True)

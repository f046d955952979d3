"""The python.wasm guest of wasmrun's process crash test (cmd/run/crash_test.go).

    usage: python -c "$(cat writer.py)" ROOT TAG MAXRECORDS

The same program as testdata/guests/go/crashwriter, byte for byte in what it writes (see its
doc for the files and the protocol), plus a sqlite3 database: for every second record it
inserts the row (TAG, i, v) into ROOT/db.sqlite in its own transaction (sqlite fsyncs its
journal and the database at every commit) and then prints "SQL I". Each line goes to stdout in
one write, after the fsync it reports returned:

    READY gen=G    RENAMED G    SYNCED I    SQL I    DONE
"""
import hashlib
import os
import sqlite3
import sys


def payload(key, n):
    h = hashlib.sha256(key.encode()).hexdigest().encode()
    return (h * (n // len(h) + 1))[:n]


def record(tag, i):
    n = 16 + (i * 7919) % 3000
    return b"%s %08d %05d " % (tag.encode(), i, n) + payload("%s:%d" % (tag, i), n) + b"\n"


def rec_file(tag, i):
    return payload("rec:%s:%d" % (tag, i), 1000 + (i * 104729) % 40000)


def state(g):
    n = 100 + (g * 7907) % 30000
    return b"STATE %d %d\n" % (g, n) + payload("state:%d" % g, n) + b"\nEND %d\n" % g


def row_value(tag, i):
    return payload("sql:%s:%d" % (tag, i), 200).decode()


def say(line):
    os.write(1, (line + "\n").encode())


def read_gen(path):
    try:
        with open(path, "rb") as f:
            b = f.read()
    except FileNotFoundError:
        return 0
    g = int(b.split(b" ", 2)[1])
    if b != state(g):
        raise SystemExit("crashwriter: %s: generation %d is not intact (%d bytes)" % (path, g, len(b)))
    return g


def write_file(path, data):
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def main():
    root, tag, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    d = os.path.join(root, tag)
    os.makedirs(os.path.join(d, "rec"), exist_ok=True)
    state_path = os.path.join(root, "state")
    gen = read_gen(state_path)
    con = sqlite3.connect(os.path.join(root, "db.sqlite"), isolation_level=None)
    con.execute("create table if not exists t (tag text, i integer, v text, primary key (tag, i))")
    say("READY gen=%d" % gen)
    log = os.open(os.path.join(d, "log"), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    for i in range(limit):
        os.write(log, record(tag, i))
        if i % 3 == 0:
            write_file(os.path.join(d, "rec", "%08d" % i), rec_file(tag, i))
        renamed = False
        if i % 4 == 0:
            gen += 1
            write_file(state_path + ".tmp", state(gen))
            os.rename(state_path + ".tmp", state_path)
            renamed = True
        os.fsync(log)
        if renamed:
            say("RENAMED %d" % gen)
        say("SYNCED %d" % i)
        if i % 2 == 0:
            con.execute("begin")
            con.execute("insert into t values (?, ?, ?)", (tag, i, row_value(tag, i)))
            con.execute("commit")
            say("SQL %d" % i)
    os.close(log)
    con.close()
    say("DONE")


main()

"""Checks ROOT/db.sqlite after a crash (cmd/run/crash_test.go).

    usage: python -c "$(cat check_sqlite.py)" ROOT

CPython's WASI build of sqlite locks a database with a dot-file lock (sqlite's unix-dotfile
VFS: it makes the directory db.sqlite.lock for the length of a transaction), and a process
killed inside a transaction leaves that directory behind in the store, where sqlite takes it
for a lock held by someone else ("database is locked") forever. Nothing else can hold it: the
store is locked by one process at a time, and this one has it. So a leftover lock is stale and
is removed first, as an administrator would, which this reports as "STALELOCK". Then sqlite's
own recovery (rolling back a hot journal) runs when the database is opened.

Prints "INTEGRITY <result of PRAGMA integrity_check>", then "ROW TAG I OK" or "ROW TAG I BAD"
for every row (OK when its value is the one testdata/crash/writer.py inserted), then "END".
"""
import hashlib
import os
import sqlite3
import sys


def payload(key, n):
    h = hashlib.sha256(key.encode()).hexdigest().encode()
    return (h * (n // len(h) + 1))[:n]


root = sys.argv[1]
path = os.path.join(root, "db.sqlite")
if not os.path.exists(path):
    print("INTEGRITY nodb")
    print("END")
    raise SystemExit(0)
if os.path.isdir(path + ".lock"):
    os.rmdir(path + ".lock")
    print("STALELOCK")
con = sqlite3.connect(path)
print("INTEGRITY " + " | ".join(r[0] for r in con.execute("pragma integrity_check")))
has_t = con.execute("select count(*) from sqlite_master where type = 'table' and name = 't'").fetchone()[0]
for tag, i, v in con.execute("select tag, i, v from t order by tag, i") if has_t else []:
    ok = v == payload("sql:%s:%d" % (tag, i), 200).decode()
    print("ROW %s %d %s" % (tag, i, "OK" if ok else "BAD"))
con.close()
print("END")

"""files.py: a files workload for CPython on WASI, run by runtime/python_test.go.

usage: python files.py WORKDIR OTHERDIR

Creates, renames, lists, zips and deletes files in WORKDIR, keeps a sqlite3 database there,
moves a tree to OTHERDIR (on another mount, so shutil.move falls back to copying after EXDEV),
and uses tempfile in /tmp. Each check prints "PASS name" or "FAIL name: detail"; the last line is
"RESULT: PASS n checks" or "RESULT: FAIL k of n checks", and the exit status is 0 only if every
check passed. WORKDIR and OTHERDIR are removed at the end.
"""

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import traceback
import zipfile

checks = 0
failures = 0


def check(name):
    """Decorator: run the function as check `name`; an exception or a False result fails it."""

    def run(fn):
        global checks, failures
        checks += 1
        try:
            ok = fn()
        except Exception:
            ok = False
            detail = traceback.format_exc().strip().replace("\n", " | ")
        else:
            detail = "returned %r" % (ok,)
        if ok is None or ok is True:
            print("PASS", name, flush=True)
        else:
            failures += 1
            print("FAIL %s: %s" % (name, detail), flush=True)
        return fn

    return run


def data(i):
    return ("file %d " % i).encode() * (i * 37 % 500 + 1)


work, other = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
os.makedirs(other, exist_ok=True)


@check("create files")
def _():
    os.makedirs(os.path.join(work, "tree", "a", "b"))
    for i in range(40):
        sub = ("tree", "tree/a", "tree/a/b")[i % 3]
        with open(os.path.join(work, sub, "f%02d.txt" % i), "wb") as f:
            f.write(data(i))


@check("rename and replace")
def _():
    os.rename(os.path.join(work, "tree/f00.txt"), os.path.join(work, "tree/renamed.txt"))
    os.replace(os.path.join(work, "tree/f03.txt"), os.path.join(work, "tree/f06.txt"))
    assert not os.path.exists(os.path.join(work, "tree/f03.txt"))
    with open(os.path.join(work, "tree/f06.txt"), "rb") as f:
        assert f.read() == data(3)


@check("list with os.walk and os.scandir")
def _():
    names = []
    for root, dirs, files in os.walk(os.path.join(work, "tree")):
        for n in files:
            names.append(os.path.relpath(os.path.join(root, n), work))
    assert len(names) == 39, names
    with os.scandir(os.path.join(work, "tree")) as it:
        entries = {e.name: e.is_dir() for e in it}
    assert entries["a"] is True and entries["renamed.txt"] is False, entries
    st = os.stat(os.path.join(work, "tree/renamed.txt"))
    assert st.st_size == len(data(0))


@check("zip a tree and read it back")
def _():
    z = os.path.join(work, "tree.zip")
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, dirs, files in os.walk(os.path.join(work, "tree")):
            for n in sorted(files):
                p = os.path.join(root, n)
                zf.write(p, os.path.relpath(p, work))
    with zipfile.ZipFile(z) as zf:
        assert zf.testzip() is None
        assert len(zf.namelist()) == 39
        zf.extractall(os.path.join(work, "unzipped"))
    with open(os.path.join(work, "unzipped/tree/a/b/f02.txt"), "rb") as f:
        assert f.read() == data(2)


@check("shutil.make_archive and unpack_archive")
def _():
    arc = shutil.make_archive(os.path.join(work, "arc"), "zip", os.path.join(work, "tree"))
    shutil.unpack_archive(arc, os.path.join(work, "unpacked"))
    assert sorted(os.listdir(os.path.join(work, "unpacked"))) == sorted(os.listdir(os.path.join(work, "tree")))


@check("json round trip")
def _():
    doc = {"name": "wasmrun", "files": sorted(os.listdir(os.path.join(work, "tree"))), "n": 39}
    p = os.path.join(work, "doc.json")
    with open(p, "w") as f:
        json.dump(doc, f, indent=1)
    with open(p) as f:
        assert json.load(f) == doc


@check("sqlite3 database")
def _():
    p = os.path.join(work, "db.sqlite")
    con = sqlite3.connect(p)
    con.execute("create table t (id integer primary key, name text, body blob)")
    with con:
        con.executemany("insert into t (name, body) values (?, ?)", (("row%d" % i, data(i)) for i in range(500)))
    con.execute("create index t_name on t (name)")
    con.commit()
    con.close()
    con = sqlite3.connect(p)
    (n, total) = con.execute("select count(*), sum(length(body)) from t").fetchone()
    assert n == 500 and total == sum(len(data(i)) for i in range(500)), (n, total)
    with con:
        con.execute("delete from t where id % 2 = 0")
    con.execute("vacuum")
    assert con.execute("select count(*) from t").fetchone()[0] == 250
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    con.close()
    assert not os.path.exists(p + "-journal")


@check("shutil.move across mounts (EXDEV, then copy)")
def _():
    src = os.path.join(work, "unzipped")
    try:
        os.rename(src, os.path.join(other, "probe"))
    except OSError as e:
        assert e.errno == errno.EXDEV, e
    else:
        raise AssertionError("rename across mounts succeeded")
    dst = shutil.move(src, os.path.join(other, "moved"))
    assert not os.path.exists(src)
    with open(os.path.join(dst, "tree/a/b/f02.txt"), "rb") as f:
        assert f.read() == data(2)
    f = shutil.move(os.path.join(work, "doc.json"), other)
    assert os.path.isfile(f) and not os.path.exists(os.path.join(work, "doc.json"))


@check("shutil.copytree and copy2 keep content and mtime")
def _():
    shutil.copytree(os.path.join(work, "tree"), os.path.join(other, "copy"))
    a = os.path.join(work, "tree/renamed.txt")
    b = shutil.copy2(a, os.path.join(other, "copy2.txt"))
    assert int(os.stat(a).st_mtime) == int(os.stat(b).st_mtime)
    h = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
    assert h(a) == h(b)


@check("tempfile in /tmp")
def _():
    assert tempfile.gettempdir() == "/tmp", tempfile.gettempdir()
    with tempfile.TemporaryDirectory() as d:
        assert d.startswith("/tmp/")
        fd, path = tempfile.mkstemp(dir=d, suffix=".bin")
        os.write(fd, b"x" * 100000)
        os.close(fd)
        assert os.path.getsize(path) == 100000
        with tempfile.NamedTemporaryFile(dir=d) as f:
            f.write(b"named")
            f.flush()
            assert open(f.name, "rb").read() == b"named"
        with tempfile.SpooledTemporaryFile(max_size=10) as f:
            f.write(b"spilled to a real file")
            f.seek(0)
            assert f.read() == b"spilled to a real file"
    assert not os.path.exists(d)


@check("delete everything")
def _():
    shutil.rmtree(os.path.join(work, "tree"))
    shutil.rmtree(other)
    for n in os.listdir(work):
        p = os.path.join(work, n)
        shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
    os.rmdir(work)
    assert not os.path.exists(work) and not os.path.exists(other)


if failures:
    print("RESULT: FAIL %d of %d checks" % (failures, checks))
    sys.exit(1)
print("RESULT: PASS %d checks" % checks)

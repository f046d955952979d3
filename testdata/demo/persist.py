"""wasmrun demo: what lives under / persists across runs, what lives in /tmp does not.

Run it twice with the same store: the second run finds the visit log the first one wrote under
/data (stable storage, a bbolt file on the host) but an empty /tmp (RAM, gone with the process).
No syncfs call, no patched open(): plain Python file I/O.
"""
import json
import os
import time

LOG = "/data/visits.json"
SCRATCH = "/tmp/scratch.txt"

tmp_was_empty = not os.path.exists(SCRATCH)
os.makedirs("/data", exist_ok=True)
try:
    with open(LOG) as f:
        visits = json.load(f)
except FileNotFoundError:
    visits = []

visits.append({"run": len(visits) + 1, "at": time.strftime("%Y-%m-%d %H:%M:%S")})

# Write-temp-then-rename: the rename replaces the old log atomically.
with open(LOG + ".new", "w") as f:
    json.dump(visits, f)
os.replace(LOG + ".new", LOG)

with open(SCRATCH, "w") as f:
    f.write("scratch data that will not survive this process\n")

print(f"run #{len(visits)}")
print(f"  /tmp was empty at start: {tmp_was_empty}   (RAM: never persists)")
print(f"  {LOG} holds {len(visits)} visit(s)   (stable storage: persists across runs)")
for v in visits:
    print(f"    visit {v['run']} at {v['at']}")

"""Tail a growing array as a live Arrow stream.

A writer process appends readings to a named array in bursts; this
process reads them as Arrow record batches while they arrive
(a.arrow_tail: each batch holds the rows published since the previous
one, zero-copy; the stream ends when nothing new arrives within the
timeout) and keeps a running total with pyarrow.compute.

    python arrow_tail.py [N]
"""

import os
import subprocess
import sys
import textwrap
import uuid

import pyarrow as pa
import pyarrow.compute as pc

import mba

WRITER = textwrap.dedent("""
    import sys, time, mba
    a = mba.attach(sys.argv[1])
    n = int(sys.argv[2])
    for start in range(0, n, 1000):
        a.extend(range(start, min(n, start + 1000)))
        time.sleep(0.01)
""")


def main(n=20000):
    name = "mba-tail-example-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    a = mba.create(name, 0, "q")
    try:
        seen = a.seq
        w = subprocess.Popen([sys.executable, "-c", WRITER, name, str(n)])
        a.wait(seen, timeout=30)  # the writer has started
        reader = pa.RecordBatchReader.from_stream(a.arrow_tail(timeout=1.0))
        rows = total = batches = 0
        for batch in reader:
            col = batch.column(0)
            rows += len(col)
            total += pc.sum(col).as_py() or 0
            batches += 1
        w.wait()
        print("%d rows in %d batches, total %d" % (rows, batches, total))
        ok = rows == n and total == n * (n - 1) // 2
        print("OK" if ok else "MISMATCH")
        return 0 if ok else 1
    finally:
        a.close()
        mba.delete(name)


if __name__ == "__main__":
    sys.exit(main(*[int(x) for x in sys.argv[1:2]]))

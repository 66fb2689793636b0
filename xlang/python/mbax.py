"""mbax.py - the Python program of the cross-language suite (xlang/README.md).

    mbax.py create NAME TYPE            TYPE: u64, i64, i32 or f64
    mbax.py append NAME START COUNT     appends START .. START+COUNT-1, one call each
    mbax.py read NAME                   prints every element, one per line
    mbax.py wait NAME N TIMEOUT_MS      waits until the length is at least N

With MBA_XLANG_GATE=GATE in the environment, append first meets the other
appender at a barrier: it appends one element to the u64 array GATE and
waits until GATE holds 2, so that two appenders start together.

Uses the mba package (installed, or PYTHONPATH=examples-python).
"""
import os
import sys
import time

import mba

TYPES = {"u64": "Q", "i64": "q", "i32": "i", "f64": "d"}


def wait_len(a, want, timeout_ms):
    deadline = time.monotonic() + timeout_ms / 1000.0
    while True:
        seen = a.seq  # the counter before the length: nothing missed
        if len(a) >= want:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            sys.exit("mbax(py): wait: timed out at length %d" % len(a))
        a.wait(seen, left)


def gate():
    name = os.environ.get("MBA_XLANG_GATE")
    if name:
        g = mba.attach(name, "Q")
        g.append(1)
        wait_len(g, 2, 10000)
        g.close()


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: mbax.py create|append|read|wait NAME ...")
    verb, name = argv[1], argv[2]
    try:
        if verb == "create" and len(argv) == 4:
            mba.create(name, TYPES[argv[3]]).close()
            return 0
        a = mba.attach(name)
        if verb == "append" and len(argv) == 5:
            start, count = int(argv[3]), int(argv[4])
            conv = float if a.typecode == "d" else int
            gate()
            for v in range(start, start + count):
                a.append(conv(v))
        elif verb == "read" and len(argv) == 3:
            out = []
            for v in a.tolist():
                if isinstance(v, float) and v == int(v):
                    v = int(v)
                out.append("%.17g" % v if isinstance(v, float) else str(v))
            if out:
                sys.stdout.write("\n".join(out) + "\n")
        elif verb == "wait" and len(argv) == 5:
            wait_len(a, int(argv[3]), int(argv[4]))
        else:
            sys.exit("mbax(py): bad arguments for %s" % verb)
        a.close()
    except mba.MBAError as e:
        sys.exit("mbax(py): %s: %s" % (verb, e))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

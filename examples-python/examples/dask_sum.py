"""Sum a shared array with Dask worker processes, without copying it.

A named libmba array pickles by reference (its name and identity, a few
dozen bytes): each Dask worker process that unpickles it attaches the same
memory (no copy, no transfer through the scheduler) and sums its own
slice. The total matches numpy's sum in the client.

    python dask_sum.py [N] [WORKERS]

This is one machine: workers on another node would find no array of that
name there. Data leaves the node as Arrow (pyarrow's IPC or Flight, fed by
the array's zero-copy Arrow export); see docs/ARROW.md.
"""

import os
import pickle
import sys
import uuid

import numpy

import mba


def partial_sum(arr, start, stop):
    """Runs in a worker process: arr arrived as a reference and is attached
    here; numpy.asarray(arr) is a view of the shared memory."""
    v = numpy.asarray(arr)
    return os.getpid(), float(v[start:stop].sum()), arr.buffer_info()[1]


def main(n=2_000_000, workers=2, chunks=8):
    from dask.distributed import Client, LocalCluster

    name = "mba-dask-example-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    a = mba.create(name, n, "d")
    v = None
    try:
        v = numpy.asarray(a)
        v[:] = numpy.arange(n, dtype=numpy.float64) * 0.5
        print("pickled array: %d bytes for %d MB of elements"
              % (len(pickle.dumps(a)), a.nbytes // 2**20))
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            step = -(-n // chunks)
            futs = [client.submit(partial_sum, a, s, min(n, s + step), pure=False)
                    for s in range(0, n, step)]
            parts = client.gather(futs)
        pids = {p for p, _, _ in parts}
        total = sum(s for _, s, _ in parts)
        want = float(v.sum())
        print("workers (pids): %s" % sorted(pids))
        print("dask total %r, numpy total %r" % (total, want))
        ok = abs(total - want) <= 1e-9 * abs(want) and all(m == n for _, _, m in parts)
        print("OK" if ok else "MISMATCH")
        return 0 if ok else 1
    finally:
        del v
        a.close()
        mba.delete(name)


if __name__ == "__main__":
    args = [int(x) for x in sys.argv[1:3]]
    sys.exit(main(*args))

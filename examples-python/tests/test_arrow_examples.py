"""The Arrow examples of examples-python/examples, run as their users run
them: dask_sum.py (worker processes of a dask.distributed LocalCluster
attach a named array passed to their tasks, pickled by reference, and
their partial sums add up to numpy's sum) and arrow_tail.py (a live Arrow
stream of an array another process is appending to)."""

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

EXAMPLES = os.path.join(REPO, "examples-python", "examples")
EXAMPLE = os.path.join(EXAMPLES, "dask_sum.py")


def test_dask_workers_sum_a_shared_array():
    pytest.importorskip("dask.distributed",
                        reason='dask.distributed is not installed (pip install "dask[distributed]")')
    pytest.importorskip("numpy", reason="numpy is not installed")
    p = subprocess.run([sys.executable, EXAMPLE, "1000000", "2"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "OK" in p.stdout.split("\n")
    # The reference is small: the elements did not travel through pickle.
    size = int(re.search(r"pickled array: (\d+) bytes", p.stdout).group(1))
    assert size < 300
    # Both worker processes did some of the work, and neither is us.
    pids = re.search(r"workers \(pids\): \[(.*)\]", p.stdout).group(1).split(", ")
    assert len(pids) == 2 and str(os.getpid()) not in pids


def test_arrow_tail_example():
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install pyarrow)")
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, "arrow_tail.py"), "20000"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.split("\n")[-2] == "OK"
    rows, batches = re.search(r"(\d+) rows in (\d+) batches", p.stdout).groups()
    assert rows == "20000" and int(batches) > 1  # read while being written

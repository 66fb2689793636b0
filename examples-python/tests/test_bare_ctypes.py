"""examples-python/bare_ctypes.py, the no-package ctypes example: it runs
(under this interpreter, and under PyPy too where pypy3 is installed),
prints the array it made, and leaves no name behind."""

import os
import shutil
import subprocess
import sys

import pytest

import mba
from conftest import REPO, unique_name

SCRIPT = os.path.join(REPO, "examples-python", "bare_ctypes.py")


def run(python, name):
    env = dict(os.environ, MBA_LIBRARY=mba.library_path)
    # (From a directory without the package: the script must not need it.)
    return subprocess.run([python, SCRIPT, name], capture_output=True,
                          text=True, timeout=60, env=env, cwd="/")


def interpreters():
    out = [sys.executable]
    pypy = shutil.which("pypy3")
    if pypy and sys.implementation.name != "pypy":
        out.append(pypy)
    return out


@pytest.mark.parametrize("python", interpreters())
def test_bare_ctypes_example_runs(python):
    name = unique_name("bare")
    p = run(python, name)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "shm://%s: 3 items: [1.5, 2.5, 4.0]\n" % name
    assert not os.path.exists("/dev/shm/" + name)  # unlinked


def test_bare_ctypes_example_reports_a_status(shm_name):
    # The name exists already (MBA_CREATE | MBA_EXCL): the status's message.
    a = mba.create(shm_name, 1, "d")
    try:
        p = run(sys.executable, shm_name)
        assert p.returncode == 1 and p.stdout == ""
        assert "OSError: [Errno -16]" in p.stderr, p.stderr
        assert mba.attach(shm_name).tolist() == [0.0]  # untouched
    finally:
        a.close()

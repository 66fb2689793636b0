import gc
import itertools
import os
import platform
import subprocess
import sys
import textwrap

import pytest

import mba

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_counter = itertools.count()

PYPY = platform.python_implementation() == "PyPy"


def collect():
    """Frees what nothing references any more: one gc.collect() on
    CPython; a few on PyPy, where a finalizer's garbage waits for the next
    round (an array's __del__ drops its owner, whose __del__ closes the
    handle)."""
    for _ in range(3 if PYPY else 1):
        gc.collect()


def unique_name(tag="t"):
    return "mba-pytest-%d-%s-%d" % (os.getpid(), tag, next(_counter))


SETPRIV = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
_second_user = []


def skip_unless_second_user():
    """Skips the test unless it can run this interpreter as a second user
    (uid 65534, through SETPRIV): it needs root and setpriv, and an
    interpreter that uid 65534 can execute (one under /root, such as
    pyenv's, loads a libpython it cannot read). Probed once."""
    import shutil
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as a second user")
    if not _second_user:
        p = subprocess.run(SETPRIV + [sys.executable, "-c", "pass"],
                           capture_output=True, text=True, timeout=60)
        why = None
        if p.returncode != 0:
            why = ("uid 65534 cannot run this interpreter (%s): %s" % (
                sys.executable,
                (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]))
        _second_user.append(why)
    if _second_user[0]:
        pytest.skip(_second_user[0])


@pytest.fixture
def shm_name():
    """A unique bare name (meaning shm://NAME), deleted after the test."""
    name = unique_name()
    yield name
    try:
        mba.delete(name)
    except FileNotFoundError:
        pass


@pytest.fixture
def shm_names():
    made = []

    def make():
        n = unique_name()
        made.append(n)
        return n

    yield make
    for n in made:
        try:
            mba.delete(n)
        except FileNotFoundError:
            pass


def c_layout(tmp_path, struct, fields):
    """(sizeof, {field: (offset, size)}) of a struct of mba.h as the C
    compiler lays it out; skips the test without cc."""
    import shutil
    cc = shutil.which("cc")
    if not cc:
        pytest.skip("needs cc")
    src = tmp_path / ("%s.c" % struct)
    src.write_text(
        '#include <stdio.h>\n#include <stddef.h>\n#include "mba.h"\n'
        "int main(void) {\n"
        '    printf("%%zu\\n", sizeof(%s));\n' % struct +
        "".join('    printf("%%zu %%zu\\n", offsetof(%s, %s), sizeof(((%s *)0)->%s));\n'
                % (struct, f, struct, f) for f in fields) +
        "    return 0;\n}\n")
    exe = tmp_path / struct
    subprocess.run([cc, "-o", str(exe), str(src), "-I", os.path.join(REPO, "include")],
                   check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    lines = out.split("\n")
    return int(lines[0]), {f: tuple(int(x) for x in line.split())
                           for f, line in zip(fields, lines[1:])}


def use_python_append(monkeypatch):
    """For tests of the binding's Python append path (its ctypes calls):
    mmaparray.append becomes the Python method for the test, as without
    the CPython bridge (which calls that method only for uncommon
    values)."""
    monkeypatch.setattr(mba.mmaparray, "append", mba.mmaparray._py_append)


def run_python(code, *args, timeout=60, env=None, check=True, **kw):
    """Runs code in a fresh interpreter (the same one as the tests) and
    returns the CompletedProcess. A crash (signal) always fails the test."""
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout, env=e, **kw)
    assert p.returncode >= 0, "child died of signal %d\nstdout:%s\nstderr:%s" % (
        -p.returncode, p.stdout, p.stderr)
    if check:
        assert p.returncode == 0, "child failed (%d)\nstdout:%s\nstderr:%s" % (
            p.returncode, p.stdout, p.stderr)
    return p


@pytest.fixture
def py():
    return run_python

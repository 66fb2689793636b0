"""Library lookup and version check at import."""

import os
import shutil
import subprocess
import sys

import pytest

import mba

from conftest import REPO

PKG = os.path.dirname(os.path.abspath(mba.__file__))
SRC_PKG = os.path.join(REPO, "examples-python")


def _import(env_extra, cwd=None, pythonpath=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MBA_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env.update(env_extra)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [sys.executable, "-c", "import mba; print(mba.library_path); print(mba.library_version)"],
        capture_output=True, text=True, env=env, cwd=cwd or "/", timeout=60)


def test_version_is_supported():
    major, minor, _ = (int(x) for x in mba.library_version.split("."))
    assert (major, minor) == (0, 3)


def test_explicit_library_variable_wins():
    lib = os.path.join(REPO, "target", "release", "libmba.so")
    if not os.path.exists(lib):
        pytest.skip("no target/release/libmba.so")
    p = _import({"MBA_LIBRARY": lib})
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[0] == lib


def test_bad_explicit_library_is_an_import_error():
    p = _import({"MBA_LIBRARY": "/nonexistent/libmba.so"})
    assert p.returncode == 1
    assert "ImportError" in p.stderr and "/nonexistent/libmba.so" in p.stderr
    assert "MBA_LIBRARY" in p.stderr


def test_in_repo_source_tree_finds_target_release():
    if os.path.exists(os.path.join(SRC_PKG, "mba", "libmba.so")):
        pytest.skip("a libmba.so is bundled in the source tree")
    p = _import({}, pythonpath=SRC_PKG)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[0] == os.path.join(REPO, "examples-python", "mba", "..", "..",
                                               "target", "release", "libmba.so") or \
        os.path.realpath(p.stdout.split()[0]) == os.path.realpath(
            os.path.join(REPO, "target", "release", "libmba.so"))


def test_nothing_found_names_every_place(tmp_path):
    pkg = tmp_path / "mba"
    pkg.mkdir()
    for f in ("__init__.py", "_lib.py", "_compat.py", "_core.py"):
        shutil.copy(os.path.join(PKG, f), pkg / f)
    p = _import({}, pythonpath=str(tmp_path))
    assert p.returncode == 1
    for place in ("package directory", "system"):
        assert place in p.stderr, p.stderr
    # Outside a source tree there is no repository to look in (issue 13:
    # the message listed .../lib/python3.11/target/release/libmba.so).
    assert "repository target/release" not in p.stderr, p.stderr
    assert "ImportError" in p.stderr


def test_unsupported_version_is_refused(tmp_path):
    cc = shutil.which("cc")
    if not cc:
        pytest.skip("needs cc")
    src = tmp_path / "fake.c"
    src.write_text("unsigned mba_version(void) { return 2u << 16; }\n")
    so = tmp_path / "libfake.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    p = _import({"MBA_LIBRARY": str(so)})
    assert p.returncode == 1
    assert "version 2.0.0" in p.stderr and "0.3.x" in p.stderr


def test_build_without_the_new_functions_is_refused(tmp_path):
    # A development build that says 0.3.0 but lacks functions the binding
    # needs (as 0.1.1 development builds lacked mba_describe).
    cc = shutil.which("cc")
    if not cc:
        pytest.skip("needs cc")
    src = tmp_path / "old.c"
    src.write_text("unsigned mba_version(void) { return 3u << 8; }\n")
    so = tmp_path / "libold.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    p = _import({"MBA_LIBRARY": str(so)})
    assert p.returncode == 1
    assert "ImportError" in p.stderr
    assert "lacks mba_describe, mba_try_append, mba_open_fd" in p.stderr, p.stderr

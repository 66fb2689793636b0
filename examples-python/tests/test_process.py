"""Sharing with other processes: Python children, a C program, growth,
wait/notify and Ctrl-C."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import mba

from conftest import REPO

TARGET = os.path.join(REPO, "target", "release")


def test_second_python_process_sees_and_grows(shm_name, py):
    a = mba.create(shm_name, 0, "I")
    a.extend([1, 2, 3])
    p = py("""
        import sys, mba
        a = mba.attach(sys.argv[1], 'I')
        print(a.tolist())
        for i in range(100000):   # forces the capacity to grow
            a.append(i)
        a[0] = 42
    """, shm_name)
    assert p.stdout.strip() == "[1, 2, 3]"
    # Growth by the other process is seen without re-opening.
    assert len(a) == 100003
    assert a[0] == 42 and a[-1] == 99999 and a[100002] == 99999
    assert a.tolist()[3:8] == [0, 1, 2, 3, 4]
    a.close()


def test_fork_child_shares_anonymous_array():
    a = mba.mmaparray("q", [1])
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            a.append(2 ** 62)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert a.tolist() == [1, 2 ** 62]


@pytest.fixture(scope="module")
def c_reader(tmp_path_factory):
    cc = shutil.which("cc")
    lib = os.path.join(TARGET, "libmba.so")
    if not cc or not os.path.exists(lib):
        pytest.skip("needs cc and target/release/libmba.so")
    so0 = os.path.join(TARGET, "libmba.so.0")
    if not os.path.exists(so0):  # the SONAME
        os.symlink("libmba.so", so0)
    src = tmp_path_factory.mktemp("c") / "reader.c"
    src.write_text(textwrap.dedent(r"""
        #include <stdio.h>
        #include <stdlib.h>
        #include "mba.h"
        /* reader NAME [APPEND]: prints the type, the row shape, the length
           and the elements (double arrays), then appends APPEND. */
        int main(int argc, char **argv) {
            mba_handle h;
            int rc = mba_open(argv[1], 0, MBA_TYPE_ANY, &h);
            if (rc) { printf("open: %s\n", mba_strerror(rc)); return 1; }
            int32_t t; uint64_t n, dims[8]; uint32_t nd;
            mba_elem_type(h, &t); mba_len(h, &n); mba_shape(h, dims, 8, &nd);
            printf("type %d ndim %u len %llu\n", t, nd, (unsigned long long)n);
            const double *p; mba_get_ptr(h, (void **)&p);
            uint64_t rb; mba_row_size(h, &rb);
            for (uint64_t i = 0; i < n * (rb / 8); i++) printf("%g\n", p[i]);
            if (argc > 2) {
                double v = atof(argv[2]);
                if (nd == 0 && (rc = mba_append(h, &v))) { printf("append: %s\n", mba_strerror(rc)); return 1; }
            }
            return mba_close(h);
        }
    """))
    exe = str(src.parent / "reader")
    subprocess.run([cc, "-O1", "-o", exe, str(src), "-I", os.path.join(REPO, "include"),
                    "-L", TARGET, "-lmba", "-Wl,-rpath," + TARGET], check=True)
    return exe


def test_c_program_reads_and_appends(shm_name, c_reader):
    a = mba.create(shm_name, 0, "d")
    a.extend([1.5, -2.0, 1e10])
    p = subprocess.run([c_reader, "shm://" + shm_name, "7.25"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.split("\n")
    assert lines[0] == "type 10 ndim 0 len 3"
    assert [float(x) for x in lines[1:4]] == [1.5, -2.0, 1e10]
    assert a.tolist() == [1.5, -2.0, 1e10, 7.25]  # the C append is seen
    a.close()


def test_c_program_sees_row_shape(shm_name, c_reader):
    a = mba.create(shm_name, (2, 3), "d")
    a[1] = [1, 2, 3]
    p = subprocess.run([c_reader, "shm://" + shm_name], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0
    lines = p.stdout.split()
    assert lines[:6] == ["type", "10", "ndim", "1", "len", "2"]
    assert [float(x) for x in lines[6:]] == [0, 0, 0, 1, 2, 3]
    a.close()


def test_wait_wakes_on_change_from_other_process(shm_name):
    a = mba.create(shm_name, 0, "i")
    seen = a.seq
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time, mba
        a = mba.attach(sys.argv[1])
        time.sleep(0.2)
        a.append(5)
    """), shm_name])
    try:
        new = a.wait(seen, timeout=20)
        assert new != seen
        assert a.tolist() == [5]
    finally:
        assert child.wait(30) == 0
    assert a.wait(a.seq, timeout=0.05) == a.seq  # timeout: seen comes back
    a.close()


def test_wait_on_cow_is_not_supported(tmp_path):
    p = tmp_path / "w.mba"
    mba.open(p, "x", "i").close()
    with mba.open(p, "c") as c:
        with pytest.raises(ValueError):  # NotSupportedError
            c.wait(0, timeout=0.01)


def test_ctrl_c_interrupts_wait(shm_name):
    a = mba.create(shm_name, 0, "i")
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import signal, sys, mba
        # Python leaves SIGINT alone if it starts ignored (as in a background
        # job of a non-interactive shell): install its Ctrl-C handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        a = mba.attach(sys.argv[1])
        print("waiting", flush=True)
        try:
            a.wait()
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
            sys.exit(3)
    """), shm_name], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.3)  # let it block in mba_wait
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 3 and out.strip() == "KeyboardInterrupt"
    assert len(a) == 0
    a.close()


def test_ctrl_c_interrupts_readonly_wait(shm_name):
    a = mba.create(shm_name, 0, "i")
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import signal, sys, mba
        # Python leaves SIGINT alone if it starts ignored (as in a background
        # job of a non-interactive shell): install its Ctrl-C handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        a = mba.attach(sys.argv[1], readonly=True)
        print("waiting", flush=True)
        try:
            a.wait(timeout=60)
        except KeyboardInterrupt:
            sys.exit(3)
    """), shm_name], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 3
    a.close()

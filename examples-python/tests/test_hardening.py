"""Hostile or careless input never crashes or hangs the interpreter
(issue 14): a user mmap that cannot grow (scenario 8), out-of-range wait
timeouts (scenario 9), NUL bytes in names (scenario 10), and an anonymous
array larger than the memory cgroup allows (scenario 7). Cases that could
crash or hang run in a child interpreter, so a crash fails the test
instead of killing pytest."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest

import mba

# ------------------------------------------------ scenario 8: user mmaps


def test_anonymous_shared_mmap_refuses_to_grow_instead_of_sigbus(py):
    # 0.1.3: SIGBUS at the first append (mmap.resize leaves the grown part
    # of a shared anonymous mapping without memory, gh-110243).
    p = py("""
        import mmap, mba
        m = mmap.mmap(-1, 4096)
        a = mba.mmaparray('i', mmap=m)
        a[0] = 7
        a[1023] = 9
        for grow in (lambda: a.append(1), lambda: a.extend(range(5000)),
                     lambda: a.insert(0, 3), lambda: a.frombytes(b'\\0' * 8192)):
            try:
                grow()
            except mba.FullError as e:
                assert 'gh-110243' in str(e), e
            else:
                raise AssertionError('grew an unbacked mmap')
            assert len(a) == 1024 and len(m) == 4096, (len(a), len(m))
            assert a[0] == 7 and a[1023] == 9 and a[1] == 0
        # Shrinking and growing back within the original size works.
        del a[1000:]
        a.append(5)
        assert len(a) == 1001 and a[-1] == 5 and a[0] == 7
        print('ok')
    """)
    assert p.stdout.strip() == "ok"


def test_private_anonymous_and_file_mmaps_still_grow(py, tmp_path):
    p = py("""
        import mmap, sys, mba
        m = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE)
        a = mba.mmaparray('i', mmap=m)
        for i in range(5000):
            a.append(i)
        assert len(a) == 6024 and a[-1] == 4999 and a[1024] == 0
        with open(sys.argv[1], 'w+b') as f:
            f.write(b'\\0' * 4096)
            f.flush()
            fm = mmap.mmap(f.fileno(), 4096)
            b = mba.mmaparray('q', mmap=fm)
            b.extend(range(10000))
            assert len(b) == 10512 and b[-1] == 9999
        print('ok')
    """, tmp_path / "f.bin")
    assert p.stdout.strip() == "ok"


def _mount_tmpfs(d, size):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a small tmpfs")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip("mount -t tmpfs failed: %s" % r.stderr.strip())


def test_file_mmap_on_a_full_tmpfs_gives_nospace_not_sigbus(py, tmp_path):
    # mmap.resize of a file mapping grows the file with ftruncate: on a
    # full tmpfs the new pages have no space, and the first store through
    # the mapping would raise SIGBUS.
    d = tmp_path / "small"
    d.mkdir()
    _mount_tmpfs(d, "1m")
    try:
        p = py("""
            import mmap, os, sys, mba
            d = sys.argv[1]
            with open(os.path.join(d, 'filler'), 'wb', buffering=0) as f:
                try:
                    while True:
                        f.write(b'x' * 4096)
                except OSError:
                    pass
            os.truncate(os.path.join(d, 'filler'), os.path.getsize(os.path.join(d, 'filler')) - 16384)
            f = open(os.path.join(d, 'arr'), 'w+b')
            f.write(b'\\0' * 4096)
            f.flush()
            m = mmap.mmap(f.fileno(), 4096)
            a = mba.mmaparray('q', mmap=m)
            n = len(a)
            try:
                while True:
                    a.append(n)
                    n += 1
            except mba.NoSpaceError as e:
                print('nospace', n, e)
            assert len(a) == n
            assert all(a[i] == i for i in range(512, n))
            print('ok')
        """, d)
        assert p.stdout.strip().endswith("ok"), p.stdout
        assert "nospace" in p.stdout
    finally:
        subprocess.run(["umount", str(d)])


# ---------------------------------------------- scenario 9: wait timeouts


def test_wait_nan_is_a_value_error(py):
    # 0.1.3: wait(timeout=nan) never returned (run in a child with a
    # deadline, so a hang fails the test).
    p = py("""
        import mba
        a = mba.anon(0, 'i')
        try:
            a.wait(timeout=float('nan'))
        except ValueError as e:
            print('ValueError', e)
    """, timeout=20)
    assert p.stdout.startswith("ValueError"), p.stdout


@pytest.mark.parametrize("t", [-1, -0.5, -1e300, float("-inf"), 0, 0.0])
def test_wait_negative_or_zero_only_checks(t):
    a = mba.anon(0, "i")
    t0 = time.monotonic()
    assert a.wait(timeout=t) == a.seq
    assert time.monotonic() - t0 < 1.0
    a.append(1)
    assert a.wait(0, timeout=t) == a.seq  # a change seen at once


@pytest.mark.parametrize("t", ["float('inf')", "1e300", "10**400", "None"])
def test_wait_inf_and_huge_wait_until_a_change(py, t):
    # Woken by another thread's append after 0.3 s; no overflow.
    p = py("""
        import sys, threading, time, mba
        a = mba.anon(0, 'i')
        seen = a.seq
        threading.Timer(0.3, lambda: a.append(1)).start()
        t0 = time.monotonic()
        s = a.wait(seen, timeout=eval(sys.argv[1]))
        dt = time.monotonic() - t0
        assert s != seen and 0.2 < dt < 10, (s, seen, dt)
        print('ok')
    """, t, timeout=30)
    assert p.stdout.strip() == "ok"


def test_wait_inf_is_interrupted_by_ctrl_c():
    code = textwrap.dedent("""
        import signal, sys, time, mba
        # Python leaves SIGINT alone if it starts ignored (as in a
        # background job): install the handler that raises KeyboardInterrupt.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        a = mba.anon(0, 'i')
        try:
            print('waiting', flush=True)
            a.wait(timeout=float('inf'))
        except KeyboardInterrupt:
            print('interrupted', flush=True)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "waiting"
        # Send Ctrl-C once the child sleeps in the wait (state S), not
        # while a loaded machine is still running its Python code.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open("/proc/%d/stat" % p.pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "S":
                    break
            time.sleep(0.01)
        time.sleep(0.05)
        t0 = time.monotonic()
        p.send_signal(2)
        out, _ = p.communicate(timeout=10)
        assert "interrupted" in out
        assert time.monotonic() - t0 < 2
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_wait_timeout_must_be_a_number():
    a = mba.anon(0, "i")
    with pytest.raises(TypeError):
        a.wait(timeout="1")
    with pytest.raises(TypeError):
        a.wait(timeout=[1])
    assert a.wait(timeout=True) == a.seq  # bool is an int, as for threading


# -------------------------------------------- scenario 10: NUL in names


def _exists(name):
    try:
        mba.attach(name).close()
        return True
    except FileNotFoundError:
        return False


def test_nul_in_a_name_is_refused_everywhere(shm_names, tmp_path):
    # 0.1.3: the name was cut at the NUL: create made shm://BASE, attach
    # opened it, delete removed it.
    base = shm_names()
    bad = base + "\x00tail"
    for call in (lambda: mba.create(bad, 3, "i"),
                 lambda: mba.create("shm://" + bad, 3, "i"),
                 lambda: mba.create(bad.encode(), 3, "i")):
        with pytest.raises(ValueError, match="embedded null"):
            call()
    assert not _exists(base)
    a = mba.create(base, 3, "i")
    for call in (lambda: mba.attach(bad), lambda: mba.attach("shm://" + bad),
                 lambda: mba.delete(bad), lambda: mba.delete("shm://" + bad)):
        with pytest.raises(ValueError, match="embedded null"):
            call()
    assert _exists(base)
    a.close()


def test_nul_in_a_path_is_refused_by_open_and_map_raw(tmp_path):
    good = tmp_path / "a.mba"
    for mode in ("x", "w"):
        with pytest.raises(ValueError, match="embedded null"):
            mba.open(str(good) + "\x00x", mode, "i")
        with pytest.raises(ValueError, match="embedded null"):
            mba.open("file://" + str(good) + "\x00x", mode, "i")
    assert not good.exists()
    mba.open(good, "x", "i", shape=4).close()
    for mode in ("r", "r+", "c"):
        with pytest.raises(ValueError, match="embedded null"):
            mba.open(str(good) + "\x00x", mode)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(b"\0" * 64)
    with pytest.raises(ValueError, match="embedded null"):
        mba.map_raw(str(raw) + "\x00x", "i")
    with pytest.raises(ValueError, match="embedded null"):
        mba.map_raw(os.fsencode(str(raw)) + b"\x00x", "i")


# -------------------------------------- scenario 7: memory cgroup (root)


def _memory_cgroup(limit):
    """A fresh memory cgroup with a hard limit (v1, or v2 where only that
    exists): its directory, or a skip."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a memory cgroup")
    tag = "mba-pytest-%d-%d" % (os.getpid(), int(time.time() * 1e6) % 10**9)
    v1 = "/sys/fs/cgroup/memory"
    if os.path.exists(os.path.join(v1, "memory.limit_in_bytes")):
        d = os.path.join(v1, tag)
        os.mkdir(d)
        with open(os.path.join(d, "memory.limit_in_bytes"), "w") as f:
            f.write(str(limit))
        if os.path.exists(os.path.join(d, "memory.memsw.limit_in_bytes")):
            with open(os.path.join(d, "memory.memsw.limit_in_bytes"), "w") as f:
                f.write(str(limit))
        return d
    for top in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        try:
            with open(os.path.join(top, "cgroup.controllers")) as f:
                if "memory" not in f.read().split():
                    continue
        except OSError:
            continue
        try:
            with open(os.path.join(top, "cgroup.subtree_control"), "w") as f:
                f.write("+memory")
        except OSError:
            pass
        d = os.path.join(top, tag)
        os.mkdir(d)
        with open(os.path.join(d, "memory.max"), "w") as f:
            f.write(str(limit))
        return d
    pytest.skip("no cgroup memory controller is mounted")


def test_anon_larger_than_the_memory_cgroup_is_a_memory_error(py):
    # 0.1.3: the kernel's OOM killer killed the child (SIGKILL).
    d = _memory_cgroup(64 << 20)
    try:
        p = py("""
            import os, sys
            with open(sys.argv[1], 'w') as f:   # into the 64 MiB cgroup first
                f.write(str(os.getpid()))
            import mba
            try:
                mba.anon(0, 'B', capacity=256 << 20)
            except MemoryError as e:
                print('MemoryError', e)
            a = mba.anon(0, 'q', capacity=1 << 17)
            a.extend(range(1000))
            assert a[999] == 999
            print('ok')
        """, os.path.join(d, "cgroup.procs"), timeout=60)
        assert "MemoryError" in p.stdout and "memory cgroup" in p.stdout, p.stdout
        assert p.stdout.strip().endswith("ok")
    finally:
        for _ in range(100):
            try:
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.02)

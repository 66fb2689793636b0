"""The Arrow PyCapsule interface (docs/ARROW.md) with real consumers:
pyarrow, Polars and DuckDB, and a C writer tailed as a live stream.

Each engine is optional: a test that needs one is skipped (with the
reason) when it is not installed."""

import ctypes
import gc
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import mba
from mba import _lib as L

from conftest import REPO

if sys.implementation.name != "cpython":
    pytest.skip("the Arrow PyCapsule interface needs CPython (ctypes.pythonapi)",
                allow_module_level=True)
if not hasattr(L.lib, "mba_export_arrow"):
    pytest.skip("this libmba has no mba_export_arrow (an older build)",
                allow_module_level=True)

from mba import _arrow  # noqa: E402

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install pyarrow)")


def need(mod):
    return pytest.importorskip(mod, reason="%s is not installed (pip install %s)" % (mod, mod))


TARGET = os.path.join(REPO, "target", "release")

# typecode -> (Arrow type, values spanning the type's range)
INTS = {"b": 8, "h": 16, "i": 32, "l": 8 * ctypes.sizeof(ctypes.c_long), "q": 64}
TYPES = {}
for _tc, _bits in INTS.items():
    TYPES[_tc] = (getattr(pa, "int%d" % _bits)(),
                  [0, 1, -1, -(1 << (_bits - 1)), (1 << (_bits - 1)) - 1, 7])
    _u = _tc.upper()
    TYPES[_u] = (getattr(pa, "uint%d" % _bits)(), [0, 1, (1 << _bits) - 1, 1 << (_bits - 1), 7])
TYPES["f"] = (pa.float32(), [0.0, -1.5, 3.25, 1e30, float("inf"), -0.0])
TYPES["d"] = (pa.float64(), [0.0, -1.5, 3.25, 1e300, float("-inf"), 5e-324])
TYPES = {tc: v for tc, v in TYPES.items() if tc in mba.typecodes}


def data_addr(arr):
    """The address of the innermost data buffer of a pyarrow array (through
    FixedSizeList levels)."""
    while pa.types.is_fixed_size_list(arr.type):
        arr = arr.values
    return arr.buffers()[-1].address


def get_ptr(a):
    """mba_get_ptr of an mmaparray's handle."""
    p = ctypes.c_void_p()
    L.check(L.get_ptr(a._h, ctypes.byref(p)))
    return p.value


def fsl(typ):
    """(value type, list sizes) of a (nested) fixed-size list type, to
    compare whatever the child fields' names."""
    sizes = []
    while pa.types.is_fixed_size_list(typ):
        sizes.append(typ.list_size)
        typ = typ.value_type
    return typ, tuple(sizes)


def mapped(name):
    """True if a mapping of shm name is in this process's address space."""
    with open("/proc/self/maps") as f:
        return any(line.rstrip().endswith(("/dev/shm/" + name, "/dev/shm/%s (deleted)" % name))
                   for line in f)


# ------------------------------------------------------------ pyarrow

@pytest.mark.parametrize("tc", sorted(TYPES))
def test_pyarrow_array_is_zero_copy(tc):
    typ, vals = TYPES[tc]
    a = mba.mmaparray(tc, vals)
    arr = pa.array(a)
    assert arr.type == typ
    assert arr.to_pylist() == a.tolist()
    assert arr.null_count == 0
    # The Arrow buffer IS the array's memory (mba_get_ptr).
    assert data_addr(arr) == get_ptr(a) == a.buffer_info()[0]
    a[1] = vals[2]  # an in-place write is visible (the documented race)
    assert arr[1].as_py() == vals[2]
    a.close()


@pytest.mark.parametrize("tc", sorted(TYPES))
def test_pyarrow_stream_and_schema(tc, shm_name):
    typ, vals = TYPES[tc]
    a = mba.create(shm_name, 0, tc)
    a.extend(vals)
    ch = pa.chunked_array(a.arrow())  # the plain array as a stream
    assert ch.type == typ and ch.to_pylist() == a.tolist()
    # The default stream: record batches of one column named after the array.
    rdr = pa.RecordBatchReader.from_stream(a)
    t = rdr.read_all()
    assert t.schema.names == [shm_name]
    assert t.column(0).type == typ
    assert t.column(0).to_pylist() == a.tolist()
    f = pa.field(a)
    assert f.type == typ and f.name == shm_name and not f.nullable
    assert f.metadata[b"mba.shape"] == b"[]"
    a.close()


def test_row_shape_is_fixed_size_list():
    a = mba.anon((0, 3), "i")
    a.extend([[1, 2, 3], [4, 5, 6], [-7, 8, 2 ** 31 - 1]])
    arr = pa.array(a)
    assert fsl(arr.type) == (pa.int32(), (3,))
    assert arr.to_pylist() == a.tolist()
    assert data_addr(arr) == a.buffer_info()[0]
    b = mba.anon((0, 2, 3), "d")
    b.extend([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]])
    arr = pa.array(b)
    assert fsl(arr.type) == (pa.float64(), (2, 3))
    assert arr.to_pylist() == b.tolist()
    assert data_addr(arr) == b.buffer_info()[0]
    t = pa.RecordBatchReader.from_stream(b).read_all()
    assert t.column(0).to_pylist() == b.tolist()
    a.close()
    b.close()


def test_copy_is_a_snapshot():
    a = mba.mmaparray("q", range(1000))
    live = pa.array(a)
    snap = pa.array(a.arrow(copy=True))
    assert snap.to_pylist() == list(range(1000))
    assert data_addr(snap) != a.buffer_info()[0]
    assert data_addr(live) == a.buffer_info()[0]
    a[0] = -5
    assert live[0].as_py() == -5
    assert snap[0].as_py() == 0  # the copy does not change
    a.close()


def test_slice_and_struct_exports():
    a = mba.mmaparray("I", range(10))
    s = pa.array(a.arrow(2, 7))
    assert s.to_pylist() == [2, 3, 4, 5, 6]
    assert data_addr(s) == a.buffer_info()[0] + 2 * 4
    assert pa.array(a.arrow(-3)).to_pylist() == [7, 8, 9]
    assert pa.array(a.arrow(5, 5)).to_pylist() == []
    rb = pa.record_batch(a.arrow(struct=True))
    assert rb.num_columns == 1 and rb.column(0).to_pylist() == list(range(10))
    a.close()


def test_consumer_outlives_close_and_delete(shm_name):
    a = mba.create(shm_name, 0, "d")
    a.extend([1.5, 2.5, 3.5])
    arr = pa.array(a)
    rdr = pa.RecordBatchReader.from_stream(a)
    a.close()
    mba.delete(shm_name)
    gc.collect()
    assert mapped(shm_name)  # the Arrow structs' release keeps it mapped
    assert arr.to_pylist() == [1.5, 2.5, 3.5]
    assert rdr.read_all().column(0).to_pylist() == [1.5, 2.5, 3.5]
    del arr, rdr
    gc.collect()
    assert not mapped(shm_name)  # released: unmapped


def test_unconsumed_capsules_release_the_mapping(shm_name):
    """A capsule no consumer takes still releases its struct (the capsule
    destructor), and a consumed one is released by the consumer, once."""
    a = mba.create(shm_name, 4, "i")
    caps = [a.__arrow_c_array__(), a.__arrow_c_stream__(), a.__arrow_c_schema__(),
            a.arrow(copy=True).__arrow_c_array__()]
    a.close()
    assert mapped(shm_name)
    del caps
    gc.collect()
    assert not mapped(shm_name)


def test_consumer_error_is_its_own(shm_name, py):
    """A consumer that refuses the export (a record batch needs a struct)
    raises its own error while our capsules die: they must neither replace
    it (a ctypes destructor would: SystemError) nor leak the mapping."""
    a = mba.create(shm_name, 3, "q")
    for _ in range(3):
        with pytest.raises(pa.ArrowInvalid, match="struct"):
            pa.record_batch(a)
    a.close()
    gc.collect()
    assert not mapped(shm_name)
    p = py("""
        import mba, pyarrow as pa
        a = mba.mmaparray('q', [1, 2])
        try:
            pa.record_batch(a)
        except pa.ArrowInvalid:
            print("ok")
    """)
    assert p.stdout.strip() == "ok" and p.stderr == "", p.stderr


def test_capsules_alive_at_interpreter_exit(py):
    """Capsules, streams and tails still alive when the interpreter ends
    are destroyed without a crash (their destructor and name outlive the
    module)."""
    p = py("""
        import mba, pyarrow as pa
        a = mba.mmaparray('i', [1, 2, 3])
        KEEP = [a.__arrow_c_array__(), a.__arrow_c_stream__(), a.arrow_tail(1.0),
                a.arrow_tail(1.0).read_next(), pa.array(a)]
        class Late:  # destroyed late in the shutdown, holding capsules
            def __del__(self, k=[a.__arrow_c_schema__()]):
                pass
        import builtins
        builtins._mba_late = Late()
        a.close()
        print("ok")
    """)
    assert p.stdout.strip() == "ok" and p.stderr == "", p.stderr


def test_other_interpreters_get_a_clear_error(py):
    """Capsules need ctypes.pythonapi (CPython): elsewhere (PyPy) the
    Arrow methods raise NotSupportedError; mba itself still loads, since
    only the methods import mba._arrow. (Run here by making CPython look
    like another implementation before the first Arrow call.)"""
    p = py("""
        import sys, types, mba
        a = mba.mmaparray('i', [1, 2])
        sys.implementation = types.SimpleNamespace(**dict(vars(sys.implementation), name="pypy"))
        try:
            a.__arrow_c_array__()
        except mba.NotSupportedError as e:
            print("refused:", e)
        print(a.tolist())
    """)
    assert "refused: the Arrow PyCapsule interface of mba needs CPython" in p.stdout
    assert "[1, 2]" in p.stdout


def test_ipc_round_trip_to_another_array():
    """How data leaves the node (ARROW.md): the zero-copy stream written as
    Arrow IPC, read back elsewhere into another array."""
    np = need("numpy")
    a = mba.mmaparray("d", [0.5 * i for i in range(1000)])
    sink = pa.BufferOutputStream()
    rdr = pa.RecordBatchReader.from_stream(a)
    with pa.ipc.new_stream(sink, rdr.schema) as w:
        for rb in rdr:
            w.write_batch(rb)
    t = pa.ipc.open_stream(sink.getvalue()).read_all()  # (on the other node)
    b = mba.anon(0, "d")
    b.frombytes(t.column(0).to_numpy())
    assert b.tolist() == a.tolist()
    assert np.asarray(b).sum() == sum(a)
    a.close()
    b.close()


def test_exports_racing_close_from_threads():
    """Threads export while another closes the array: each export either
    works (and its data stays valid) or raises ClosedError; no crash."""
    for _ in range(20):
        a = mba.mmaparray("q", range(1000))
        got, errors = [], []

        def export():
            for _ in range(50):
                try:
                    got.append(pa.array(a))
                    a.__arrow_c_stream__()
                except mba.ClosedError:
                    pass
                except Exception as e:  # pragma: no cover - reported below
                    errors.append(e)

        ts = [threading.Thread(target=export) for _ in range(3)]
        for t in ts:
            t.start()
        a.close()
        for t in ts:
            t.join()
        assert not errors
        for arr in got:
            assert arr[999].as_py() == 999


def test_closed_and_user_mmap_arrays_refuse():
    a = mba.mmaparray("i", [1])
    a.close()
    with pytest.raises(ValueError):
        pa.array(a)
    import mmap
    m = mmap.mmap(-1, 16)
    b = mba.mmaparray("i", mmap=m)
    with pytest.raises(mba.NotSupportedError, match="user mmap"):
        b.__arrow_c_array__()


def test_many_exports_do_not_leak_mappings(shm_name):
    a = mba.create(shm_name, 100, "f")
    for _ in range(2000):
        pa.array(a)
        a.__arrow_c_stream__()
    gc.collect()
    with open("/proc/self/maps") as f:
        assert sum(line.rstrip().endswith("/dev/shm/" + shm_name) for line in f) <= 2
    a.close()


# ------------------------------------------------- Polars and DuckDB

@pytest.mark.parametrize("tc", sorted(TYPES))
def test_polars(tc):
    pl = need("polars")
    typ, vals = TYPES[tc]
    a = mba.mmaparray(tc, vals)
    s = pl.Series(a)
    assert s.to_list() == a.tolist()
    assert s.to_arrow().type == typ
    # A DataFrame takes a record batch (Polars reads __arrow_c_array__
    # first and wants a struct there).
    df = pl.DataFrame(a.arrow(struct=True))
    assert df.columns == ["mba"] and df["mba"].to_list() == a.tolist()
    assert pl.from_arrow(a).to_list() == a.tolist()
    a.close()


def test_polars_row_shape():
    pl = need("polars")
    a = mba.anon((0, 2), "d")
    a.extend([[1, 2], [3, 4]])
    s = pl.Series(a)
    assert s.dtype == pl.Array(pl.Float64, 2)
    assert s.to_list() == [[1.0, 2.0], [3.0, 4.0]]
    a.close()


@pytest.mark.parametrize("tc", sorted(TYPES))
def test_duckdb_replacement_scan(tc):
    duckdb = need("duckdb")
    typ, vals = TYPES[tc]
    a = mba.mmaparray(tc, [v for v in vals if v == v and abs(v) != float("inf")])
    want = sum(a.tolist())
    got = duckdb.sql("select count(*), sum(x) from a as t(x)").fetchall()[0]
    assert got[0] == len(a)
    assert got[1] == pytest.approx(want) if tc in "fd" else got[1] == want
    tbl = pa.table({"x": a})  # noqa: F841 (DuckDB finds it by name)
    assert duckdb.sql("select sum(x) from tbl").fetchall()[0][0] == pytest.approx(want)
    a.close()


def test_duckdb_sees_the_array_grow():
    """Each query exports anew: rows appended since are in the next one."""
    duckdb = need("duckdb")
    a = mba.mmaparray("q", range(100))
    assert duckdb.sql("select sum(x) from a as t(x)").fetchall()[0][0] == 4950
    a.extend(range(100, 200))
    assert duckdb.sql("select sum(x) from a as t(x)").fetchall()[0][0] == 19900
    a.close()


# ------------------------------------------------- the live stream

@pytest.fixture(scope="module")
def c_writer(tmp_path_factory):
    cc = shutil.which("cc")
    lib = os.path.join(TARGET, "libmba.so")
    if not cc or not os.path.exists(lib):
        pytest.skip("needs cc and target/release/libmba.so")
    src = tmp_path_factory.mktemp("c") / "writer.c"
    src.write_text(textwrap.dedent(r"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        #include "mba.h"
        /* writer NAME N BURST: appends the int64s 0..N-1, pausing 2 ms
           after each BURST of them. */
        int main(int argc, char **argv) {
            mba_handle h;
            int rc = mba_open(argv[1], 0, MBA_TYPE_I64, &h);
            if (rc) { fprintf(stderr, "open: %s\n", mba_strerror(rc)); return 1; }
            long n = atol(argv[2]), burst = atol(argv[3]);
            for (long i = 0; i < n; i++) {
                int64_t v = i;
                if ((rc = mba_append(h, &v))) { fprintf(stderr, "append: %s\n", mba_strerror(rc)); return 1; }
                if ((i + 1) % burst == 0) usleep(2000);
            }
            return mba_close(h);
        }
    """))
    exe = str(src.parent / "writer")
    subprocess.run([cc, "-O1", "-o", exe, str(src), "-I", os.path.join(REPO, "include"),
                    "-L", TARGET, "-lmba", "-Wl,-rpath," + TARGET], check=True)
    return exe


N = 50000


def test_tail_sees_every_element_once(shm_name, c_writer):
    a = mba.create(shm_name, 0, "q")
    seq = a.seq
    w = subprocess.Popen([c_writer, "shm://" + shm_name, str(N), "499"])
    got, batches = [], 0
    try:
        # The tail starts at row 0 whenever it is made: made once the writer
        # has started, its timeout only has to cover the writer's pauses.
        a.wait(seq, timeout=30)
        tail = a.arrow_tail(timeout=2.0)
        for b in tail:
            rb = pa.record_batch(b)
            got.extend(rb.column(0).to_pylist())
            batches += 1
    finally:
        assert w.wait(60) == 0
    assert got == list(range(N))  # every element, once, in order
    assert batches > 1  # tailed while being written, not read at the end
    a.close()


def test_tail_through_pyarrow_reader(shm_name, c_writer):
    a = mba.create(shm_name, 0, "q")
    a.extend([-1, -2])  # published before the tail: its first batch
    seq = a.seq
    rdr = pa.RecordBatchReader.from_stream(a.arrow_tail(timeout=2.0))
    w = subprocess.Popen([c_writer, "shm://" + shm_name, str(N), "4999"])
    got = []
    try:
        a.wait(seq, timeout=30)
        a.close()  # the stream keeps the array mapped
        for rb in rdr:
            got.extend(rb.column(0).to_pylist())
    finally:
        assert w.wait(60) == 0
    assert got == [-1, -2] + list(range(N))


def test_tail_waits_with_the_gil_released():
    a = mba.mmaparray("i")
    tail = a.arrow_tail(timeout=0.5, struct=False)
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        t0 = time.monotonic()
        assert tail.read_next() is None  # nothing new within the timeout: the end
        waited = time.monotonic() - t0
    finally:
        stop.set()
        t.join()
    assert 0.4 < waited < 5
    assert ticks[0] > 1000  # the other thread ran meanwhile
    with pytest.raises(ValueError):
        a.arrow_tail(timeout=None)
    a.close()


def test_tail_wait_is_interruptible():
    """Ctrl-C during a tail's wait raises KeyboardInterrupt at once, not
    when the timeout ends (libmba ends the wait with an empty batch on a
    signal; read_next runs the handlers)."""
    a = mba.mmaparray("i", [1])
    tail = a.arrow_tail(timeout=20.0, struct=False)
    assert len(tail.read_next()) == 1
    # (Python leaves SIGINT ignored if it started so, as in a background job.)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            tail.read_next()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, old)
    assert time.monotonic() - t0 < 10
    a.append(2)  # the tail goes on after the interrupt
    assert pa.array(tail.read_next()).to_pylist() == [2]
    a.close()


def test_tail_plain_batches_and_handover():
    a = mba.mmaparray("H", [1, 2, 3])
    tail = a.arrow_tail(timeout=0.05, struct=False)
    b = tail.read_next()
    assert len(b) == 3
    arr = pa.array(b)
    assert arr.to_pylist() == [1, 2, 3]
    assert data_addr(arr) == get_ptr(a)  # zero-copy: the handle's own mapping
    a[0] = 9
    assert arr.to_pylist() == [9, 2, 3]
    with pytest.raises(ValueError):
        pa.array(b)  # a batch is handed over once
    a.extend([4, 5])
    assert pa.array(tail.read_next()).to_pylist() == [4, 5]
    assert tail.read_next() is None
    a.append(6)  # the end is not final: a tail resumes
    assert pa.array(tail.read_next()).to_pylist() == [6]
    assert tail.read_next() is None
    a.pop()
    t2 = a.arrow_tail(timeout=0.05, struct=False)
    cap = t2.__arrow_c_stream__()
    with pytest.raises(ValueError):
        t2.read_next()  # handed over to the capsule
    assert pa.chunked_array(_Stream(cap)).to_pylist() == [9, 2, 3, 4, 5]
    a.close()


class _Stream(object):
    def __init__(self, cap):
        self.cap = cap

    def __arrow_c_stream__(self, requested_schema=None):
        return self.cap


# ------------------------------------------- the engine table (ARROW.md)

class Raw(object):
    """An anonymous array of any element type made through the C API (the
    binding's mmaparray has no typecode for f16, bool, complex or records),
    exported by mba._arrow like an mmaparray."""

    def __init__(self, elem, data, item_size=0, row=(), flags=0):
        o = L.mba_options()
        L.check(L.options_init(ctypes.byref(o)))
        o.elem_type, o.item_size, o.ndim = elem, item_size, len(row)
        for i, d in enumerate(row):
            o.shape[i] = d
        h = ctypes.c_int32()
        L.check(L.anon_ex(ctypes.byref(o), ctypes.byref(h)))
        self.h = h.value
        rb = ctypes.c_uint64()
        L.check(L.row_bytes(self.h, ctypes.byref(rb)))
        L.check(L.extend(self.h, len(data) // rb.value, data))
        p = ctypes.c_void_p()
        L.check(L.get_ptr(self.h, ctypes.byref(p)))
        self.ptr = p.value
        self.flags = flags

    def _hold(self):
        return None, self.h

    def _fail(self, rc):
        raise L.error(rc)

    def __arrow_c_array__(self, requested_schema=None):
        return _arrow.export(self, 0, _arrow.ALL, self.flags)

    def __arrow_c_stream__(self, requested_schema=None):
        return _arrow.stream(self, _arrow.ARROW_STRUCT | self.flags)

    def close(self):
        L.close(self.h)


def _pk(fmt, vals):
    return struct.pack("=%d%s" % (len(vals), fmt), *vals)


# name: (elem type, bytes, item size, row shape, Arrow type,
#        pyarrow, Polars, DuckDB). Outcomes: "zero-copy" (the consumer's
# buffer is the array's memory), "copied" (the consumer converted it),
# "read" (DuckDB's scan read it; whether its vectors point into the buffer
# is not observable from Python), "refused"; "COPY " first: refused
# without MBA_ARROW_COPY, this with it.
ENGINE_TABLE = {
    "i8": (L.I8, _pk("b", [1, -2, 3]), 0, (), pa.int8(), "zero-copy", "zero-copy", "read"),
    "u8": (L.U8, _pk("B", [1, 2, 255]), 0, (), pa.uint8(), "zero-copy", "zero-copy", "read"),
    "i16": (L.I16, _pk("h", [1, -2, 3]), 0, (), pa.int16(), "zero-copy", "zero-copy", "read"),
    "u16": (L.U16, _pk("H", [1, 2, 3]), 0, (), pa.uint16(), "zero-copy", "zero-copy", "read"),
    "i32": (L.I32, _pk("i", [1, -2, 3]), 0, (), pa.int32(), "zero-copy", "zero-copy", "read"),
    "u32": (L.U32, _pk("I", [1, 2, 3]), 0, (), pa.uint32(), "zero-copy", "zero-copy", "read"),
    "i64": (L.I64, _pk("q", [1, -2, 3]), 0, (), pa.int64(), "zero-copy", "zero-copy", "read"),
    "u64": (L.U64, _pk("Q", [1, 2, 3]), 0, (), pa.uint64(), "zero-copy", "zero-copy", "read"),
    "f16": (L.F16, _pk("e", [1.5, -2, 3]), 0, (), pa.float16(), "zero-copy", "zero-copy",
            "refused"),
    "f32": (L.F32, _pk("f", [1.5, -2, 3]), 0, (), pa.float32(), "zero-copy", "zero-copy", "read"),
    "f64": (L.F64, _pk("d", [1.5, -2, 3]), 0, (), pa.float64(), "zero-copy", "zero-copy", "read"),
    "bool": (L.BOOL, bytes([1, 0, 1]), 0, (), pa.bool_(), "COPY copied", "COPY copied",
             "COPY read"),
    "complex64": (L.COMPLEX64, _pk("f", [1, 2, 3, 4, 5, 6]), 0, (), (pa.float32(), (2,)),
                  "zero-copy", "zero-copy", "read"),
    "complex128": (L.COMPLEX128, _pk("d", [1, 2, 3, 4, 5, 6]), 0, (), (pa.float64(), (2,)),
                   "zero-copy", "zero-copy", "read"),
    "record12": (L.RECORD, bytes(range(36)), 12, (), pa.binary(12), "zero-copy", "copied",
                 "read"),
    "f64x(2,3)": (L.F64, _pk("d", range(12)), 0, (2, 3), (pa.float64(), (2, 3)), "zero-copy",
                  "zero-copy", "read"),
}


def _consume(engine, r):
    """(outcome, the consumer's values as Python objects) of one export."""
    if engine == "pyarrow":
        x = pa.array(r)
        return ("zero-copy" if data_addr(x) == r.ptr else "copied"), x.to_pylist()
    if engine == "polars":
        pl = need("polars")
        s = pl.Series(r)
        return ("zero-copy" if data_addr(s.to_arrow()) == r.ptr else "copied"), s.to_list()
    duckdb = need("duckdb")
    rows = duckdb.sql("select c from r as t(c)").fetchall()
    return "read", [row[0] for row in rows]


@pytest.mark.parametrize("engine", ["pyarrow", "polars", "duckdb"])
@pytest.mark.parametrize("case", sorted(ENGINE_TABLE))
def test_engine_table(case, engine):
    """The per element type and engine table of docs/ARROW.md, measured."""
    elem, data, isz, row, typ, *want = ENGINE_TABLE[case]
    want = want[["pyarrow", "polars", "duckdb"].index(engine)]
    copy = want.startswith("COPY ")
    want = want[5:] if copy else want
    r = Raw(elem, data, isz, row)
    try:
        if copy:  # refused zero-copy; the copying export works
            with pytest.raises(Exception):
                _consume(engine, r)
            r.flags = _arrow.ARROW_COPY
        if want == "refused":
            with pytest.raises(Exception, match="(?i)unsupported|not implemented"):
                _consume(engine, r)
            return
        got, vals = _consume(engine, r)
        assert got == want
        expect = pa.array(Raw(elem, data, isz, row, _arrow.ARROW_COPY)).to_pylist()
        if engine == "pyarrow":
            t = pa.array(r).type
            assert (fsl(t) if isinstance(typ, tuple) else t) == typ
        assert _plain(vals) == _plain(expect)
    finally:
        r.close()


def _plain(v):
    """Nested lists/tuples/arrays of numbers and bytes as nested lists."""
    if isinstance(v, (bytes, bytearray, str, int, float, bool)) or v is None:
        return v
    try:
        return [_plain(x) for x in v]
    except TypeError:
        return v

"""mmaparray's array.array API: the sequence protocol, conversions,
comparisons, arithmetic, copying and pickling."""

import array as _array
import itertools
import ctypes
import operator
import sys

from ctypes import byref

from . import _lib as L
from ._types import (  # noqa: F401
    _SAME_FORMAT, _as_index, _closed, _position, _CHARS,
)

_index = operator.index

from . import _core


class _SeqMixin(object):
    """The array.array API of mmaparray (see _core)."""
    __slots__ = ()

    # ------------------------------------------------- array.array API

    @property
    def typecode(self):
        """The typecode character used to create the array."""
        return self._tc

    @property
    def itemsize(self):
        """The length in bytes of one element."""
        return self._isz

    def _py_len(self):
        try:
            n = self._len[0]
        except IndexError:
            return self._n()
        if n <= self._cap:
            return n
        return self._refresh()

    def _py_getitem(self, i):
        if L.guard_on:
            self._check_guard()
        try:
            if i < self._len[0] and i >= 0:
                return self._mv[i]
        except (TypeError, IndexError):
            pass
        return self._getitem(i)

    def _check_guard(self):
        # The SIGBUS guard is on: the bridge's guarded read may have found
        # this mapping truncated by another process (and sent us here); the
        # views below would read its zero pages, or fault. One library call.
        n = ctypes.c_uint64()
        if L.len_(self._h, byref(n)) == L.E_TRUNCATED:
            raise L.error(L.E_TRUNCATED)

    def _getitem(self, i):
        if isinstance(i, slice):
            self._need_flat("slicing")
            n = self._n()
            t = _array.array(self._tc)
            m = self._mv[:n][i]
            if self._closed:
                # Closed by another thread after _n(): the views are gone.
                raise _closed()
            t.frombytes(m.cast("B") if m.c_contiguous else m.tobytes())
            return t
        if isinstance(i, tuple) and self._row:
            return self._get_tuple(i)
        i = _position(_as_index(i), self._n(), "array")
        try:
            if self._row:
                return self._row_at(i)
            return self._mv[i]
        except (IndexError, TypeError):
            if self._closed:  # (by another thread, after _n())
                raise _closed()
            raise

    def _py_setitem(self, i, v):
        if self._closed:
            raise _closed()
        if isinstance(i, slice):
            return self._setslice(i, v)
        if isinstance(i, tuple) and self._row:
            return self._set_tuple(i, v)
        i = _position(_as_index(i), self._n(), "array assignment")
        if self._row:
            m, k = self._rows_from(v)
            if k != 1:
                raise ValueError("a row of shape %r is needed" % (self._row,))
            return self._p_write(i, m, 1)
        self._p_set1(i, v)

    def _tuple_at(self, key, what):
        """(row, offset of the element in the row) for a numpy-style full
        integer index (i, j, ...) of a row-shaped array; a shorter tuple
        gives (row, None, rest) to index the row's nested lists."""
        if not key or len(key) > 1 + len(self._row):
            raise IndexError("too many indices for an array of shape %r" % (self.shape,))
        i = _position(_as_index(key[0]), self._n(), what)
        rest = [_as_index(k) for k in key[1:]]
        if len(rest) < len(self._row):
            return i, None, rest
        off = 0
        for k, d in zip(rest, self._row):
            if not -d <= k < d:
                raise IndexError("index %d is out of bounds for axis of size %d" % (k, d))
            off = off * d + (k % d)
        return i, off, rest

    def _get_tuple(self, key):
        i, off, rest = self._tuple_at(key, "array")
        if off is None:
            r = self._row_at(i)
            for k in rest:
                r = r[k]
            return r
        rb = self._rb
        return self._mvb[i * rb:(i + 1) * rb].cast(self._tc)[off]

    def _set_tuple(self, key, v):
        """a[i, j, ...] = v: one element of a row-shaped array (numpy
        style), written as its row under the array's lock."""
        i, off, rest = self._tuple_at(key, "array assignment")
        if off is None:
            raise TypeError("assignment needs one index per dimension (%d)"
                            % (1 + len(self._row)))
        with self._batch():
            rb = self._rb
            t = _array.array(self._tc)
            t.frombytes(self._mvb[i * rb:(i + 1) * rb])
            t[off] = v  # array.array's conversion and errors
            self._p_write(i, t, 1)

    def _setslice(self, s, v):
        self._need_flat("slice assignment")
        if isinstance(v, _core.mmaparray):
            if v._tc != self._tc:
                raise TypeError("bad argument type for built-in operation")
            v = v._snapshot()
        elif not isinstance(v, _array.array) or v.typecode != self._tc:
            b = self._same_buffer(v)
            if b is not None:
                return self._setslice(s, b)
            t = _array.array(self._tc)
            t[0:0] = v  # raises array.array's own TypeError
            raise TypeError("bad argument type for built-in operation")
        with self._batch():
            n = self._n()
            start, stop, step = s.indices(n)
            if step == 1:
                if stop < start:
                    stop = start
                k, m = stop - start, len(v)
                if m == k:
                    self._p_write(start, v, m)
                elif m > k:
                    self._p_write(start, v[:k], k)
                    self._p_insert(stop, v[k:], m - k)
                else:
                    self._p_write(start, v, m)
                    self._p_remove(start + m, k - m)
                return
            t = self._snapshot(n)
            t[s] = v  # array.array's checks and semantics
            self._write_back(t, n, s)

    def _same_buffer(self, v):
        """An array.array copy of v if v is a one-dimensional buffer of
        exactly this array's element type (numpy arrays, memoryviews);
        else None. An array.array keeps array.array's rule (the same
        typecode: 'l' and 'q' differ), and bytes are not elements."""
        if isinstance(v, (bytes, bytearray, str, _array.array)):
            return None
        try:
            m = memoryview(v)
        except TypeError:
            return None
        if m.ndim != 1 or m.format not in _SAME_FORMAT[self._tc]:
            return None
        t = _array.array(self._tc)
        t.frombytes(m.cast("B") if m.c_contiguous else m.tobytes())
        return t

    def _write_back(self, t, n, s):
        """Writes the local copy t (of a length-n array changed at the
        indexes of slice s) back from its first changed index."""
        idx = range(*s.indices(n))
        if idx:
            lo = min(idx[0], idx[-1])
        elif len(t) == n:
            return
        else:
            lo = 0  # (PyPy's array.array inserts into an empty extended slice)
        m = min(len(t), n)
        if m > lo:
            self._p_write(lo, t[lo:m], m - lo)
        if len(t) > n:
            self._p_extend(t[n:], len(t) - n)
        elif len(t) < n:
            self._p_truncate(len(t))

    def _py_delitem(self, i):
        if isinstance(i, slice):
            self._need_flat("slice deletion")
            with self._batch():
                n = self._n()
                start, stop, step = i.indices(n)
                if step == 1:
                    if stop > start:
                        self._p_remove(start, stop - start)
                    return
                t = self._snapshot(n)
                del t[i]
                self._write_back(t, n, i)
            return
        i = _as_index(i)
        with self._batch():
            self._p_remove(_position(i, self._n(), "array assignment"), 1)

    def extend(self, iterable):
        """Append items from iterable (an array of the same typecode, any
        buffer of the same element format, or any iterable)."""
        if self._closed:
            raise _closed()
        if self._row:
            m, k = self._rows_from(iterable)
            return self._p_extend(m, k)
        tc = self._tc
        if isinstance(iterable, _core.mmaparray):
            if iterable._tc != tc:
                raise TypeError("can only extend with array of same kind")
            src = iterable._snapshot() if iterable is self else iterable.view()
            return self._p_extend(src, len(src))
        if isinstance(iterable, _array.array):
            if iterable.typecode != tc:
                raise TypeError("can only extend with array of same kind")
            return self._p_extend(iterable, len(iterable))
        if not isinstance(iterable, (str, list, tuple)):
            try:
                m = memoryview(iterable)
            except TypeError:
                m = None
            if (m is not None and m.ndim == 1 and m.c_contiguous
                    and m.format in _SAME_FORMAT[tc]):
                return self._p_extend(m, len(m))
        t = _array.array(tc)
        try:
            t.extend(iterable)
        finally:
            # array.array keeps the items converted before an error.
            self._p_extend(t, len(t))

    def insert(self, i, v):
        """Insert a new item v into the array before position i."""
        if self._closed:
            raise _closed()
        i = _index(i)
        if self._row:
            m, k = self._rows_from(v)
            if k != 1:
                raise ValueError("a row of shape %r is needed" % (self._row,))
        else:
            m = self._pack1(v)
        with self._batch():
            n = self._n()
            if i < 0:
                i += n
                if i < 0:
                    i = 0
            if i > n:
                i = n
            self._p_insert(i, m, 1)

    def pop(self, i=-1):
        """Return the i-th element and delete it from the array."""
        if self._closed:
            raise _closed()
        i = _index(i)
        if i == -1:
            b = self._p_pop()
            if self._row:
                return memoryview(b).cast(self._tc, self._row).tolist()
            return memoryview(b).cast(self._tc)[0]
        with self._batch():
            n = self._n()
            if n == 0:
                raise IndexError("pop from empty array")
            i = _position(i, n, "pop")
            v = self._row_at(i) if self._row else self._mv[i]
            self._p_remove(i, 1)
        return v

    def remove(self, v):
        """Remove the first occurrence of v in the array."""
        self._need_flat("remove()")
        with self._batch():
            try:
                i = self._snapshot().index(v)
            except ValueError:
                raise ValueError("array.remove(x): x not in array")
            self._p_remove(i, 1)

    def index(self, v, start=0, stop=sys.maxsize):
        """Return index of first occurrence of v in the array."""
        self._need_flat("index()")
        try:
            return self.tolist().index(v, start, stop)
        except ValueError:
            raise ValueError("array.index(x): x not in array")

    def count(self, v):
        """Return number of occurrences of v in the array."""
        self._need_flat("count()")
        return self.tolist().count(v)

    def reverse(self):
        """Reverse the order of the items in the array."""
        self._need_flat("reverse()")
        with self._batch():
            t = self._snapshot()
            t.reverse()
            self._p_write(0, t, len(t))

    def byteswap(self):
        """Byteswap all items of the array."""
        with self._batch():
            n = self._n()
            t = _array.array(self._tc)
            t.frombytes(self._mvb[:n * self._rb])
            t.byteswap()
            self._p_write(0, t, n)

    def buffer_info(self):
        """Return a tuple (address, length) giving the current memory
        address and the length in elements (rows) of the buffer."""
        n = self._n()
        return (self._ptr, n)

    def tobytes(self):
        """Convert the array to an array of machine values and return the
        bytes representation."""
        n = self._n()
        return self._mvb[:n * self._rb].tobytes()

    def frombytes(self, b):
        """Appends items from the bytes-like object b, as machine values."""
        if self._closed:
            raise _closed()
        try:
            m = memoryview(b)
        except TypeError:
            _array.array(self._tc).frombytes(b)  # raises its TypeError
            raise
        nb = m.nbytes
        if nb % self._isz:
            raise ValueError("bytes length not a multiple of item size")
        if nb % self._rb:
            raise ValueError("bytes length not a multiple of the row size (%d)" % self._rb)
        if not m.c_contiguous:
            m = memoryview(m.tobytes())
        self._p_extend(m, nb // self._rb)

    def fromunicode(self, s):
        """Extends the array ('u' or 'w') with the characters of str s."""
        if self._closed:
            raise _closed()
        t = _array.array(self._tc)
        t.fromunicode(s)  # array.array's checks and errors
        self._p_extend(t, len(t))

    def tounicode(self):
        """The characters of the array ('u' or 'w') as a str."""
        return self._snapshot().tounicode()

    def tolist(self):
        """Convert array to an ordinary list with the same items."""
        n = self._n()
        if self._row:
            if n == 0:
                return []
            return self._mvb[:n * self._rb].cast(self._tc, (n,) + self._row).tolist()
        return self._mv[:n].tolist()

    def fromlist(self, lst):
        """Append items to array from list."""
        if self._closed:
            raise _closed()
        t = _array.array(self._tc)
        if self._row:
            if not isinstance(lst, list):
                raise TypeError("arg must be list")
            m, k = self._rows_from(lst)
            return self._p_extend(m, k)
        t.fromlist(lst)
        self._p_extend(t, len(t))

    def tofile(self, f):
        """Write all items (as machine values) to the file object f."""
        n = self._n() * self._rb
        m = self._user_bytes(n)
        step = 1 << 20
        if n == 0:
            f.write(b"")
        for i in range(0, n, step):
            f.write(m[i:i + step])

    def fromfile(self, f, n):
        """Read n objects from the file object f and append them to the
        end of the array."""
        if self._closed:
            raise _closed()
        t = _array.array(self._tc)
        try:
            t.fromfile(f, n)
        finally:
            if len(t):
                self.frombytes(t)

    def __iter__(self):
        return _Iter._at(self, 0)

    def __contains__(self, v):
        n = self._n()
        if self._row:
            return v in self.tolist()
        return v in self._mv[:n]

    # comparisons and operators, with array.array semantics

    def _other(self, other):
        if isinstance(other, _core.mmaparray):
            return other._snapshot() if not other._row else other.tolist()
        if isinstance(other, _array.array):
            return other
        return None

    def _me(self):
        return self.tolist() if self._row else self._snapshot()

    def __eq__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() == o

    def __ne__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() != o

    def __lt__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() < o

    def __le__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() <= o

    def __gt__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() > o

    def __ge__(self, other):
        o = self._other(other)
        return NotImplemented if o is None else self._me() >= o

    __hash__ = None

    def __add__(self, other):
        self._need_flat("+")
        if isinstance(other, _core.mmaparray):
            other = other._snapshot()
        return self._snapshot() + other

    def __radd__(self, other):
        if isinstance(other, _array.array):
            self._need_flat("+")
            return other + self._snapshot()
        return NotImplemented

    def __mul__(self, n):
        self._need_flat("*")
        return self._snapshot() * n

    __rmul__ = __mul__

    def __iadd__(self, other):
        if self._closed:
            raise _closed()
        if isinstance(other, (_core.mmaparray, _array.array)):
            if other.typecode != self._tc:
                raise TypeError("can only extend with array of same kind")
            self.extend(other)
            return self
        raise TypeError('can only extend array with array (not "%s")'
                        % type(other).__name__)

    def __imul__(self, n):
        self._need_flat("*=")
        with self._batch():
            t = self._snapshot()
            r = t * n  # array.array's checks
            if len(r) < len(t):
                self._p_truncate(0)
            else:
                self._p_extend(r[len(t):], len(r) - len(t))
        return self

    def __repr__(self):
        if self._closed:
            return "<closed %s '%s'>" % (type(self).__name__, self._tc
                                          if hasattr(self, "_tc") else "?")
        if self._row:
            return "mmaparray('%s', shape=%r, %r)" % (
                self._tc, (len(self),) + self._row, self.tolist())
        return repr(self._snapshot())

    def __copy__(self):
        """A private copy: a plain array.array (a row-shaped array gives an
        anonymous mmaparray)."""
        if self._row:
            return self._anon_copy()
        return self._snapshot()

    def __deepcopy__(self, memo):
        return self.__copy__()

    def _anon_copy(self):
        return _core.anon((0,) + self._row, self._tc)._fill(self.tobytes())

    def _fill(self, b):
        self.frombytes(b)
        return self

    def __reduce_ex__(self, protocol):
        """Named arrays pickle by reference (unpickling attaches); anonymous
        ones by value, as a new anonymous array of the same class with the
        same contents (carried as an array.array: portable like its
        pickles) and the same instance __dict__ (a subclass's attributes)."""
        if self._closed:
            raise _closed()
        if self._ref is not None:
            ref = self._ref
            if ref[0] == "open":  # the identity now, to detect a replacement
                ref = ref + (self.uuid,)
            return (_core._attach_ref, (ref, self._tc))
        items = _array.array(self._tc)
        items.frombytes(self.tobytes())
        return (_core._anon_rebuild, (type(self), self._tc, self._row, items),
                getattr(self, "__dict__", None) or None)

    def __reduce__(self):
        return self.__reduce_ex__(2)




_first = operator.itemgetter(0)


class _Iter(itertools.chain):
    """mmaparray's iterator: a C-level chain over chunks of at most 4096
    items, each item read live from the mapping when it is reached (as
    array.array's iterator reads its buffer), which pickles like
    array.array's: the array and the position."""
    __slots__ = ("_a", "_st")

    @classmethod
    def _at(cls, a, pos):
        st = [None, pos]  # the current chunk's range iterator, its stop
        self = cls.from_iterable(_chunks(a, pos, st))
        self._a = a
        self._st = st
        return self

    def _pos(self):
        r, stop = self._st
        return stop if r is None else stop - r.__length_hint__()

    def __reduce__(self):
        return (_core._iter_at, (self._a, self._pos()))


def _chunks(a, i, st):
    """The chunks an _Iter chains, each driven by a range iterator kept in
    st with the chunk's stop, so that the iterator knows its position."""
    while True:
        n = a._n()
        if i >= n:
            return
        j = min(n, i + 4096)
        r = iter(range(j - i))
        if a._row:
            rb, tc, row = a._rb, a._tc, a._row
            chunk = a._mvb[i * rb:j * rb]  # pinned, like the flat case
            st[0], st[1] = r, j
            yield (chunk[k * rb:(k + 1) * rb].cast(tc, row).tolist() for k in r)
        else:
            # Each chunk view keeps the mapping pinned while iterating; zip
            # takes an item, then a count from r (C speed, ~ as fast as a
            # generator's yield from).
            st[0], st[1] = r, j
            items = map(_first, zip(a._mv[i:j], r))
            yield map(chr, items) if a._tc in _CHARS else items
        i = j

"""Typecodes 'u' and 'w': arrays of characters.

The library stores them as unsigned integers of their size (u32 for
UCS-4: FORMAT.md has no character type); these classes read them back as
1-character str and convert what is written exactly as array.array does
(its own conversion and errors: see mmaparray._pack1). mmaparray('u')
returns a _CharArray (mmaparray('u', mmap=m) a _CharMmapArray), as
mmaparray(tc, mmap=m) returns an _MmapArray. They take their a[i],
a[i] = v and append from Python, never from the CPython bridge, whose
slots would read and write the integers.
"""

import operator

from . import _lib as L
from ._core import mmaparray
from ._open import _MmapArray
from ._seq import _SeqMixin
from ._types import _closed, _position

_index = operator.index


class _CharMixin(object):
    __slots__ = ()

    def __getitem__(self, i):
        v = _SeqMixin._py_getitem(self, i)
        return chr(v) if type(v) is int else v

    def __setitem__(self, i, v):
        _SeqMixin._py_setitem(self, i, v)

    def __delitem__(self, i):
        _SeqMixin._py_delitem(self, i)

    def __len__(self):
        return _SeqMixin._py_len(self)

    def append(self, v):
        """Append a new item (a 1-character str) to the end of the array."""
        self._p_extend(self._pack1(v), 1)

    def _p_set1(self, i, v):
        self._p_write(i, self._pack1(v), 1)

    def tolist(self):
        """Convert array to an ordinary list with the same items."""
        return self._snapshot().tolist()

    def __contains__(self, v):
        return v in self._snapshot()

    def pop(self, i=-1):
        """Return the i-th element and delete it from the array."""
        if self._closed:
            raise _closed()
        i = _index(i)
        with self._batch():
            n = self._n()
            if n == 0:
                raise IndexError("pop from empty array")
            i = _position(i, n, "pop")
            v = chr(self._mv[i])
            self._p_remove(i, 1)
        return v


class _CharArray(_CharMixin, mmaparray):
    """An mmaparray of typecode 'u' or 'w' (see _chars)."""
    __slots__ = ()


class _CharMmapArray(_CharMixin, _MmapArray):
    """An mmaparray of typecode 'u' or 'w' over a user mmap."""
    __slots__ = ()


_CLASSES = {mmaparray: _CharArray, _MmapArray: _CharMmapArray,
            _CharArray: _CharArray, _CharMmapArray: _CharMmapArray}


def _char_class(cls):
    """The class of a new 'u'/'w' array asked for as cls."""
    try:
        return _CLASSES[cls]
    except KeyError:
        raise L.NotSupportedError(
            "typecodes 'u' and 'w' are not supported in subclasses of "
            "mmaparray (%s); use mmaparray itself" % cls.__name__) from None

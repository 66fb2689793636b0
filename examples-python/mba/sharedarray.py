"""A drop-in for the SharedArray package: `import mba.sharedarray as sa`.

create(name, shape, dtype=float), attach(name, ro=False), delete(name)
and list() have SharedArray's signatures and return numpy.ndarrays (list:
entries with name, dtype, dims). The ndarray's base is a small object,
as in SharedArray, with msync(flags), mlock(), munlock(), name, addr and
size; it holds the array (and its mapping) for as long as numpy holds it.
msync/mlock/munlock also exist as module functions taking the ndarray.

Differences (libmba's secure defaults, see README.md): segments are made
with mode 0600, not 0666, so only the creating user can attach them
(SharedArray relies on the umask); attach checks that the segment is a
libmba array (mba.FormatError, a ValueError, otherwise); and the element types are libmba's (numpy
integer and float types: bool, complex and structured dtypes raise
TypeError).
"""

import collections

import numpy

from . import _lib as L
from ._core import mmaparray  # noqa: F401 (the type behind every array)
from ._open import attach as _attach, create as _create, delete as _delete
from ._open import list_arrays as _list_arrays

MS_ASYNC = L.ASYNC
MS_SYNC = L.SYNC
MS_INVALIDATE = L.INVALIDATE

ArrayDesc = collections.namedtuple("ArrayDesc", "name dtype dims")


class map_owner(object):
    """The base object of the ndarrays this module returns (SharedArray's
    has this name): it keeps the mapping alive while numpy holds it."""
    __slots__ = ("_a", "name", "__weakref__")

    def __init__(self, a, name):
        self._a = a
        self.name = name

    @property
    def __array_interface__(self):
        return self._a.__array_interface__

    @property
    def addr(self):
        return self._a.buffer_info()[0]

    @property
    def size(self):
        return self._a.nbytes

    def msync(self, flags=MS_SYNC):
        """msync(2) of the mapping (useful for file:// arrays)."""
        self._a.flush(flags)

    def mlock(self):
        self._a.mlock()

    def munlock(self):
        self._a.munlock()


def _ndarray(a, name):
    return numpy.asarray(map_owner(a, name))


def _shape(shape):
    if isinstance(shape, int) or hasattr(shape, "__index__"):
        return (int(shape),)
    return tuple(int(x) for x in shape)


def create(name, shape, dtype=float):
    """A zero-filled shared array of shape and dtype named name
    ("shm://NAME" or a bare NAME, or "file://PATH"), as an ndarray.
    FileExistsError if it exists."""
    a = _create(name, _shape(shape), dtype)
    return _ndarray(a, name)


def attach(name, ro=False):
    """The shared array named name, as an ndarray (read-only with ro)."""
    return _ndarray(_attach(name, readonly=bool(ro)), name)


def delete(name):
    """Remove the name; arrays already attached stay valid."""
    _delete(name)


def list():  # noqa: A001 - SharedArray's name
    """The arrays in /dev/shm this user can attach, as a tuple (as
    SharedArray's) of ArrayDesc(name
    (bytes, without "shm://", as SharedArray gives it), dtype (a numpy
    scalar type), dims (the shape))."""
    out = []
    for full in _list_arrays():
        try:
            a = _attach(full, readonly=True)
        except (OSError, L.MBAError):
            continue  # another user's, or not an array any more
        try:
            out.append(ArrayDesc(full[len("shm://"):].encode(),
                                 numpy.dtype(a.typecode).type, a.shape))
        finally:
            a.close()
    return tuple(out)


def _base(array):
    b = array
    while b is not None and not isinstance(b, map_owner):
        b = getattr(b, "base", None)
    if b is None:
        raise ValueError("not an array from mba.sharedarray")
    return b


def msync(array, flags=MS_SYNC):
    _base(array).msync(flags)


def mlock(array):
    _base(array).mlock()


def munlock(array):
    _base(array).munlock()

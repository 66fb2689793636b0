"""mba: memory-backed arrays for Python (a ctypes binding of libmba).

    from mba import mmaparray
    a = mmaparray('I', [1, 2, 3, 4])          # array.array API, anonymous
    s = mba.create('shm://table', (1000, 3), 'd')   # named, SharedArray-like
    b = mba.attach('table')                   # from any process
    numpy.asarray(b)                          # zero copy, shape (1000, 3)

See README.md for the lifetime and pickling rules.
"""

from ._lib import (  # noqa: F401
    ADVISE_NORMAL, ADVISE_RANDOM, ADVISE_SEQUENTIAL, ADVISE_WILLNEED,
    ASYNC, INVALIDATE, SYNC, MBAError, ClosedError, ArgumentError,
    ElementTypeError, FormatError, ReadOnlyError, NoSpaceError, FullError,
    ExistsError, NotFoundError, NotSupportedError, EmptyError, BusyError,
    OwnerError, version_string as library_version, path as library_path,
)
from ._core import (  # noqa: F401
    mmaparray, typecodes, typecode_of, create, attach, delete, list_arrays,
    open, anon, from_fd, map_raw, sigbus_guard,
)

__version__ = "0.3.1"

array = mmaparray


def list():  # noqa: A001 - SharedArray's name
    """The names of the arrays in /dev/shm, as "shm://NAME" strings."""
    return list_arrays()


__all__ = [
    "mmaparray", "array", "typecodes", "create", "attach", "delete", "list",
    "open", "anon", "from_fd", "map_raw", "SYNC", "ASYNC", "INVALIDATE",
    "ADVISE_NORMAL", "ADVISE_RANDOM", "ADVISE_SEQUENTIAL", "ADVISE_WILLNEED",
    "MBAError", "ClosedError", "ReadOnlyError", "FullError", "NotFoundError",
    "ExistsError", "ElementTypeError", "ArgumentError", "FormatError",
    "NoSpaceError", "NotSupportedError", "EmptyError", "BusyError",
    "OwnerError", "typecode_of", "list_arrays", "library_version", "library_path",
    "sigbus_guard",
]

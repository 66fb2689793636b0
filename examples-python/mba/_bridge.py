"""The CPython fast path: mmaparray's base class.

When the extension module mba._ext (built with the package from
examples-python/ext, a PyO3 crate) is importable, mmaparray derives from
its ``Base``: ``a[i]``, ``a[i] = v``, ``len(a)`` and ``append`` are then C
slots that do the common case (a live handle, a flat array of a numeric
typecode, an exact int or float, an index in range, an append that needs
neither a wait nor growth) with one call into libmba, and call the Python
methods ``_py_append``, ``_py_getitem``, ``_py_setitem``, ``_py_delitem``
and ``_py_len`` for everything else: those stay the reference, so results
and exceptions are the same either way. ``Base`` also carries the buffer
protocol on every Python version (memoryview(a), bytes(a),
numpy.frombuffer(a), f.write(a)): an export is ``a.view()``, which pins
the mapping.

The extension calls the very libmba.so that mba._lib loaded (it is bound
to it by path, and refuses a library not already in the process), so one
process has one handle table and one mapping cache whichever path opened
an array.

Without the extension (PyPy, a free-threaded CPython, a build without it)
or with MBA_PY_EXT=0 (MBA_PY_BRIDGE=0, its former name, is an alias),
``Base`` is a plain class and mmaparray uses its Python methods directly
(the pure-ctypes path).
"""

import os
import sys
import sysconfig

from . import _lib as L


class PyBase(object):
    """mmaparray's base when the extension is not used: the handle slot."""
    __slots__ = ("_h",)


def _make():
    """(base class, None) or (PyBase, why the extension is not used)."""
    for var in ("MBA_PY_EXT", "MBA_PY_BRIDGE"):
        if os.environ.get(var, "1") == "0":
            return PyBase, "%s=0" % var
    if sys.implementation.name != "cpython":
        return PyBase, "not CPython"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return PyBase, "free-threaded CPython"
    try:
        from . import _ext
    except ImportError as e:
        return PyBase, "no extension module mba._ext (%s)" % e
    try:
        _ext.bind(L.path)
    except Exception as e:  # (a library the loader cannot find again)
        return PyBase, "mba._ext cannot use %s: %s" % (L.path, e)
    return _ext.Base, None


# Base: mmaparray's base class. reason: why the extension is not used, or
# None. active: whether it is.
Base, reason = _make()
active = reason is None


def guard(on):
    """Tells the extension that libmba's SIGBUS guard is on or off (called
    by mba.sigbus_guard): with it on, a[i] reads through the library, which
    the guard covers, instead of straight from the mapping."""
    if active:
        from . import _ext
        _ext.set_guard(bool(on))

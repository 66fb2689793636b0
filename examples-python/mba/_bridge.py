"""The CPython bridge of libmba (mba_py_bridge in mba.h).

libmba carries a small base type for mmaparray, described by a
PyType_Spec: its ``a[i]``, ``a[i] = v`` and ``len(a)`` slots and its
``append`` method are functions of the library, so these calls run no
Python frame and no ctypes call. They do the common case only (a live
handle, a flat array, an exact int or float, an index in range, a write
that needs neither a wait nor growth) and call the Python methods
``_py_append``, ``_py_getitem``, ``_py_setitem``, ``_py_delitem`` and
``_py_len`` for everything else: those stay the reference, so results and
exceptions are the same either way.

Nothing is compiled here: libmba does not link against libpython; this
module gives it the addresses of the CPython functions it uses, taken from
ctypes.pythonapi, then makes the type with PyType_FromSpec. Used only on
CPython with the GIL, when the object header has the layout the bridge
reads, and unless MBA_PY_BRIDGE=0; otherwise Base is a plain class and
mmaparray uses its Python methods directly.
"""

import ctypes
import os
import sys
import sysconfig

from ctypes import byref, c_size_t, c_void_p, py_object

from . import _lib as L

# Order and names as in struct mba_py_api.
_OBJECTS = ("none", "int_type", "float_type", "type_error", "name_append",
            "name_getitem", "name_len", "name_setitem", "name_delitem")
_FUNCTIONS = (
    ("long_as_long_long_and_overflow", "PyLong_AsLongLongAndOverflow"),
    ("long_as_unsigned_long_long", "PyLong_AsUnsignedLongLong"),
    ("long_from_long_long", "PyLong_FromLongLong"),
    ("long_from_unsigned_long_long", "PyLong_FromUnsignedLongLong"),
    ("float_as_double", "PyFloat_AsDouble"),
    ("float_from_double", "PyFloat_FromDouble"),
    ("err_occurred", "PyErr_Occurred"),
    ("err_clear", "PyErr_Clear"),
    ("err_set_string", "PyErr_SetString"),
    ("inc_ref", "Py_IncRef"),
    ("dec_ref", "Py_DecRef"),
    ("object_call_method_obj_args", "PyObject_CallMethodObjArgs"),
    ("type_get_slot", "PyType_GetSlot"),
)
# The Python methods the bridge falls back to.
FALLBACKS = ("_py_append", "_py_getitem", "_py_len", "_py_setitem",
             "_py_delitem")


class mba_py_api(ctypes.Structure):
    _fields_ = ([("struct_size", c_size_t), ("ob_type_offset", c_size_t),
                 ("object_size", c_size_t)] +
                [(n, c_void_p) for n in _OBJECTS] +
                [(n, c_void_p) for n, _ in _FUNCTIONS])


class PyBase(object):
    """mmaparray's base when the bridge is not used: the handle slot."""
    __slots__ = ("_h",)


def _ob_type_offset():
    """Where ob_type lies in an object header: right after ob_refcnt in
    the default build; None if live objects disagree (debug and
    free-threaded builds have other headers)."""
    off = ctypes.sizeof(ctypes.c_ssize_t)
    for o in (0, 1 << 70, 1.5, "s", None, (), int, ctypes):
        if c_void_p.from_address(id(o) + off).value != id(type(o)):
            return None
    return off


def _make():
    """(base class, None) or (PyBase, why the bridge is not used)."""
    if os.environ.get("MBA_PY_BRIDGE", "1") == "0":
        return PyBase, "MBA_PY_BRIDGE=0"
    if sys.implementation.name != "cpython":
        return PyBase, "not CPython"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return PyBase, "free-threaded CPython"
    try:
        # Through the PyDLL: the bridge must be called with the GIL held.
        bridge = L.pylib.mba_py_bridge
        api = ctypes.pythonapi
        fns = [ctypes.cast(getattr(api, c), c_void_p).value for _, c in _FUNCTIONS]
        from_spec = api.PyType_FromSpec
    except AttributeError as e:
        return PyBase, "missing: %s" % e
    off = _ob_type_offset()
    if off is None:
        return PyBase, "unknown object header layout"
    objs = [None, int, float, TypeError] + [sys.intern(n) for n in FALLBACKS]
    t = mba_py_api(ctypes.sizeof(mba_py_api), off, object.__basicsize__,
                   *([id(o) for o in objs] + fns))
    bridge.argtypes = [ctypes.POINTER(mba_py_api), ctypes.POINTER(c_void_p)]
    bridge.restype = ctypes.c_int
    spec = c_void_p()
    # (libmba takes its own references to the objects.)
    rc = bridge(byref(t), byref(spec))
    if rc:
        return PyBase, "mba_py_bridge failed: %s" % L.strerror(rc).decode()
    from_spec.argtypes = [c_void_p]
    from_spec.restype = py_object
    try:
        return from_spec(spec), None
    except Exception as e:  # (never seen; the Python methods still work)
        return PyBase, "PyType_FromSpec failed: %r" % (e,)


# Base: mmaparray's base class. reason: why the bridge is not used, or None.
Base, reason = _make()
active = reason is None

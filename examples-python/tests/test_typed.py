"""The package ships the PEP 561 marker: type checkers read its types."""

import os

import mba


def test_py_typed_marker_is_installed():
    assert os.path.isfile(os.path.join(os.path.dirname(mba.__file__), "py.typed"))

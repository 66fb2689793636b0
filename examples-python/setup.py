"""Builds the mba wheel with setuptools-rust: two Rust artifacts go into the
package, so the wheel is tagged for the platform and needs no compiler to
install.

- mba/libmba.so.0: libmba itself, the repository's root crate built as a
  cdylib (Binding.NoBinding), which mba._lib loads with ctypes (after
  $MBA_LIBRARY, which stays an override);
- mba/_ext: the CPython fast path (examples-python/ext, a PyO3 crate),
  which calls that same library (see mba/_bridge.py). Built for CPython
  with the GIL only (PyPy and free-threaded builds use the ctypes path).

``pip install ./examples-python`` needs cargo (the Rust toolchain), nothing
else; Cargo's target directory is the repository's target/ (or
$CARGO_TARGET_DIR).
"""

import os
import platform
import sysconfig

from setuptools import setup
from setuptools_rust import Binding, RustExtension, build_rust


class BuildRust(build_rust):
    """Installs libmba under its SONAME, libmba.so.0, in the package
    directory (setuptools-rust would name it like a Python extension)."""

    def get_dylib_ext_path(self, ext, target_fname):
        path = super().get_dylib_ext_path(ext, target_fname)
        if ext.binding is Binding.NoBinding:
            return os.path.join(os.path.dirname(path), "libmba.so.0")
        return path


extensions = [
    RustExtension("mba.libmba", path=os.path.join("..", "Cargo.toml"),
                  binding=Binding.NoBinding),
]
if (platform.python_implementation() == "CPython"
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
        and os.environ.get("MBA_PY_EXT", "1") != "0"):
    extensions.append(
        RustExtension("mba._ext", path=os.path.join("ext", "Cargo.toml"),
                      binding=Binding.PyO3))

setup(rust_extensions=extensions, cmdclass={"build_rust": BuildRust},
      zip_safe=False)

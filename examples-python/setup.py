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

The source distribution (``python -m build --sdist``, or ``setup.py
sdist``) carries libmba's crate too, in libmba/ (its sources, Cargo.lock
and a manifest without the repository's workspace, tests and benches), so
that ``pip install mba-*.tar.gz`` builds the same two artifacts anywhere
cargo is.
"""

import os
import platform
import shutil
import sysconfig

from setuptools import setup
from setuptools.command.sdist import sdist
from setuptools_rust import Binding, RustExtension, build_rust

HERE = os.path.dirname(os.path.abspath(__file__))
# libmba's crate: the repository's root (a checkout), or libmba/ (an sdist).
CRATE = "libmba" if os.path.exists(os.path.join(HERE, "libmba", "Cargo.toml")) else ".."
# The root manifest's sections an sdist keeps (not [workspace], dev and
# loom dependencies, benches: they name files the sdist does not carry).
KEEP = ("[package]", "[lib]", "[dependencies]", "[build-dependencies]",
        "[lints.", "[profile.")


class BuildRust(build_rust):
    """Installs libmba under its SONAME, libmba.so.0, in the package
    directory (setuptools-rust would name it like a Python extension)."""

    def get_dylib_ext_path(self, ext, target_fname):
        path = super().get_dylib_ext_path(ext, target_fname)
        if ext.binding is Binding.NoBinding:
            return os.path.join(os.path.dirname(path), "libmba.so.0")
        return path


class SDist(sdist):
    """Adds libmba's crate (see the module docstring) to the release tree."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        src = os.path.join(HERE, CRATE)
        dst = os.path.join(base_dir, "libmba")
        os.makedirs(dst, exist_ok=True)
        shutil.copytree(os.path.join(src, "src"), os.path.join(dst, "src"))
        for f in ("build.rs", "Cargo.lock", "LICENSE-MIT", "LICENSE-APACHE"):
            shutil.copy2(os.path.join(src, f), dst)
        # The extension crate, a member of the repository's workspace, gets
        # its own too (the tree's files may be hard links: write a new one).
        shutil.copy2(os.path.join(src, "Cargo.lock"), os.path.join(base_dir, "ext"))
        ext = os.path.join(base_dir, "ext", "Cargo.toml")
        with open(ext) as f:
            text = f.read()
        os.remove(ext)
        with open(ext, "w") as f:
            f.write(text + "\n[workspace]\n")
        kept, keep = [], False
        with open(os.path.join(src, "Cargo.toml")) as f:
            for line in f:
                if line.startswith("["):
                    keep = line.startswith(KEEP)
                if keep:
                    kept.append(line)
        # (its own workspace: none above it in the unpacked sdist)
        kept.append("\n[workspace]\n")
        with open(os.path.join(dst, "Cargo.toml"), "w") as f:
            f.write("".join(kept))


extensions = [
    RustExtension("mba.libmba", path=os.path.join(CRATE, "Cargo.toml"),
                  binding=Binding.NoBinding),
]
if (platform.python_implementation() == "CPython"
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
        and os.environ.get("MBA_PY_EXT", "1") != "0"):
    extensions.append(
        RustExtension("mba._ext", path=os.path.join("ext", "Cargo.toml"),
                      binding=Binding.PyO3))

setup(rust_extensions=extensions,
      cmdclass={"build_rust": BuildRust, "sdist": SDist},
      zip_safe=False)

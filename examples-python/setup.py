"""Pure-Python package; the only build step bundles a built libmba.so.

If the repository's target/release/libmba.so exists when the package is
built (``pip install ./examples-python`` after ``cargo build --release``),
it is copied into the installed package, where mba looks for it second
(after $MBA_LIBRARY). Set MBA_NO_BUNDLE=1 to skip, or MBA_BUNDLE_LIBRARY to
bundle another file. No compiler is involved.
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self):
        super().run()
        if os.environ.get("MBA_NO_BUNDLE"):
            return
        here = os.path.dirname(os.path.abspath(__file__))
        src = os.environ.get("MBA_BUNDLE_LIBRARY") or os.path.join(
            here, "..", "target", "release", "libmba.so")
        if os.path.isfile(src):
            dst = os.path.join(self.build_lib, "mba", "libmba.so")
            self.mkpath(os.path.dirname(dst))
            shutil.copyfile(src, dst)
            print("mba: bundled %s" % os.path.realpath(src))
        else:
            print("mba: no libmba.so to bundle (%s); the library will be "
                  "looked up at import time" % src)


setup(cmdclass={"build_py": BuildPy})

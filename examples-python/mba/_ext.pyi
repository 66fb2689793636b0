# Type stubs of mba._ext, the CPython extension module (examples-python/ext,
# PyO3): the base class of mmaparray when the extension is active (see
# mba/_bridge.py), and the functions that bind it to the libmba that
# mba._lib loaded. Private: user code goes through mba.mmaparray.

from typing import Any


class Base:
    """The handle slot and the fast element paths (append, a[i], a[i] = v,
    del a[i], len(a)) and the buffer protocol of mmaparray."""
    _h: int
    def __new__(cls, *args: Any, **kwargs: Any) -> "Base": ...
    def append(self, v: Any) -> None: ...
    def __getitem__(self, key: Any) -> Any: ...
    def __setitem__(self, key: Any, v: Any) -> None: ...
    def __delitem__(self, key: Any) -> None: ...
    def __len__(self) -> int: ...


def bind(path: str) -> None:
    """Binds the extension to the libmba at path (the one mba._lib loaded)."""
def bound() -> bool:
    """Whether bind() succeeded."""
def set_guard(on: bool) -> None:
    """Tells the extension that libmba's SIGBUS guard is on or off."""

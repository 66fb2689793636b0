"""The attach fast path (mba.attach -> _open._attach) encodes a str name
itself instead of calling os.fsencode: the C string must be the very one
os.fsencode makes, for non-ASCII and for undecodable (surrogate-escaped)
names, and every error must stay the same."""

import os

import pytest

import mba


def test_attach_non_ascii_name(tmp_path):
    path = os.path.join(str(tmp_path), "caf\u00e9-\u6570.mba")
    a = mba.create("file://" + path, 3, "q")
    a[1] = 7
    assert os.path.exists(os.fsencode(path))
    b = mba.attach("file://" + path)
    assert b[1] == 7 and b.typecode == "q"
    c = mba.attach(os.fsencode("file://" + path), readonly=True)
    assert c[1] == 7
    for x in (a, b, c):
        x.close()


def test_attach_undecodable_name(tmp_path):
    # An undecodable byte (0xff) reaches Python as the surrogate U+DCFF and
    # goes back to C as that byte, which libmba refuses (names are UTF-8):
    # the str and the bytes spelling fail alike.
    raw = os.path.join(os.fsencode(str(tmp_path)), b"raw-\xff.mba")
    errs = []
    for name in ("file://" + os.fsdecode(raw), b"file://" + raw):
        with pytest.raises(mba.MBAError) as e:
            mba.attach(name)
        errs.append((type(e.value), str(e.value)))
    assert errs[0] == errs[1] and "UTF-8" in errs[0][1]


def test_attach_errors_unchanged(tmp_path):
    missing = "file://" + os.path.join(str(tmp_path), "caf\u00e9-missing.mba")
    with pytest.raises(FileNotFoundError):
        mba.attach(missing)
    with pytest.raises(ValueError, match="embedded null"):
        mba.attach(missing + "\x00x")
    p = "file://" + os.path.join(str(tmp_path), "t.mba")
    mba.create(p, 1, "i").close()
    with pytest.raises(TypeError):
        mba.attach(p, "d")

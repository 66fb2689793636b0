//! Unit tests of the C ABI called from Rust.

use super::*;
use std::ffi::CString;

fn path(tag: &str) -> CString {
    let d = std::env::temp_dir().join(format!(
        "mba-ffi-unit-{tag}-{}-{:x}",
        std::process::id(),
        crate::sys::random_u64()
    ));
    CString::new(d.to_str().unwrap()).unwrap()
}

#[test]
fn null_out_handle_has_no_side_effect() {
    let p = path("nullout");
    let mut h = 0;
    // SAFETY: valid string and out-pointer, or NULL where tested.
    unsafe {
        assert_eq!(
            mba_open(p.as_ptr(), MBA_CREATE, MBA_TYPE_U32, &mut h),
            MBA_OK
        );
        assert_eq!(mba_append_i64(h, 5), MBA_OK);
        let n = std::ptr::null_mut();
        assert_eq!(
            mba_open(p.as_ptr(), MBA_REPLACE, MBA_TYPE_I64, n),
            MBA_E_NULL
        );
        let q = path("nullout-new");
        assert_eq!(
            mba_open(q.as_ptr(), MBA_CREATE, MBA_TYPE_I64, n),
            MBA_E_NULL
        );
        assert!(!std::path::Path::new(q.to_str().unwrap()).exists());
        assert_eq!(mba_anon(0, MBA_TYPE_U8, 0, n), MBA_E_NULL);
        let mut h2 = 0;
        assert_eq!(mba_open(p.as_ptr(), 0, MBA_TYPE_U32, &mut h2), MBA_OK);
        let mut len = 0;
        assert_eq!(mba_len(h2, &mut len), MBA_OK);
        assert_eq!(len, 1, "the array was not replaced");
        assert_eq!(mba_close(h2), MBA_OK);
    }
    assert_eq!(mba_close(h), MBA_OK);
    std::fs::remove_file(p.to_str().unwrap()).unwrap();
}

#[test]
fn open_existing_records_by_type_and_item_size() {
    let p = path("records");
    // SAFETY: valid strings, options and out-pointers.
    unsafe {
        let mut o: mba_options = std::mem::zeroed();
        assert_eq!(mba_options_init(&mut o), MBA_OK);
        o.flags = MBA_CREATE;
        o.elem_type = MBA_TYPE_RECORD;
        o.item_size = 16;
        let (mut h, mut g) = (0, 0);
        assert_eq!(mba_open_ex(p.as_ptr(), &o, &mut h), MBA_OK);
        assert_eq!(mba_open(p.as_ptr(), 0, MBA_TYPE_RECORD, &mut g), MBA_OK);
        assert_eq!(mba_close(g), MBA_OK);
        o.flags = 0;
        assert_eq!(mba_open_ex(p.as_ptr(), &o, &mut g), MBA_OK);
        assert_eq!(mba_close(g), MBA_OK);
        o.item_size = 24;
        assert_eq!(mba_open_ex(p.as_ptr(), &o, &mut g), MBA_E_TYPE);
        o.flags = MBA_CREATE;
        assert_eq!(mba_open_ex(p.as_ptr(), &o, &mut g), MBA_E_TYPE);
        assert_eq!(
            mba_open(p.as_ptr(), MBA_CREATE, MBA_TYPE_RECORD, &mut g),
            MBA_E_ARG
        );
        assert_eq!(mba_close(h), MBA_OK);
    }
    std::fs::remove_file(p.to_str().unwrap()).unwrap();
}

#[test]
fn null_buffers_and_odd_pins() {
    let mut h = 0;
    // SAFETY: valid out-pointers, or NULL where tested.
    unsafe {
        assert_eq!(
            mba_list(std::ptr::null_mut(), 64, std::ptr::null_mut()),
            MBA_E_NULL
        );
        assert_eq!(mba_anon(0, MBA_TYPE_U8, 0, &mut h), MBA_OK);
        assert_eq!(mba_handle_error(h, std::ptr::null_mut(), 8), MBA_E_NULL);
        assert_eq!(mba_handle_error(h, std::ptr::null_mut(), 0), MBA_OK);
        let mut o = mba_options {
            ..std::mem::zeroed()
        };
        assert_eq!(mba_options_init(&mut o), MBA_OK);
        o.elem_type = MBA_TYPE_U8;
        o.ndim = 2;
        o.shape[0] = 2;
        o.shape[1] = 3;
        let mut s = 0;
        assert_eq!(mba_anon_ex(&o, &mut s), MBA_OK);
        let mut dims = [7u64; 2];
        assert_eq!(
            mba_shape(s, dims.as_mut_ptr(), 2, std::ptr::null_mut()),
            MBA_E_NULL
        );
        assert_eq!(dims, [7, 7], "out-parameters are written only on success");
        assert_eq!(mba_close(s), MBA_OK);
    }
    assert_eq!(mba_unpin(i32::MIN), MBA_E_HANDLE);
    assert_eq!(mba_unpin(0), MBA_E_HANDLE);
    assert_eq!(mba_close(h), MBA_OK);
}

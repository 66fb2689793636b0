//! The C ABI of libmba. Every function here is exported unmangled, returns
//! an `int` status (MBA_OK = 0, or a negative MBA_E_* code) and passes
//! results through out-parameters. See `boundary.rs` for the safety
//! contract shared by all of them; `include/mba.h` is generated from the
//! doc comments in these files.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

mod arrow_build;
mod arrow_stream;
pub(crate) mod boundary;
mod extensible;
pub(crate) mod handles;
// The exports, in the order of mba.h (cbindgen follows this order).
mod arrow;
mod gc;
mod memory;
mod meta;
mod open;
mod read;
mod sigbus;
pub mod status;
mod sync;
#[cfg(test)]
mod tests;
mod types;
mod write;

pub use self::arrow::*;
use self::boundary::{buf, copy_str, out, run, str_arg, with};
pub use self::gc::*;
pub use self::memory::*;
pub use self::meta::*;
pub use self::open::*;
pub use self::read::*;
pub use self::sigbus::mba_sigbus_guard;
pub use self::status::*;
pub use self::sync::*;
pub use self::types::*;
pub use self::write::*;
use crate::array::{Access, Array, FastAppend, Flush, Kind, Options, Waiting};
use crate::error::{Code, Error, Result};
use crate::format::{ElemType, Layout};
use crate::{format, shm};
use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::time::Duration;

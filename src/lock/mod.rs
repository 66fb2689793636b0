//! Locks: the writer lock shared by all processes (`writer.rs`: lock
//! tokens, OFD byte locks, stale-holder recovery) and the fork-safe
//! in-process locks of the library's own tables (`forksafe.rs`).

mod forksafe;
mod writer;

pub use forksafe::{ForkLock, GenLock};
pub use writer::*;

//! Helpers shared by the root crate's integration tests (a directory
//! module, so cargo does not build it as a test of its own).

/// A number no other run of these tests uses at the same time.
pub fn unique() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

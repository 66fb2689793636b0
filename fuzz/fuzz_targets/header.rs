//! Header parse: `Header::decode` of arbitrary bytes never panics, and a
//! header it accepts encodes back to bytes that decode to the same header.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mba::format::{Header, CRC_END, OFF_CRC};

fuzz_target!(|data: &[u8]| {
    check(data);
    // Also try the input with its checksum made right, so the checks after
    // the CRC (layout, limits, features) are reached too.
    if data.len() >= CRC_END + 4 {
        let mut b = data.to_vec();
        let crc = mba::format::crc32(&b[..CRC_END]);
        b[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        check(&b);
    }
});

fn check(data: &[u8]) {
    if let Ok((h, _)) = Header::decode(data) {
        let again = Header::decode(&h.encode()).expect("an encoded valid header decodes");
        assert_eq!(again.0, h, "decode(encode(h)) != h");
    }
}

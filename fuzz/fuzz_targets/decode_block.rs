//! Decoding arbitrary bytes as a block never panics, and whatever decodes is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, Block};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<Block>("block", data) {
        assert_eq!(encode(&value), data, "block decoding is not canonical");
    }
});

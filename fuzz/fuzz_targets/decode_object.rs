//! Decoding arbitrary bytes as a object never panics, and whatever decodes is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, Object};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<Object>("object", data) {
        assert_eq!(encode(&value), data, "object decoding is not canonical");
    }
});

//! Decoding arbitrary bytes as a certificate never panics, and whatever decodes is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, Certificate};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<Certificate>("certificate", data) {
        assert_eq!(encode(&value), data, "certificate decoding is not canonical");
    }
});

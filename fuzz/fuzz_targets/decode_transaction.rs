//! Decoding arbitrary bytes as a transaction never panics, and whatever decodes is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, SignedTransaction};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<SignedTransaction>("transaction", data) {
        assert_eq!(encode(&value), data, "transaction decoding is not canonical");
    }
});

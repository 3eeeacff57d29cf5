//! Decoding arbitrary bytes as a genesis never panics, and whatever decodes is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, SignedGenesis};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<SignedGenesis>("genesis", data) {
        assert_eq!(encode(&value), data, "genesis decoding is not canonical");
    }
});

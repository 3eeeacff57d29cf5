//! Decoding arbitrary bytes as a proposal never panics, and whatever decodes is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, SignedProposal};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<SignedProposal>("proposal", data) {
        assert_eq!(encode(&value), data, "proposal decoding is not canonical");
    }
});

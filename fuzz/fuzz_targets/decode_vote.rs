//! Decoding arbitrary bytes as a vote never panics, and whatever decodes is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, SignedVote};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<SignedVote>("vote", data) {
        assert_eq!(encode(&value), data, "vote decoding is not canonical");
    }
});

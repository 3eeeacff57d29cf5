//! Decoding arbitrary bytes as a voucher never panics, and whatever decodes is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, SignedVoucher};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<SignedVoucher>("voucher", data) {
        assert_eq!(encode(&value), data, "voucher decoding is not canonical");
    }
});

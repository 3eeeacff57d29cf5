//! Decoding arbitrary bytes as a swap offer never panics, and whatever decodes is canonical
//! and reads back from its text; reading arbitrary text as an offer never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, SwapOffer};

fuzz_target!(|data: &[u8]| {
    if let Ok(offer) = decode::<SwapOffer>("swap offer", data) {
        assert_eq!(encode(&offer), data, "swap offer decoding is not canonical");
        assert_eq!(offer.to_text().parse::<SwapOffer>(), Ok(offer));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<SwapOffer>();
    }
});

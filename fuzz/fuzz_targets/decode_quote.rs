//! Decoding arbitrary bytes as a signed quote never panics; whatever decodes is canonical,
//! of the fixed size, and its checks and conversions never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, SignedQuote, SIGNED_QUOTE_BYTES};

fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = decode::<SignedQuote>("quote", data) {
        assert_eq!(encode(&signed), data, "quote decoding is not canonical");
        assert_eq!(data.len(), SIGNED_QUOTE_BYTES);
        let quote = &signed.quote;
        let _ = quote.check(quote.expires_at_ms / 2);
        let _ = quote.get_for(quote.max_give);
        let _ = quote.rate.cmp_for_holder(&quote.rate.inverse());
        let _ = signed.verify_signature();
    }
});

//! Decoding arbitrary bytes as a tick signature never panics, whatever decodes is canonical,
//! and checking it against a message (walking its path to a root) never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myriad_types::{decode, encode, ChainId, Height, Round, TickSignature, Vote, VoteStep};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode::<TickSignature>("tick signature", data) {
        assert_eq!(encode(&value), data, "tick signature decoding is not canonical");
        let vote = Vote {
            chain_id: ChainId([1; 32]),
            height: Height(1),
            round: Round(0),
            step: VoteStep::Prevote,
            block_hash: None,
        };
        let _ = value.check(&[2; 32], &vote);
    }
});

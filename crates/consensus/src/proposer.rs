//! Who proposes in a round: drawn from the validator set, weighted by voting power,
//! deterministically from (chain, height, round).

use myriad_types::{ChainId, Hash, Height, HostId, Round, ValidatorSet};

/// The proposer of `round` at `height` of `chain`. Every host computes the same one; over
/// many rounds each validator proposes in proportion to its power.
pub fn proposer(
    validators: &ValidatorSet,
    chain: &ChainId,
    height: Height,
    round: Round,
) -> HostId {
    let seed = Hash::of_parts(&[
        b"myriad/proposer/1",
        chain.as_bytes(),
        &height.0.to_le_bytes(),
        &round.0.to_le_bytes(),
    ]);
    let mut draw_bytes = [0u8; 16];
    draw_bytes.copy_from_slice(&seed.0[..16]);
    // A 128-bit draw reduced modulo a 64-bit total: the bias is below 2^-64.
    let mut draw = (u128::from_le_bytes(draw_bytes) % u128::from(validators.total_power())) as u64;
    for validator in validators.validators() {
        if draw < validator.power {
            return validator.host;
        }
        draw -= validator.power;
    }
    // Unreachable: the draw is below the total power. The last validator is a safe answer.
    validators
        .validators()
        .last()
        .map(|validator| validator.host)
        .unwrap_or(HostId([0; 32]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use myriad_types::{SecretKey, Validator};

    #[test]
    fn proposers_follow_voting_power() {
        let set = ValidatorSet::new(
            (1..=4u8)
                .map(|i| Validator {
                    host: SecretKey::from_seed([i; 32]).host_id(),
                    power: u64::from(i),
                })
                .collect(),
        )
        .unwrap();
        let chain = ChainId([3; 32]);
        let mut counts = std::collections::HashMap::new();
        for round in 0..10_000 {
            *counts
                .entry(proposer(&set, &chain, Height(1), Round(round)))
                .or_insert(0u32) += 1;
        }
        for validator in set.validators() {
            let share = f64::from(counts[&validator.host]) / 10_000.0;
            let expected = validator.power as f64 / 10.0;
            assert!((share - expected).abs() < 0.03, "{share} vs {expected}");
        }
        assert_eq!(
            proposer(&set, &chain, Height(1), Round(5)),
            proposer(&set, &chain, Height(1), Round(5))
        );
    }
}

//! One batch verification for every signature of a tick. Signatures are grouped by the
//! message that carries them; if the batch fails, bisection finds the bad messages while
//! the good ones still pass in batches.

use myriad_types::{BatchVerifier, SignatureCheck};
use rand_core::CryptoRngCore;

/// The verdict for each group of signatures: `true` when every signature in it is valid.
/// Counts the batch verifications run in `batches`.
pub fn verify_groups(
    groups: &[Vec<SignatureCheck>],
    rng: &mut dyn CryptoRngCore,
    batches: &mut u64,
) -> Vec<bool> {
    let mut verdicts = vec![true; groups.len()];
    let indexes: Vec<usize> = (0..groups.len())
        .filter(|i| !groups[*i].is_empty())
        .collect();
    bisect(groups, &indexes, rng, &mut verdicts, batches);
    verdicts
}

fn bisect(
    groups: &[Vec<SignatureCheck>],
    indexes: &[usize],
    rng: &mut dyn CryptoRngCore,
    verdicts: &mut [bool],
    batches: &mut u64,
) {
    if indexes.is_empty() {
        return;
    }
    *batches += 1;
    if batch_passes(groups, indexes, rng) {
        return;
    }
    if let [only] = indexes {
        verdicts[*only] = false;
        return;
    }
    let (left, right) = indexes.split_at(indexes.len() / 2);
    bisect(groups, left, rng, verdicts, batches);
    bisect(groups, right, rng, verdicts, batches);
}

fn batch_passes(
    groups: &[Vec<SignatureCheck>],
    indexes: &[usize],
    rng: &mut dyn CryptoRngCore,
) -> bool {
    let checks = indexes.iter().flat_map(|i| &groups[*i]);
    let mut batch = BatchVerifier::new();
    let mut count = 0;
    for check in checks {
        batch.queue_check(check);
        count += 1;
    }
    if count == 1 {
        // One signature alone is checked faster without the batch's set-up.
        return indexes
            .iter()
            .flat_map(|i| &groups[*i])
            .all(|check| check.verify().is_ok());
    }
    batch.verify(rng).is_ok()
}

#[cfg(test)]
mod tests {
    use myriad_types::{ChainId, SecretKey, Signature, Transaction, TxKind};
    use rand_core::OsRng;

    use super::*;

    fn check(seed: u8, valid: bool) -> SignatureCheck {
        let key = SecretKey::from_seed([seed; 32]);
        let tx = Transaction {
            chain_id: ChainId([1; 32]),
            sender: key.address(),
            nonce: u64::from(seed),
            kind: TxKind::Burn { amount: 1 },
        };
        let signature = if valid {
            key.sign(&tx)
        } else {
            Signature([seed; 64])
        };
        SignatureCheck::new(&key.public_key(), &tx, &signature)
    }

    #[test]
    fn bisection_finds_exactly_the_bad_groups() {
        let bad = [3usize, 17, 18, 40];
        let groups: Vec<Vec<SignatureCheck>> = (0..50u8)
            .map(|i| {
                let valid = !bad.contains(&usize::from(i));
                vec![check(i, true), check(i.wrapping_add(100), valid)]
            })
            .collect();
        let mut batches = 0;
        let verdicts = verify_groups(&groups, &mut OsRng, &mut batches);
        for (i, verdict) in verdicts.iter().enumerate() {
            assert_eq!(*verdict, !bad.contains(&i), "group {i}");
        }
        assert!(
            batches < 50,
            "bisection ran {batches} batches for 50 groups"
        );
    }

    #[test]
    fn a_clean_tick_is_one_batch() {
        let groups: Vec<Vec<SignatureCheck>> = (0..20u8).map(|i| vec![check(i, true)]).collect();
        let mut batches = 0;
        assert!(verify_groups(&groups, &mut OsRng, &mut batches)
            .iter()
            .all(|v| *v));
        assert_eq!(batches, 1);
    }
}

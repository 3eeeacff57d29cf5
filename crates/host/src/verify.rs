//! One batch verification for every signature of a tick. Signatures are grouped by the
//! message that carries them; a signature carried by many messages (a peer's tick signature
//! covers all it sent in a tick) is checked once. If the batch fails, bisection finds the bad
//! signatures while the good ones still pass in batches.

use std::collections::HashMap;

use myriad_types::{BatchVerifier, SignatureCheck};
use rand_core::CryptoRngCore;

/// What verifying a tick's groups found and cost.
#[derive(Debug, Default)]
pub struct Verdicts {
    /// For each group, `true` when every signature in it is valid.
    pub groups: Vec<bool>,
    /// The distinct signatures checked.
    pub signatures: usize,
    /// The batch verifications run.
    pub batches: u64,
}

pub fn verify_groups(groups: &[Vec<SignatureCheck>], rng: &mut dyn CryptoRngCore) -> Verdicts {
    let mut distinct: Vec<&SignatureCheck> = Vec::new();
    let mut seen: HashMap<&SignatureCheck, usize> = HashMap::new();
    let members: Vec<Vec<usize>> = groups
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|check| {
                    *seen.entry(check).or_insert_with(|| {
                        distinct.push(check);
                        distinct.len() - 1
                    })
                })
                .collect()
        })
        .collect();
    let mut valid = vec![true; distinct.len()];
    let mut batches = 0;
    let all: Vec<usize> = (0..distinct.len()).collect();
    bisect(&distinct, &all, rng, &mut valid, &mut batches);
    Verdicts {
        groups: members
            .iter()
            .map(|group| group.iter().all(|i| valid[*i]))
            .collect(),
        signatures: distinct.len(),
        batches,
    }
}

fn bisect(
    checks: &[&SignatureCheck],
    indexes: &[usize],
    rng: &mut dyn CryptoRngCore,
    valid: &mut [bool],
    batches: &mut u64,
) {
    if indexes.is_empty() {
        return;
    }
    *batches += 1;
    if batch_passes(checks, indexes, rng) {
        return;
    }
    if let [only] = indexes {
        valid[*only] = false;
        return;
    }
    let (left, right) = indexes.split_at(indexes.len() / 2);
    bisect(checks, left, rng, valid, batches);
    bisect(checks, right, rng, valid, batches);
}

fn batch_passes(
    checks: &[&SignatureCheck],
    indexes: &[usize],
    rng: &mut dyn CryptoRngCore,
) -> bool {
    if let [only] = indexes {
        // One signature alone is checked faster without the batch's set-up.
        return checks[*only].verify().is_ok();
    }
    let mut batch = BatchVerifier::new();
    for i in indexes {
        batch.queue_check(checks[*i]);
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
        let verdicts = verify_groups(&groups, &mut OsRng);
        for (i, verdict) in verdicts.groups.iter().enumerate() {
            assert_eq!(*verdict, !bad.contains(&i), "group {i}");
        }
        assert!(
            verdicts.batches < 50,
            "bisection ran {} batches for 50 groups",
            verdicts.batches
        );
    }

    #[test]
    fn a_clean_tick_is_one_batch() {
        let groups: Vec<Vec<SignatureCheck>> = (0..20u8).map(|i| vec![check(i, true)]).collect();
        let verdicts = verify_groups(&groups, &mut OsRng);
        assert!(verdicts.groups.iter().all(|v| *v));
        assert_eq!(verdicts.batches, 1);
    }

    #[test]
    fn a_signature_many_messages_carry_is_checked_once() {
        // Twenty messages under one good signature, five under one bad.
        let good = check(1, true);
        let bad = check(2, false);
        let mut groups: Vec<Vec<SignatureCheck>> = vec![vec![good.clone()]; 20];
        groups.extend(vec![vec![check(3, true), bad.clone()]; 5]);
        let verdicts = verify_groups(&groups, &mut OsRng);
        assert_eq!(verdicts.signatures, 3);
        assert!(verdicts.groups[..20].iter().all(|v| *v));
        assert!(verdicts.groups[20..].iter().all(|v| !*v));
    }
}

//! Tick signatures: a host signs once per tick, over the Merkle root of every proposal and
//! vote it emits in that tick, across all its chains; each message carries its own path to
//! that root. A peer that receives a tick's messages checks the one signature once and a few
//! hashes per message, and every message stays checkable on its own (by a certificate's
//! reader, or as evidence) from the message, the signer's key and its tick signature.
//!
//! The tree: a leaf is `blake3(0x00 ‖ signing bytes)`, where the signing bytes are the
//! message's own (its domain tag and chain id first); a node is `blake3(0x01 ‖ left ‖ right)`;
//! a tick of n messages is padded with zero hashes to the next power of two. Leaf `index`
//! goes left or right at each level by its bits, lowest first; `path` lists the siblings from
//! the leaf up. The host signs `"myriad/tick/1" (16 bytes, zero-padded) ‖ root`.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::crypto::{Domain, SecretKey, Signable, Signature, SignatureCheck, SignatureError};
use crate::encoding::BoundedVec;
use crate::ids::Hash;

/// The deepest path a tick signature carries: a tick signs at most 2^32 messages.
pub const TICK_PATH_MAX: usize = 32;

/// The padding of a tick's tree past its last message.
pub(crate) const EMPTY: Hash = Hash([0; 32]);

/// One message's share of its signer's tick signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TickSignature {
    /// The message's place among the tick's leaves.
    pub index: u32,
    /// The siblings on the way from the message's leaf up to the root.
    pub path: BoundedVec<Hash, TICK_PATH_MAX>,
    /// The signer's ed25519 signature over the tick tag and the root.
    pub signature: Signature,
}

/// The leaf of a message in a tick's tree.
pub fn tick_leaf<T: Signable>(message: &T) -> Hash {
    Hash::of_parts(&[&[0], &message.signing_bytes()])
}

pub(crate) fn node(left: &Hash, right: &Hash) -> Hash {
    Hash::of_parts(&[&[1], &left.0, &right.0])
}

/// The exact bytes a tick signature covers.
pub(crate) fn root_bytes(root: &Hash) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(48);
    bytes.extend_from_slice(Domain::Tick.tag());
    bytes.extend_from_slice(&root.0);
    bytes
}

/// Signs a tick's messages, given by their leaves, with one signature; returns each leaf's
/// tick signature, in order.
pub fn sign_tick(key: &SecretKey, leaves: &[Hash]) -> Vec<TickSignature> {
    if leaves.is_empty() {
        return Vec::new();
    }
    let width = leaves.len().next_power_of_two();
    let mut levels: Vec<Vec<Hash>> = Vec::new();
    let mut level: Vec<Hash> = leaves.to_vec();
    level.resize(width, EMPTY);
    while level.len() > 1 {
        let up = level
            .chunks_exact(2)
            .map(|pair| node(&pair[0], &pair[1]))
            .collect();
        levels.push(std::mem::replace(&mut level, up));
    }
    let signature = key.sign_bytes(&root_bytes(&level[0]));
    (0..leaves.len())
        .map(|index| {
            let path = levels
                .iter()
                .enumerate()
                .map(|(depth, nodes)| nodes[(index >> depth) ^ 1])
                .collect();
            TickSignature {
                // A tick never holds 2^32 messages: they come from one tick's envelopes.
                index: index as u32,
                path: BoundedVec::new(path).unwrap_or_default(),
                signature,
            }
        })
        .collect()
}

/// Signs one message alone (a tick of one).
pub fn sign_alone<T: Signable>(key: &SecretKey, message: &T) -> TickSignature {
    let mut signed = sign_tick(key, &[tick_leaf(message)]);
    signed.remove(0)
}

impl TickSignature {
    /// The root that `message` at this signature's index and path leads to.
    pub fn root<T: Signable>(&self, message: &T) -> Hash {
        let mut hash = tick_leaf(message);
        for (depth, sibling) in self.path.iter().enumerate() {
            hash = if (self.index >> depth) & 1 == 0 {
                node(&hash, sibling)
            } else {
                node(sibling, &hash)
            };
        }
        hash
    }

    /// The signature to check, for a batch: the signer's over the root `message` leads to.
    /// An index past the path's reach leads to no root the signer signed.
    pub fn check<T: Signable>(&self, signer: &[u8; 32], message: &T) -> SignatureCheck {
        let reach = self.path.len() as u32;
        let index_fits = reach >= 32 || self.index >> reach == 0;
        let root = if index_fits {
            self.root(message)
        } else {
            EMPTY
        };
        SignatureCheck {
            public_key: *signer,
            message: root_bytes(&root),
            signature: self.signature,
        }
    }

    /// Checks this signature alone.
    pub fn verify<T: Signable>(
        &self,
        signer: &[u8; 32],
        message: &T,
    ) -> Result<(), SignatureError> {
        self.check(signer, message).verify()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{ChainId, Height, Round, Vote, VoteStep};

    fn vote(round: u32) -> Vote {
        Vote {
            chain_id: ChainId([7; 32]),
            height: Height(3),
            round: Round(round),
            step: VoteStep::Prevote,
            block_hash: Some(Hash([round as u8; 32])),
        }
    }

    #[test]
    fn every_message_of_a_tick_verifies_with_its_own_path() {
        let key = SecretKey::from_seed([1; 32]);
        for count in [1usize, 2, 3, 5, 8, 13] {
            let votes: Vec<Vote> = (0..count as u32).map(vote).collect();
            let leaves: Vec<Hash> = votes.iter().map(tick_leaf).collect();
            let signed = sign_tick(&key, &leaves);
            assert_eq!(signed.len(), count);
            let first = signed[0].signature;
            for (vote, tick) in votes.iter().zip(&signed) {
                assert_eq!(tick.signature, first, "one signature for the whole tick");
                assert_eq!(
                    tick.path.len(),
                    count.next_power_of_two().trailing_zeros() as usize
                );
                tick.verify(&key.public_key(), vote).unwrap();
            }
            // A message checked with another's path, or another message, fails.
            if count > 1 {
                assert!(signed[1].verify(&key.public_key(), &votes[0]).is_err());
            }
            assert!(signed[0].verify(&key.public_key(), &vote(99)).is_err());
            let other = SecretKey::from_seed([2; 32]);
            assert!(signed[0].verify(&other.public_key(), &votes[0]).is_err());
        }
    }

    #[test]
    fn an_altered_path_index_or_signature_fails() {
        let key = SecretKey::from_seed([1; 32]);
        let votes: Vec<Vote> = (0..5).map(vote).collect();
        let leaves: Vec<Hash> = votes.iter().map(tick_leaf).collect();
        let signed = sign_tick(&key, &leaves);
        let good = &signed[2];
        for depth in 0..good.path.len() {
            for byte in [0, 31] {
                let mut bad = good.clone();
                let mut path = bad.path.into_inner();
                path[depth].0[byte] ^= 1;
                bad.path = BoundedVec::new(path).unwrap();
                assert!(bad.verify(&key.public_key(), &votes[2]).is_err());
            }
        }
        let mut bad = good.clone();
        bad.index ^= 1;
        assert!(bad.verify(&key.public_key(), &votes[2]).is_err());
        let mut bad = good.clone();
        bad.index += 1 << bad.path.len();
        assert!(bad.verify(&key.public_key(), &votes[2]).is_err());
        let mut bad = good.clone();
        bad.signature.0[0] ^= 1;
        assert!(bad.verify(&key.public_key(), &votes[2]).is_err());
    }

    #[test]
    fn a_tick_signature_is_no_signature_of_another_domain() {
        // The tick tag differs from every other: a root signature never passes for a vote
        // signed alone in the old way, nor the other way round.
        let tags = [
            Domain::Genesis,
            Domain::Transaction,
            Domain::Vote,
            Domain::Proposal,
            Domain::Voucher,
        ];
        assert!(tags.iter().all(|d| d.tag() != Domain::Tick.tag()));
    }
}

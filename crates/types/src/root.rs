//! The root chain's formats: what marks a chain as the root, how hosts register in its
//! directory, the heads other chains anchor in it, and the evidence that slashes a host.
//!
//! The root is a chain like the others; its genesis says [`ChainKind::Root`] with the
//! [`RootParams`] its ledger enforces. Its state holds, as objects, every registered host
//! ([`HostEntry`]), every anchored chain ([`ChainAnchor`]) and the validator sets they name
//! ([`KnownSet`], held once however many chains share one).

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::block::{BlockHeader, Certificate, SignedVote, VoteStep};
use crate::chain::{SignedGenesis, Symbol, VALIDATORS_MAX};
use crate::crypto::SignatureCheck;
use crate::encoding::{BoundedBytes, BoundedVec};
use crate::heads::HeadBatch;
use crate::ids::{Address, Amount, ChainId, Hash, Height, HostId};
use crate::objects::ValidatorBond;

/// The most p2p addresses a host announces.
pub const HOST_ADDRESSES_MAX: usize = 4;
/// The longest p2p address or API URL a host announces, in bytes.
pub const HOST_ADDRESS_BYTES_MAX: usize = 200;
/// The most entries one anchor transaction carries.
pub const ANCHOR_ENTRIES_MAX: usize = 16_384;
/// The most validator-set changes one anchored head carries; a chain that changed its set
/// more often since its last anchor is anchored in several steps.
pub const SET_CHANGES_MAX: usize = 16;
/// The largest encoded chain meta a set change carries.
pub const META_BYTES_MAX: usize = 4096;
/// The most bond proofs one anchored head carries: the validators of the chain's set and of
/// the set the root knew before.
pub const BONDS_PER_HEAD_MAX: usize = 2 * VALIDATORS_MAX;
/// The largest encoded state proof a bond proof carries.
pub const PROOF_BYTES_MAX: usize = 16 * 1024;

/// What a chain is, fixed by its genesis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub enum ChainKind {
    /// A chain of its owner: a personal currency or a ledger of one business.
    #[default]
    Personal,
    /// The root chain: the directory of hosts and chains, where chains anchor their heads.
    Root(RootParams),
}

/// The rules of a root chain, fixed by its genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct RootParams {
    /// The least bond, in root currency, a host holds to stay registered.
    pub host_bond_min: Amount,
    /// How long a registration lasts from its last renewal.
    pub host_lease_ms: u64,
    /// How long a bond stays locked after its registration lapsed, so that evidence found
    /// late can still slash it.
    pub unbond_ms: u64,
    /// How often hosts anchor a chain whose head changed.
    pub anchor_interval_ms: u64,
}

impl Default for RootParams {
    fn default() -> RootParams {
        RootParams {
            host_bond_min: 1_000,
            host_lease_ms: 24 * 3_600_000,
            unbond_ms: 7 * 24 * 3_600_000,
            anchor_interval_ms: 10_000,
        }
    }
}

/// A p2p address or an API URL, as text.
pub type HostAddress = BoundedBytes<HOST_ADDRESS_BYTES_MAX>;

/// What a host tells the directory about itself: where peers and clients reach it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HostAnnouncement {
    /// Where peers reach it, each as `ip:port` (its host id authenticates the connection).
    pub p2p: BoundedVec<HostAddress, HOST_ADDRESSES_MAX>,
    /// The base URL of its HTTP API.
    pub api_url: HostAddress,
}

impl HostAnnouncement {
    /// Checks that every address is non-empty UTF-8 text without control characters.
    pub fn check(&self) -> Result<(), String> {
        for address in self.p2p.iter().chain([&self.api_url]) {
            let text = std::str::from_utf8(address)
                .map_err(|_| format!("host address {address:?} is not UTF-8"))?;
            if text.is_empty() || text.chars().any(char::is_control) {
                return Err(format!(
                    "host address {text:?} is empty or holds control characters"
                ));
            }
        }
        Ok(())
    }

    /// The announced addresses as text (checked by [`HostAnnouncement::check`]).
    pub fn p2p_text(&self) -> impl Iterator<Item = &str> {
        self.p2p
            .iter()
            .map(|address| std::str::from_utf8(address).unwrap_or_default())
    }

    pub fn api_url_text(&self) -> &str {
        std::str::from_utf8(&self.api_url).unwrap_or_default()
    }
}

/// A host in the root's directory.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HostEntry {
    pub host: HostId,
    pub announcement: HostAnnouncement,
    /// Root currency the host has locked; slashed whole on evidence.
    pub bond: Amount,
    pub registered_at_ms: u64,
    /// The registration lapses then unless renewed; the bond can be withdrawn
    /// `unbond_ms` later.
    pub expires_at_ms: u64,
    /// What evidence against the host has slashed, and the last piece of it.
    pub slashed: Amount,
    pub evidence: u32,
    pub last_evidence: Option<Hash>,
}

impl HostEntry {
    /// Whether the registration is in force at `time_ms`.
    pub fn is_registered(&self, time_ms: u64) -> bool {
        time_ms < self.expires_at_ms
    }
}

/// A chain in the root's directory: what its genesis said, the validator set the root
/// knows it to have, and its latest anchored head.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainAnchor {
    pub chain_id: ChainId,
    pub owner: Address,
    pub symbol: Symbol,
    /// The validator set in force from `validators_from` on, as far as the root knows
    /// (a [`KnownSet`] object holds it).
    pub validators_hash: Hash,
    pub validators_from: Height,
    /// The latest anchored head; height 0 and zero hashes until the first block is.
    pub height: Height,
    pub block_hash: Hash,
    pub state_root: Hash,
    /// The time of the root block that anchored it.
    pub anchored_at_ms: u64,
    /// The height of the certified header that showed the chain forked (fork evidence), if
    /// one ever did.
    pub forked_at: Option<Height>,
}

/// A validator set some anchored chains name, held once, with how many chains name it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KnownSet {
    pub validators: crate::chain::ValidatorSet,
    pub chains: u64,
}

/// One step of anchoring: a chain enters the directory with its genesis, or shows a newer
/// certified head; or many chains show theirs, packed into a batch; or a chain's header
/// shows that the block the root anchored is not the chain's.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum AnchorEntry {
    Genesis(Box<SignedGenesis>),
    Head(Box<AnchoredHead>),
    Heads(Box<HeadBatch>),
    Fork(Box<ForkEvidence>),
}

impl AnchorEntry {
    /// The chain of a genesis or a head; `None` for a batch of many.
    pub fn chain_id(&self) -> Option<ChainId> {
        match self {
            AnchorEntry::Genesis(genesis) => Some(genesis.genesis.chain_id()),
            AnchorEntry::Head(head) => Some(head.header.chain_id),
            AnchorEntry::Heads(_) => None,
            AnchorEntry::Fork(fork) => Some(fork.header.chain_id),
        }
    }
}

/// A chain's header with its certificate, and the validator-set changes since the chain's
/// last anchor that lead the root from the set it knows to the set that signed it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AnchoredHead {
    pub changes: BoundedVec<SetChange, SET_CHANGES_MAX>,
    pub header: BlockHeader,
    pub certificate: Certificate,
    /// Validator bonds that changed since the last anchor, proven against the header's
    /// state root: the directory shows, per host, what owners have bonded to it.
    pub bonds: BoundedVec<BondProof, BONDS_PER_HEAD_MAX>,
}

/// Evidence that a chain forked: a certified header of the chain that cannot be of one
/// chain with a block the root took from the set the root trusted for the chain from
/// height `from`: the anchored head if that is the set it keeps (the anchor's
/// `validators_from`), else the block that replaced that set of its [`SetHistory`]. The
/// set that certifies the header is reached through the set changes it carries, followed
/// from that set. (A quorum of a set the chain replaced can certify a head, and a set
/// change of its own, that the root takes before the chain's change is anchored: the set
/// the root keeps is then theirs, and only the one they replaced leads to the chain's.)
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ForkEvidence {
    pub from: Height,
    pub changes: BoundedVec<SetChange, SET_CHANGES_MAX>,
    pub header: BlockHeader,
    pub certificate: Certificate,
}

/// The sets in a [`SetHistory`].
pub const SET_HISTORY_MAX: usize = 16;

/// The validator sets the root followed a chain out of, oldest first, each kept for the
/// root's `unbond_ms` after it was replaced (while its validators' bonds stay locked): fork
/// evidence may start from any of them.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SetHistory {
    pub chain_id: ChainId,
    pub sets: BoundedVec<ReplacedSet, SET_HISTORY_MAX>,
}

/// A set the root trusted for a chain from a height (a [`KnownSet`] object holds it), and
/// the block it certified that replaced it, which the root took at `replaced_at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ReplacedSet {
    pub validators_hash: Hash,
    pub from: Height,
    pub replaced_at: Height,
    pub replaced_by: Hash,
    pub replaced_at_ms: u64,
}

impl ReplacedSet {
    /// When the root lets it go: `unbond_ms` after it was replaced.
    pub fn kept_until_ms(&self, unbond_ms: u64) -> u64 {
        self.replaced_at_ms.saturating_add(unbond_ms)
    }
}

/// A host's validator bond on a chain (or its absence) with its proof against a state root:
/// the borsh-encoded `StateProof` of the object `ValidatorBond(host)`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BondProof {
    pub host: HostId,
    pub bond: Option<ValidatorBond>,
    pub proof: BoundedBytes<PROOF_BYTES_MAX>,
}

/// What owners of anchored chains have bonded to a host, per chain, as last proven to the
/// root.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OwnerBond {
    pub host: HostId,
    pub chain_id: ChainId,
    /// The bond's unpaid rest, in the chain's base units.
    pub held: Amount,
    /// When it has all vested.
    pub vested_at_ms: u64,
    /// The anchored height it was proven at.
    pub height: Height,
}

impl OwnerBond {
    /// Its key in the root's state: one per (host, chain).
    pub fn key_of(host: &HostId, chain: &ChainId) -> Hash {
        Hash::tagged(b"myriad/owner-bond/1", &(host, chain))
    }
}

/// A block after which the chain's validator set changed: its header, certified by the set
/// the root knows, and the chain's meta after it (with its trees' roots, which together
/// hash to the header's state root), which names the set of the next height.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SetChange {
    pub header: BlockHeader,
    pub certificate: Certificate,
    pub meta: BoundedBytes<META_BYTES_MAX>,
    pub accounts_root: Hash,
    pub objects_root: Hash,
}

impl AnchorEntry {
    /// The certificates' signatures, to check in a batch with the transaction's own.
    pub fn signature_checks(&self) -> Vec<SignatureCheck> {
        match self {
            AnchorEntry::Genesis(genesis) => vec![genesis.signature_check()],
            AnchorEntry::Head(head) => certified_checks(&head.changes, &head.certificate),
            AnchorEntry::Heads(batch) => batch.signature_checks(),
            AnchorEntry::Fork(fork) => certified_checks(&fork.changes, &fork.certificate),
        }
    }
}

/// The signatures of set changes' certificates and of a header's.
fn certified_checks(changes: &[SetChange], certificate: &Certificate) -> Vec<SignatureCheck> {
    changes
        .iter()
        .map(|change| &change.certificate)
        .chain([certificate])
        .flat_map(Certificate::signature_checks)
        .collect()
}

/// Two different votes one host signed for the same chain, height, round and step.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Equivocation {
    pub first: SignedVote,
    pub second: SignedVote,
}

/// Why two votes are not evidence of equivocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the two votes are by different hosts")]
    DifferentVoters,
    #[error("the two votes are not for the same chain, height, round and step")]
    DifferentSlots,
    #[error("the two votes are for the same block")]
    SameBlock,
}

impl Equivocation {
    /// The host that signed both votes.
    pub fn voter(&self) -> HostId {
        self.first.voter
    }

    /// The evidence's id: the same two votes in either order give the same one.
    pub fn hash(&self) -> Hash {
        let (a, b) = (self.first.vote.block_hash, self.second.vote.block_hash);
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        Hash::tagged(
            b"myriad/evidence/1",
            &(
                self.first.voter,
                self.first.vote.chain_id,
                self.first.vote.height,
                self.first.vote.round,
                self.first.vote.step == VoteStep::Precommit,
                low,
                high,
            ),
        )
    }

    /// Everything but the signatures: one voter, one slot, two different blocks.
    pub fn check_form(&self) -> Result<(), EvidenceError> {
        let (first, second) = (&self.first.vote, &self.second.vote);
        if self.first.voter != self.second.voter {
            return Err(EvidenceError::DifferentVoters);
        }
        if (first.chain_id, first.height, first.round, first.step)
            != (second.chain_id, second.height, second.round, second.step)
        {
            return Err(EvidenceError::DifferentSlots);
        }
        if first.block_hash == second.block_hash {
            return Err(EvidenceError::SameBlock);
        }
        Ok(())
    }

    /// The two votes' signatures, to check in a batch.
    pub fn signature_checks(&self) -> [SignatureCheck; 2] {
        [self.first.signature_check(), self.second.signature_check()]
    }
}

/// A root account's id as a host's: hosts register and anchor with their host key.
impl From<HostId> for Address {
    fn from(host: HostId) -> Address {
        Address(host.0)
    }
}

impl fmt::Display for ChainKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChainKind::Personal => "personal",
            ChainKind::Root(_) => "root",
        })
    }
}

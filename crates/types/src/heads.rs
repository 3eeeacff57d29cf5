//! Many chains' heads in one anchor entry, their certificates packed.
//!
//! A host anchors thousands of chains at once, and their certificates are mostly the same
//! few things over and over: the same validators, the same validator sets, and — since a
//! validator signs all its precommits of a tick with one signature — the same tick
//! signatures, each with a path up the same tree. A [`HeadBatch`] holds each of those once:
//! tables of set hashes and hosts, one [`BatchTick`] per signer's tick (its signature, and
//! the siblings its tree needs beyond the leaves the batch's heads give — a multiproof), and
//! per head only the header's own fields and, per signer, which tick and which leaf.
//!
//! Nothing is trusted that a full [`AnchoredHead`] would not prove: each head's header is
//! rebuilt from its fields and the tables, its precommit's leaf computed from the header's
//! hash, every tick's root recomputed from its leaves and siblings, and the tick signature
//! checked over that root — with the transaction's other signatures, in one batch.
//!
//! The multiproof: a tick's tree is the one of [`crate::tick`], of depth `depth`. Its known
//! nodes start as the leaves the heads name; going up a level at a time, a known node whose
//! sibling is known too is paired with it, and one whose sibling is not takes the next hash
//! of `siblings`, in the order of the nodes' indices. The siblings must be used up exactly,
//! and leave one node: the root.

use std::collections::{BTreeMap, HashMap, HashSet};

use borsh::{BorshDeserialize, BorshSerialize};

use crate::block::{BlockHeader, Certificate, CommitSignature};
use crate::chain::VALIDATORS_MAX;
use crate::crypto::{Signature, SignatureCheck};
use crate::encoding::{encode, BoundedVec};
use crate::ids::{ChainId, Hash, Height, HostId, Round};
use crate::root::{AnchorEntry, AnchoredHead};
use crate::tick::{node, root_bytes, tick_leaf, EMPTY, TICK_PATH_MAX};

/// The most heads one batch holds.
pub const BATCH_HEADS_MAX: usize = 16_384;
/// The most distinct set hashes, hosts or ticks one batch names.
pub const BATCH_TABLE_MAX: usize = 65_536;
/// The most siblings one tick's multiproof carries.
pub const BATCH_SIBLINGS_MAX: usize = 65_536;

/// Heads of many chains with their certificates, packed (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HeadBatch {
    /// The validator-set hashes the headers name, each once.
    pub sets: BoundedVec<Hash, BATCH_TABLE_MAX>,
    /// The hosts that proposed or signed, each once.
    pub hosts: BoundedVec<HostId, BATCH_TABLE_MAX>,
    pub ticks: BoundedVec<BatchTick, BATCH_TABLE_MAX>,
    pub heads: BoundedVec<BatchHead, BATCH_HEADS_MAX>,
}

/// One signer's tick signature, shared by the precommits of the batch it covers.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchTick {
    /// The signer, an index into the batch's hosts.
    pub signer: u32,
    /// The depth of the tick's tree: the length of each of its paths.
    pub depth: u8,
    /// What the tree needs beyond the heads' leaves, in multiproof order.
    pub siblings: BoundedVec<Hash, BATCH_SIBLINGS_MAX>,
    pub signature: Signature,
}

/// A head: its header's fields, the tables' entries for the rest, and its certificate's
/// signers as places in the batch's ticks.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchHead {
    pub chain_id: ChainId,
    pub height: Height,
    pub prev_hash: Hash,
    pub timestamp_ms: u64,
    /// An index into the batch's hosts.
    pub proposer: u32,
    pub tx_root: Hash,
    pub state_root: Hash,
    /// An index into the batch's set hashes.
    pub validators: u32,
    /// The round its certificate's precommits are of.
    pub round: Round,
    pub signatures: BoundedVec<BatchSignature, VALIDATORS_MAX>,
}

/// A signer's precommit of a head: which of the batch's ticks, at which leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchSignature {
    pub tick: u32,
    pub index: u32,
}

/// Why a batch does not unpack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("head {head} names entry {index} of a table of {len}")]
    BadReference { head: usize, index: u32, len: usize },
    #[error("tick {tick} names host {index} of {len}")]
    BadSigner { tick: usize, index: u32, len: usize },
    #[error("tick {tick} has depth {depth}, over {TICK_PATH_MAX}")]
    TooDeep { tick: usize, depth: u8 },
    #[error("head {head} names leaf {index} of tick {tick}, past its tree")]
    LeafOutside {
        head: usize,
        tick: usize,
        index: u32,
    },
    #[error("tick {tick}: leaf {index} is named by two different precommits")]
    LeafTwice { tick: usize, index: u32 },
    #[error("tick {tick}: no head names it")]
    UnusedTick { tick: usize },
    #[error(
        "tick {tick}: its multiproof's {got} siblings do not lead its {leaves} leaves to one root"
    )]
    Siblings {
        tick: usize,
        got: usize,
        leaves: usize,
    },
}

/// A head unpacked: its header, its certificate's round and signers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedHead {
    pub header: BlockHeader,
    pub round: Round,
    pub signers: Vec<HostId>,
}

fn lookup<T>(table: &[T], head: usize, index: u32) -> Result<&T, BatchError> {
    table.get(index as usize).ok_or(BatchError::BadReference {
        head,
        index,
        len: table.len(),
    })
}

/// The precommit a certificate's signers signed for `header` in `round`.
fn precommit_leaf(header: &BlockHeader, round: Round) -> Hash {
    let certificate = Certificate {
        chain_id: header.chain_id,
        height: header.height,
        round,
        block_hash: header.hash(),
        signatures: BoundedVec::default(),
    };
    tick_leaf(&certificate.precommit())
}

/// The root of a tick's tree of `depth` from some of its `leaves` and the multiproof's
/// `siblings`; `None` if the siblings do not fit.
fn multiproof_root(depth: u8, leaves: &BTreeMap<u32, Hash>, siblings: &[Hash]) -> Option<Hash> {
    let mut level: Vec<(u64, Hash)> = leaves.iter().map(|(i, h)| (u64::from(*i), *h)).collect();
    let mut next = siblings.iter();
    for _ in 0..depth {
        let mut up = Vec::with_capacity(level.len());
        let mut i = 0;
        while i < level.len() {
            let (index, hash) = level[i];
            let pair = level
                .get(i + 1)
                .filter(|(other, _)| index & 1 == 0 && *other == index + 1);
            let parent = match pair {
                Some((_, right)) => {
                    i += 1;
                    node(&hash, right)
                }
                None if index & 1 == 0 => node(&hash, next.next()?),
                None => node(next.next()?, &hash),
            };
            up.push((index >> 1, parent));
            i += 1;
        }
        level = up;
    }
    match (level.as_slice(), next.next()) {
        ([(0, root)], None) => Some(*root),
        _ => None,
    }
}

impl HeadBatch {
    /// The heads with their signers, and the tick signatures that prove them (to check in
    /// the transaction's batch); an error says what does not fit together.
    pub fn unpack(&self) -> Result<(Vec<UnpackedHead>, Vec<SignatureCheck>), BatchError> {
        let mut leaves: Vec<BTreeMap<u32, Hash>> = vec![BTreeMap::new(); self.ticks.len()];
        let mut heads = Vec::with_capacity(self.heads.len());
        for (at, head) in self.heads.iter().enumerate() {
            let header = BlockHeader {
                chain_id: head.chain_id,
                height: head.height,
                prev_hash: head.prev_hash,
                timestamp_ms: head.timestamp_ms,
                proposer: *lookup(&self.hosts, at, head.proposer)?,
                tx_root: head.tx_root,
                state_root: head.state_root,
                validators_hash: *lookup(&self.sets, at, head.validators)?,
            };
            let leaf = precommit_leaf(&header, head.round);
            let mut signers = Vec::with_capacity(head.signatures.len());
            for signature in head.signatures.iter() {
                let tick = lookup(&self.ticks, at, signature.tick)?;
                let place = signature.tick as usize;
                if tick.depth < 32 && signature.index >> tick.depth != 0 {
                    return Err(BatchError::LeafOutside {
                        head: at,
                        tick: place,
                        index: signature.index,
                    });
                }
                if leaves[place]
                    .insert(signature.index, leaf)
                    .is_some_and(|l| l != leaf)
                {
                    return Err(BatchError::LeafTwice {
                        tick: place,
                        index: signature.index,
                    });
                }
                signers.push(*lookup(&self.hosts, at, tick.signer)?);
            }
            heads.push(UnpackedHead {
                header,
                round: head.round,
                signers,
            });
        }
        let mut checks = Vec::with_capacity(self.ticks.len());
        for (place, (tick, leaves)) in self.ticks.iter().zip(&leaves).enumerate() {
            if tick.depth as usize > TICK_PATH_MAX {
                return Err(BatchError::TooDeep {
                    tick: place,
                    depth: tick.depth,
                });
            }
            if leaves.is_empty() {
                return Err(BatchError::UnusedTick { tick: place });
            }
            let signer = self
                .hosts
                .get(tick.signer as usize)
                .ok_or(BatchError::BadSigner {
                    tick: place,
                    index: tick.signer,
                    len: self.hosts.len(),
                })?;
            let root = multiproof_root(tick.depth, leaves, &tick.siblings).ok_or(
                BatchError::Siblings {
                    tick: place,
                    got: tick.siblings.len(),
                    leaves: leaves.len(),
                },
            )?;
            checks.push(SignatureCheck {
                public_key: signer.0,
                message: root_bytes(&root),
                signature: tick.signature,
            });
        }
        Ok((heads, checks))
    }

    /// The tick signatures to check; a batch that does not unpack gets one that fails (its
    /// scalar is past the group's order, which ZIP-215 refuses).
    pub fn signature_checks(&self) -> Vec<SignatureCheck> {
        self.unpack().map_or_else(
            |_| {
                vec![SignatureCheck {
                    public_key: [0; 32],
                    message: root_bytes(&EMPTY),
                    signature: Signature([0xff; 64]),
                }]
            },
            |(_, checks)| checks,
        )
    }
}

/// A tick being packed: its signer, signature and depth, the paths of its leaves so far,
/// the nodes of its tree they make known, and how many siblings those need.
#[derive(Debug)]
struct PackingTick {
    signer: u32,
    signature: Signature,
    depth: u8,
    paths: BTreeMap<u32, BoundedVec<Hash, TICK_PATH_MAX>>,
    known: HashSet<(u8, u64)>,
    siblings: usize,
}

impl PackingTick {
    /// How the count of siblings changes if leaf `index` joins: going up from it, each
    /// newly known node needs its sibling, until one whose sibling is known (which was
    /// needed and no longer is).
    fn siblings_change(&self, index: u32) -> isize {
        let mut change = 0;
        for level in 0..self.depth {
            let node = u64::from(index) >> level;
            if self.known.contains(&(level, node)) {
                break;
            }
            if self.known.contains(&(level, node ^ 1)) {
                change -= 1;
                break;
            }
            change += 1;
        }
        change
    }

    fn take(&mut self, index: u32, path: &BoundedVec<Hash, TICK_PATH_MAX>) {
        let change = self.siblings_change(index);
        self.siblings = self.siblings.saturating_add_signed(change);
        for level in 0..self.depth {
            if !self.known.insert((level, u64::from(index) >> level)) {
                break;
            }
        }
        self.paths.insert(index, path.clone());
    }
}

/// Packs plain heads (no set changes, no bonds) into a [`HeadBatch`], knowing at each step
/// the exact size of the entry it makes — so that a host fills an anchor transaction to its
/// bound and no further.
#[derive(Debug, Default)]
pub struct HeadPacker {
    sets: Vec<Hash>,
    set_index: HashMap<Hash, u32>,
    hosts: Vec<HostId>,
    host_index: HashMap<HostId, u32>,
    ticks: Vec<PackingTick>,
    tick_index: HashMap<(HostId, Signature, u8), u32>,
    heads: Vec<BatchHead>,
    /// The encoded size of the heads, tables and ticks, siblings aside.
    bytes: usize,
}

/// Encoded sizes: a vector's length prefix, a tick without its siblings, a head without its
/// signatures, one signature of a head.
const LEN: usize = 4;
const TICK_BYTES: usize = 4 + 1 + LEN + 64;
const HEAD_BYTES: usize = 32 + 8 + 32 + 8 + 4 + 32 + 32 + 4 + 4 + LEN;
const SIGNATURE_BYTES: usize = 8;

/// Whether `head` can be packed: it carries no set changes or bonds, and its certificate
/// names its header, each signer once (one that does not goes as it is, for the root to
/// say what is wrong).
pub fn packable(head: &AnchoredHead) -> bool {
    let certificate = &head.certificate;
    let signers: HashSet<&HostId> = certificate.signatures.iter().map(|s| &s.host).collect();
    signers.len() == certificate.signatures.len()
        && head.changes.is_empty()
        && head.bonds.is_empty()
        && certificate.chain_id == head.header.chain_id
        && certificate.height == head.header.height
        && certificate.block_hash == head.header.hash()
        && certificate
            .signatures
            .iter()
            .all(|s| s.signature.path.len() <= TICK_PATH_MAX)
}

impl HeadPacker {
    pub fn new() -> HeadPacker {
        HeadPacker {
            // The entry's tag and the four vectors' lengths.
            bytes: 1 + 4 * LEN,
            ..HeadPacker::default()
        }
    }

    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// The exact encoded size of the entry [`HeadPacker::finish`] makes.
    pub fn size(&self) -> usize {
        self.bytes + 32 * self.ticks.iter().map(|tick| tick.siblings).sum::<usize>()
    }

    fn tick_key(s: &CommitSignature) -> (HostId, Signature, u8) {
        (s.host, s.signature.signature, s.signature.path.len() as u8)
    }

    /// Whether this batch has room for `head` (a packable one): within its bounds, and no
    /// leaf it names taken already.
    fn has_room(&self, head: &AnchoredHead) -> bool {
        let signatures = &head.certificate.signatures;
        self.heads.len() < BATCH_HEADS_MAX
            && self.hosts.len() + 1 + signatures.len() <= BATCH_TABLE_MAX
            && self.sets.len() < BATCH_TABLE_MAX
            && self.ticks.len() + signatures.len() <= BATCH_TABLE_MAX
            && signatures.iter().all(|s| {
                self.tick_index.get(&Self::tick_key(s)).is_none_or(|tick| {
                    let tick = &self.ticks[*tick as usize];
                    !tick.paths.contains_key(&s.signature.index)
                        && tick.siblings + tick.depth as usize <= BATCH_SIBLINGS_MAX
                })
            })
    }

    /// How many bytes the entry grows by if it takes `head`, or `None` if it cannot.
    pub fn cost(&self, head: &AnchoredHead) -> Option<usize> {
        if !packable(head) || !self.has_room(head) {
            return None;
        }
        let certificate = &head.certificate;
        let new_hosts: HashSet<&HostId> = std::iter::once(&head.header.proposer)
            .chain(certificate.signatures.iter().map(|s| &s.host))
            .filter(|host| !self.host_index.contains_key(host))
            .collect();
        let mut bytes = (HEAD_BYTES + SIGNATURE_BYTES * certificate.signatures.len()) as isize;
        bytes += 32 * new_hosts.len() as isize;
        if !self.set_index.contains_key(&head.header.validators_hash) {
            bytes += 32;
        }
        for s in certificate.signatures.iter() {
            let (_, _, depth) = Self::tick_key(s);
            bytes += match self.tick_index.get(&Self::tick_key(s)) {
                Some(tick) => 32 * self.ticks[*tick as usize].siblings_change(s.signature.index),
                None => (TICK_BYTES + 32 * depth as usize) as isize,
            };
        }
        Some(bytes.max(0) as usize)
    }

    /// Takes `head` into the batch; `false` (and nothing taken) if it cannot go in.
    pub fn push(&mut self, head: &AnchoredHead) -> bool {
        if !packable(head) || !self.has_room(head) {
            return false;
        }
        let header = &head.header;
        let proposer = self.host(header.proposer);
        let validators = match self.set_index.get(&header.validators_hash) {
            Some(index) => *index,
            None => {
                let index = self.sets.len() as u32;
                self.sets.push(header.validators_hash);
                self.set_index.insert(header.validators_hash, index);
                self.bytes += 32;
                index
            }
        };
        let mut signatures = Vec::with_capacity(head.certificate.signatures.len());
        for s in head.certificate.signatures.iter() {
            let signer = self.host(s.host);
            let key = Self::tick_key(s);
            let tick = match self.tick_index.get(&key) {
                Some(tick) => *tick,
                None => {
                    let tick = self.ticks.len() as u32;
                    self.ticks.push(PackingTick {
                        signer,
                        signature: key.1,
                        depth: key.2,
                        paths: BTreeMap::new(),
                        known: HashSet::new(),
                        siblings: 0,
                    });
                    self.tick_index.insert(key, tick);
                    self.bytes += TICK_BYTES;
                    tick
                }
            };
            self.ticks[tick as usize].take(s.signature.index, &s.signature.path);
            signatures.push(BatchSignature {
                tick,
                index: s.signature.index,
            });
        }
        self.bytes += HEAD_BYTES + SIGNATURE_BYTES * signatures.len();
        self.heads.push(BatchHead {
            chain_id: header.chain_id,
            height: header.height,
            prev_hash: header.prev_hash,
            timestamp_ms: header.timestamp_ms,
            proposer,
            tx_root: header.tx_root,
            state_root: header.state_root,
            validators,
            round: head.certificate.round,
            // At most the certificate's own count.
            signatures: BoundedVec::new(signatures).unwrap_or_default(),
        });
        true
    }

    fn host(&mut self, host: HostId) -> u32 {
        if let Some(index) = self.host_index.get(&host) {
            return *index;
        }
        let index = self.hosts.len() as u32;
        self.hosts.push(host);
        self.host_index.insert(host, index);
        self.bytes += 32;
        index
    }

    /// The batch, as an anchor entry; `None` if it holds no head.
    pub fn finish(self) -> Option<AnchorEntry> {
        if self.heads.is_empty() {
            return None;
        }
        let ticks = self
            .ticks
            .into_iter()
            .map(|tick| BatchTick {
                signer: tick.signer,
                depth: tick.depth,
                siblings: BoundedVec::new(multiproof_siblings(tick.depth, &tick.paths))
                    .unwrap_or_default(),
                signature: tick.signature,
            })
            .collect();
        // Within the bounds: `has_room` kept every table and the heads within them.
        Some(AnchorEntry::Heads(Box::new(HeadBatch {
            sets: BoundedVec::new(self.sets).unwrap_or_default(),
            hosts: BoundedVec::new(self.hosts).unwrap_or_default(),
            ticks: BoundedVec::new(ticks).unwrap_or_default(),
            heads: BoundedVec::new(self.heads).unwrap_or_default(),
        })))
    }
}

/// The siblings a multiproof of the leaves with these `paths` carries, in its order: the
/// sibling of a node at a level is in the path of any leaf below it.
fn multiproof_siblings(
    depth: u8,
    paths: &BTreeMap<u32, BoundedVec<Hash, TICK_PATH_MAX>>,
) -> Vec<Hash> {
    // Each known node, with the path of one leaf below it.
    let mut level: Vec<(u64, &BoundedVec<Hash, TICK_PATH_MAX>)> = paths
        .iter()
        .map(|(index, path)| (u64::from(*index), path))
        .collect();
    let mut siblings = Vec::new();
    for height in 0..depth as usize {
        let mut up = Vec::with_capacity(level.len());
        let mut i = 0;
        while i < level.len() {
            let (index, path) = level[i];
            let paired = index & 1 == 0 && level.get(i + 1).is_some_and(|(o, _)| *o == index + 1);
            if paired {
                i += 1;
            } else {
                siblings.push(path.get(height).copied().unwrap_or(EMPTY));
            }
            up.push((index >> 1, path));
            i += 1;
        }
        level = up;
    }
    siblings
}

/// Anchor entries gathered for one transaction, one by one, with the size they come to
/// once their heads are packed: what fills a transaction to its bound.
#[derive(Debug)]
pub struct AnchorPacking {
    entries: Vec<AnchorEntry>,
    packer: HeadPacker,
    /// The encoded size of the entries that do not go into the batch.
    bytes: usize,
}

impl Default for AnchorPacking {
    fn default() -> AnchorPacking {
        AnchorPacking {
            entries: Vec::new(),
            packer: HeadPacker::new(),
            bytes: 0,
        }
    }
}

impl AnchorPacking {
    /// The entries so far, unpacked.
    pub fn entries(&self) -> &[AnchorEntry] {
        &self.entries
    }

    pub fn into_entries(self) -> Vec<AnchorEntry> {
        self.entries
    }

    /// Whether `more` entries still fit in `bytes_max` and `entries_max`, packed.
    pub fn fits(&self, more: &[AnchorEntry], bytes_max: usize, entries_max: usize) -> bool {
        let added: usize = more
            .iter()
            .map(|entry| {
                match entry {
                    AnchorEntry::Head(head) => self.packer.cost(head),
                    _ => None,
                }
                .unwrap_or_else(|| encode(entry).len())
            })
            .sum();
        self.bytes + self.packer.size() + added <= bytes_max
            && self.entries.len() + more.len() <= entries_max
    }

    pub fn take(&mut self, more: Vec<AnchorEntry>) {
        for entry in more {
            match &entry {
                AnchorEntry::Head(head) if self.packer.push(head) => {}
                _ => self.bytes += encode(&entry).len(),
            }
            self.entries.push(entry);
        }
    }
}

/// Anchor entries with their packable heads packed into batches, after the other entries
/// (so that a chain's genesis still comes before its head).
pub fn pack(entries: Vec<AnchorEntry>) -> Vec<AnchorEntry> {
    let mut packed = Vec::with_capacity(entries.len());
    let mut packer = HeadPacker::new();
    for entry in entries {
        match entry {
            AnchorEntry::Head(head) if packable(&head) => {
                if !packer.push(&head) {
                    let full = std::mem::replace(&mut packer, HeadPacker::new());
                    packed.extend(full.finish());
                    if !packer.push(&head) {
                        packed.push(AnchorEntry::Head(head));
                    }
                }
            }
            other => packed.push(other),
        }
    }
    packed.extend(packer.finish());
    packed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::block::Vote;
    use crate::crypto::{BatchVerifier, SecretKey};
    use crate::encoding::{decode, encode};
    use crate::tick::sign_tick;

    fn keys() -> Vec<SecretKey> {
        (1..=4)
            .map(|seed| SecretKey::from_seed([seed; 32]))
            .collect()
    }

    fn header(chain: u16, height: u64, keys: &[SecretKey]) -> BlockHeader {
        let mut id = [0; 32];
        id[..2].copy_from_slice(&chain.to_le_bytes());
        BlockHeader {
            chain_id: ChainId(id),
            height: Height(height),
            prev_hash: Hash([chain as u8; 32]),
            timestamp_ms: 1_000 + u64::from(chain),
            proposer: keys[usize::from(chain) % keys.len()].host_id(),
            tx_root: Hash([3; 32]),
            state_root: Hash([chain as u8 ^ 0x55; 32]),
            validators_hash: Hash([(chain % 3) as u8; 32]),
        }
    }

    /// Heads of `chains` chains whose precommits the first three keys sign in ticks of
    /// `tick` chains, with some other vote before every `gap`-th precommit (so that the
    /// multiproofs need siblings).
    fn heads(chains: u16, tick: usize, gap: usize) -> Vec<AnchoredHead> {
        let keys = keys();
        let headers: Vec<BlockHeader> = (0..chains).map(|c| header(c, 5, &keys)).collect();
        let mut out = Vec::new();
        for group in headers.chunks(tick) {
            let mut leaves = Vec::new();
            let mut place = Vec::new();
            for (i, header) in group.iter().enumerate() {
                if gap > 0 && i % gap == 0 {
                    let other = Vote {
                        chain_id: header.chain_id,
                        height: Height(99),
                        round: Round(0),
                        step: crate::block::VoteStep::Prevote,
                        block_hash: None,
                    };
                    leaves.push(tick_leaf(&other));
                }
                place.push(leaves.len());
                leaves.push(precommit_leaf(header, Round(1)));
            }
            let signed: Vec<_> = keys[..3].iter().map(|k| sign_tick(k, &leaves)).collect();
            for (i, header) in group.iter().enumerate() {
                let signatures = keys[..3]
                    .iter()
                    .zip(&signed)
                    .map(|(key, ticks)| CommitSignature {
                        host: key.host_id(),
                        signature: ticks[place[i]].clone(),
                    })
                    .collect();
                out.push(AnchoredHead {
                    changes: BoundedVec::default(),
                    header: header.clone(),
                    certificate: Certificate {
                        chain_id: header.chain_id,
                        height: header.height,
                        round: Round(1),
                        block_hash: header.hash(),
                        signatures: BoundedVec::new(signatures).unwrap(),
                    },
                    bonds: BoundedVec::default(),
                });
            }
        }
        out
    }

    fn edit<T: Clone + std::fmt::Debug, const MAX: usize>(
        items: &BoundedVec<T, MAX>,
        change: &dyn Fn(&mut Vec<T>),
    ) -> BoundedVec<T, MAX> {
        let mut items = items.clone().into_inner();
        change(&mut items);
        BoundedVec::new(items).unwrap()
    }

    fn verifies(checks: &[SignatureCheck]) -> bool {
        let mut batch = BatchVerifier::new();
        for check in checks {
            batch.queue_check(check);
        }
        batch.verify(rand_core::OsRng).is_ok()
    }

    #[test]
    fn a_packed_batch_unpacks_to_its_heads_and_its_ticks_verify() {
        for (chains, tick, gap) in [(1, 1, 0), (7, 4, 0), (40, 16, 3), (100, 64, 5), (33, 8, 1)] {
            let heads = heads(chains, tick, gap);
            let mut packer = HeadPacker::new();
            for head in &heads {
                let before = packer.size();
                let cost = packer.cost(head).unwrap();
                assert!(packer.push(head));
                assert_eq!(packer.size(), before + cost, "the cost is the growth");
            }
            let size = packer.size();
            let entry = packer.finish().unwrap();
            assert_eq!(encode(&entry).len(), size, "the size is exact");
            let AnchorEntry::Heads(batch) = entry else {
                panic!("not a batch")
            };
            let (unpacked, checks) = batch.unpack().unwrap();
            assert_eq!(checks.len(), batch.ticks.len());
            assert!(verifies(&checks));
            for (head, unpacked) in heads.iter().zip(&unpacked) {
                assert_eq!(unpacked.header, head.header);
                assert_eq!(unpacked.round, head.certificate.round);
                let signers: Vec<HostId> =
                    head.certificate.signatures.iter().map(|s| s.host).collect();
                assert_eq!(unpacked.signers, signers);
            }
            // Far smaller than the heads one by one, once ticks are shared.
            let plain: usize = heads
                .iter()
                .map(|h| encode(&AnchorEntry::Head(Box::new(h.clone()))).len())
                .sum();
            if tick >= 16 {
                assert!(size * 3 < plain, "{size} packed, {plain} plain");
            }
        }
    }

    #[test]
    fn every_altered_byte_of_a_batch_fails_to_decode_unpack_or_verify() {
        let heads = heads(3, 4, 1);
        let mut packer = HeadPacker::new();
        for head in &heads {
            assert!(packer.push(head));
        }
        let bytes = encode(&packer.finish().unwrap());
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            let Ok(AnchorEntry::Heads(batch)) = decode::<AnchorEntry>("entry", &bad) else {
                continue;
            };
            if let Ok((_, checks)) = batch.unpack() {
                assert!(!verifies(&checks), "byte {at} altered still verifies");
            }
        }
    }

    #[test]
    fn a_malformed_batch_says_what_is_wrong() {
        let heads = heads(6, 8, 2);
        let mut packer = HeadPacker::new();
        for head in &heads {
            assert!(packer.push(head));
        }
        let Some(AnchorEntry::Heads(batch)) = packer.finish() else {
            panic!("no batch")
        };
        let edit_heads = |change: &dyn Fn(&mut Vec<BatchHead>)| {
            let mut bad = (*batch).clone();
            bad.heads = edit(&bad.heads, change);
            bad.unpack()
        };
        assert!(matches!(
            edit_heads(&|heads| heads[0].proposer = 99),
            Err(BatchError::BadReference {
                head: 0,
                index: 99,
                ..
            })
        ));
        assert!(matches!(
            edit_heads(&|heads| {
                heads[1].signatures = edit(&heads[1].signatures, &|s| s[0].index = 1 << 20)
            }),
            Err(BatchError::LeafOutside { head: 1, .. })
        ));
        assert!(matches!(
            edit_heads(&|heads| {
                let first = heads[0].signatures[0];
                heads[1].signatures = edit(&heads[1].signatures, &|s| s[0] = first)
            }),
            Err(BatchError::LeafTwice { .. })
        ));
        let mut bad = (*batch).clone();
        bad.ticks = edit(&bad.ticks, &|ticks| {
            ticks[0].siblings = edit(&ticks[0].siblings, &|s| s.push(Hash::ZERO))
        });
        assert!(matches!(
            bad.unpack(),
            Err(BatchError::Siblings { tick: 0, .. })
        ));
        assert_eq!(bad.signature_checks().len(), 1);
        assert!(!verifies(&bad.signature_checks()));
    }

    #[test]
    fn pack_keeps_what_it_cannot_batch_and_puts_the_batch_last() {
        let mut heads = heads(5, 4, 0);
        heads[2].certificate.height = Height(4);
        let entries: Vec<AnchorEntry> = heads
            .iter()
            .map(|h| AnchorEntry::Head(Box::new(h.clone())))
            .collect();
        let packed = pack(entries);
        assert_eq!(packed.len(), 2);
        assert_eq!(packed[0], AnchorEntry::Head(Box::new(heads[2].clone())));
        let AnchorEntry::Heads(batch) = &packed[1] else {
            panic!("no batch")
        };
        assert_eq!(batch.heads.len(), 4);
    }
}

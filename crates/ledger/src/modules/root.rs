//! The root chain's transactions: hosts register with a bond and renew (`RegisterHost`),
//! take their bond back once their registration has lapsed for the unbonding time
//! (`WithdrawBond`), anchor other chains (`Anchor`), and anyone can show evidence that a
//! host signed two conflicting votes, which slashes its bond (`SubmitEvidence`).
//!
//! Anchoring: a chain enters the directory with its signed genesis; from then on the root
//! knows the validator set in force from some height, and anchors a newer head only if its
//! certificate's signers hold a quorum of that set. A head signed by a set the root does
//! not know yet comes with the blocks at which the set changed: each certified by the set
//! before it, with the chain's meta after it, whose hash the block's state root commits
//! to, naming the next set. Many chains' heads may come packed in one batch (see
//! `myriad_types::heads`), unpacked here into the same headers and signers. The sets a
//! chain replaced stay in its set history for the unbonding time, so that evidence of a
//! fork (a certified header that cannot be of one chain with the anchored head) may start
//! from the set forgers replaced with one of their own (see `docs/root.md`). Signatures
//! (certificates, tick signatures, geneses) are checked before, in the host's batch with
//! the transaction's own; this module checks who signed and how much power they hold.

use std::collections::BTreeMap;

use myriad_types::{
    decode, AnchorEntry, BlockHeader, BondProof, BoundedVec, Certificate, ChainAnchor, ChainId,
    ChainKind, Equivocation, EvidenceRecord, ForkEvidence, Hash, Height, HostAnnouncement,
    HostEntry, HostId, KnownSet, Object, ObjectKey, OwnerBond, ReplacedSet, RootParams, SetChange,
    SetHistory, SignedGenesis, ValidatorSet, SET_HISTORY_MAX,
};

use super::{credit, debited, BlockContext, Sending, Touched};
use crate::apply::TxError;
use crate::state::{state_root, verify_object, ChainMeta, ChainState, StateProof, StateView};

/// Why an anchor entry is refused (the whole transaction with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    #[error("genesis: {0}")]
    Genesis(String),
    #[error("the root does not anchor a root chain")]
    RootGenesis,
    #[error("the chain is not in the directory: anchor its genesis first")]
    NotInDirectory,
    #[error("the certificate is for block {got_block} at height {got_height} of chain {got_chain}, not block {expected} at height {height} of this chain")]
    CertificateMismatch {
        expected: Hash,
        height: Height,
        got_block: Hash,
        got_height: Height,
        got_chain: ChainId,
    },
    #[error("a header of chain {got} in this chain's entry")]
    OtherChain { got: ChainId },
    #[error("block {height} is signed by validator set {signed_by}, but the root knows set {known} from height {from}: include the blocks where the set changed")]
    UnknownSet {
        height: Height,
        signed_by: Hash,
        known: Hash,
        from: Height,
    },
    #[error("certificate of block {height}: {error}")]
    Certificate {
        height: Height,
        error: myriad_types::CertificateError,
    },
    #[error("set change at block {height}: the meta and tree roots do not hash to its state root")]
    MetaProof { height: Height },
    #[error("set change at block {height}: the meta is not this chain's after that block")]
    MetaMismatch { height: Height },
    #[error("set change: {0}")]
    BadMeta(String),
    #[error("set changes must come in height order, each below the head")]
    ChangeOrder,
    #[error("the bond of host {host} does not prove against the head's state root")]
    BondProof { host: HostId },
    #[error("no fork shown: block {height} is neither another block at height {taken}, which the root took from the set the evidence starts from, nor a lower one made {} s after it was taken", ANCHOR_CLOCK_SKEW_MS / 1000)]
    NoFork { height: Height, taken: Height },
    #[error("block {height} says it was made at {time_ms} ms, more than {} s after this root block's time ({root_time_ms} ms)", ANCHOR_CLOCK_SKEW_MS / 1000)]
    FromTheFuture {
        height: Height,
        time_ms: u64,
        root_time_ms: u64,
    },
    #[error("the root trusted no set of this chain from height {from} (or no longer keeps it): start from the set it keeps or one of its set history")]
    UnknownStart { from: Height },
    #[error("the chain replaced {} validator sets within the root's unbonding time: a change is taken again from {until_ms} ms", SET_HISTORY_MAX)]
    SetHistoryFull { until_ms: u64 },
}

/// How far past the root block's time an anchored head's time may be. A chain's block
/// times rise with its heights, so a block it makes this long after its anchor, at a lower
/// height, shows that the anchored head is not the chain's (a head a replaced set forged
/// far above the chain's cannot wait for the chain to reach it).
pub const ANCHOR_CLOCK_SKEW_MS: u64 = 10_000;

/// A block of a chain that the root took, certified by a set it trusted, and when: an
/// anchored head, or the set change that replaced a set of its set history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenBlock {
    pub height: Height,
    pub hash: Hash,
    pub at_ms: u64,
}

impl TakenBlock {
    pub fn anchored(anchor: &ChainAnchor) -> TakenBlock {
        TakenBlock {
            height: anchor.height,
            hash: anchor.block_hash,
            at_ms: anchor.anchored_at_ms,
        }
    }

    pub fn replacing(set: &ReplacedSet) -> TakenBlock {
        TakenBlock {
            height: set.replaced_at,
            hash: set.replaced_by,
            at_ms: set.replaced_at_ms,
        }
    }

    /// Whether a certified `header` cannot be of one chain with this block: another block
    /// at its height, or a lower one made after it could have been (the root takes no
    /// block from more than [`ANCHOR_CLOCK_SKEW_MS`] past its own time, and a chain's block
    /// times rise with its heights).
    pub fn contradicted_by(&self, header: &BlockHeader) -> bool {
        let other_block = header.height == self.height && header.hash() != self.hash;
        let later_below = header.height < self.height
            && header.timestamp_ms >= self.at_ms.saturating_add(ANCHOR_CLOCK_SKEW_MS);
        other_block || later_below
    }
}

/// Refuses a block from more than [`ANCHOR_CLOCK_SKEW_MS`] past the root block's time.
fn not_from_the_future(header: &BlockHeader, time_ms: u64) -> Result<(), AnchorError> {
    if header.timestamp_ms > time_ms.saturating_add(ANCHOR_CLOCK_SKEW_MS) {
        return Err(AnchorError::FromTheFuture {
            height: header.height,
            time_ms: header.timestamp_ms,
            root_time_ms: time_ms,
        });
    }
    Ok(())
}

/// The root's rules, or a refusal on any other chain.
fn root_params(state: &impl StateView) -> Result<RootParams, TxError> {
    match state.meta().kind {
        ChainKind::Root(params) => Ok(params),
        ChainKind::Personal => Err(TxError::RootOnly),
    }
}

fn host_entry(state: &impl StateView, host: &HostId) -> Option<HostEntry> {
    match state.object(&ObjectKey::Host(*host)) {
        Some(Object::Host(entry)) => Some(entry),
        _ => None,
    }
}

pub(super) fn check_announcement(announcement: &HostAnnouncement) -> Result<(), TxError> {
    announcement.check().map_err(TxError::BadAnnouncement)
}

pub(super) fn register(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    announcement: &HostAnnouncement,
    bond: u128,
) -> Result<Touched, TxError> {
    let params = root_params(state)?;
    let host = HostId(sending.sender.0);
    let existing = host_entry(state, &host);
    let sender_after = debited(&sending, bond)?;
    let total = existing
        .as_ref()
        .map_or(0, |entry| entry.bond)
        .checked_add(bond)
        .ok_or(TxError::Overflow("bond"))?;
    if total < params.host_bond_min {
        return Err(TxError::BondTooSmall {
            bond: total,
            min: params.host_bond_min,
        });
    }
    let entry = HostEntry {
        host,
        announcement: announcement.clone(),
        bond: total,
        registered_at_ms: existing
            .as_ref()
            .filter(|entry| entry.is_registered(context.time_ms))
            .map_or(context.time_ms, |entry| entry.registered_at_ms),
        expires_at_ms: context.time_ms.saturating_add(params.host_lease_ms),
        slashed: existing.as_ref().map_or(0, |entry| entry.slashed),
        evidence: existing.as_ref().map_or(0, |entry| entry.evidence),
        last_evidence: existing.and_then(|entry| entry.last_evidence),
    };
    state.set_account(sending.sender, sender_after);
    state.set_object(ObjectKey::Host(host), Some(Object::Host(entry)));
    Ok(Touched::object(ObjectKey::Host(host), Vec::new()))
}

pub(super) fn withdraw(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
) -> Result<Touched, TxError> {
    let params = root_params(state)?;
    let host = HostId(sending.sender.0);
    let key = ObjectKey::Host(host);
    let entry = host_entry(state, &host).ok_or(TxError::NoSuchObject(key))?;
    let free_at_ms = entry.expires_at_ms.saturating_add(params.unbond_ms);
    if context.time_ms < free_at_ms || entry.bond == 0 {
        return Err(TxError::StillBonded {
            bond: entry.bond,
            free_at_ms,
        });
    }
    let bond = entry.bond;
    credit(
        state,
        sending.sender,
        sending.sender_after,
        sending.sender,
        bond,
    )?;
    state.set_object(key, Some(Object::Host(HostEntry { bond: 0, ..entry })));
    Ok(Touched::object(key, Vec::new()))
}

pub(super) fn evidence(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    evidence: &Equivocation,
) -> Result<Touched, TxError> {
    root_params(state)?;
    evidence.check_form().map_err(TxError::Evidence)?;
    let id = evidence.hash();
    if state.object(&ObjectKey::Evidence(id)).is_some() {
        return Err(TxError::ObjectExists(ObjectKey::Evidence(id)));
    }
    let host = evidence.voter();
    let key = ObjectKey::Host(host);
    let entry = host_entry(state, &host).ok_or(TxError::NoSuchObject(key))?;
    let slashed = entry.bond;
    let meta = state.meta();
    let (supply, burned) = (
        meta.supply
            .checked_sub(slashed)
            .ok_or(TxError::Overflow("supply"))?,
        meta.burned
            .checked_add(slashed)
            .ok_or(TxError::Overflow("burned total"))?,
    );
    let entry = HostEntry {
        bond: 0,
        expires_at_ms: entry.expires_at_ms.min(context.time_ms),
        slashed: entry.slashed.saturating_add(slashed),
        evidence: entry.evidence.saturating_add(1),
        last_evidence: Some(id),
        ..entry
    };
    let vote = &evidence.first.vote;
    let record = EvidenceRecord {
        id,
        host,
        chain_id: vote.chain_id,
        height: vote.height,
        at_ms: context.time_ms,
    };
    state.set_account(sending.sender, sending.sender_after);
    state.set_object(key, Some(Object::Host(entry)));
    state.set_object(ObjectKey::Evidence(id), Some(Object::Evidence(record)));
    let meta = state.meta_mut();
    meta.supply = supply;
    meta.burned = burned;
    Ok(Touched {
        accounts: Vec::new(),
        objects: vec![key, ObjectKey::Evidence(id)],
    })
}

/// Objects read and written while an anchor transaction is checked: nothing reaches the
/// state unless every entry passes.
struct Overlay<'a, S> {
    state: &'a S,
    written: BTreeMap<ObjectKey, Option<Object>>,
}

impl<S: StateView> Overlay<'_, S> {
    fn get(&self, key: &ObjectKey) -> Option<Object> {
        match self.written.get(key) {
            Some(object) => object.clone(),
            None => self.state.object(key),
        }
    }

    fn anchor(&self, chain: &ChainId) -> Option<ChainAnchor> {
        match self.get(&ObjectKey::Anchor(*chain)) {
            Some(Object::Anchor(anchor)) => Some(anchor),
            _ => None,
        }
    }

    fn known_set(&self, hash: &Hash) -> Option<KnownSet> {
        match self.get(&ObjectKey::KnownSet(*hash)) {
            Some(Object::KnownSet(known)) => Some(known),
            _ => None,
        }
    }

    fn put(&mut self, object: Object) {
        self.written.insert(object.key(), Some(object));
    }

    /// The sets the root followed `chain` out of and still keeps at `time_ms`: those
    /// replaced `unbond_ms` ago or longer are let go.
    fn kept_history(&mut self, chain: &ChainId, time_ms: u64, unbond_ms: u64) -> Vec<ReplacedSet> {
        let mut sets = self.history(chain);
        let expired = sets
            .iter()
            .take_while(|r| r.kept_until_ms(unbond_ms) <= time_ms)
            .count();
        for replaced in sets.drain(..expired) {
            self.release_set(&replaced.validators_hash);
        }
        sets
    }

    fn history(&self, chain: &ChainId) -> Vec<ReplacedSet> {
        match self.get(&ObjectKey::SetHistory(*chain)) {
            Some(Object::SetHistory(history)) => history.sets.into_inner(),
            _ => Vec::new(),
        }
    }

    fn put_history(&mut self, chain_id: ChainId, sets: Vec<ReplacedSet>) {
        let key = ObjectKey::SetHistory(chain_id);
        let history = match BoundedVec::new(sets) {
            Ok(sets) if !sets.is_empty() => Some(Object::SetHistory(SetHistory { chain_id, sets })),
            _ => None,
        };
        self.written.insert(key, history);
    }

    /// One more chain names `set`.
    fn retain_set(&mut self, set: ValidatorSet) {
        let hash = set.hash();
        let known = match self.known_set(&hash) {
            Some(known) => KnownSet {
                chains: known.chains.saturating_add(1),
                ..known
            },
            None => KnownSet {
                validators: set,
                chains: 1,
            },
        };
        self.put(Object::KnownSet(known));
    }

    /// One chain fewer names the set of `hash`; the last one lets it go.
    fn release_set(&mut self, hash: &Hash) {
        if let Some(known) = self.known_set(hash) {
            match known.chains {
                0 | 1 => {
                    self.written.insert(ObjectKey::KnownSet(*hash), None);
                }
                chains => self.put(Object::KnownSet(KnownSet {
                    chains: chains - 1,
                    ..known
                })),
            }
        }
    }
}

/// The shape of an anchor's entries: every batch unpacks.
pub(super) fn check_entries(entries: &[AnchorEntry]) -> Result<(), TxError> {
    for entry in entries {
        if let AnchorEntry::Heads(batch) = entry {
            batch.unpack().map_err(TxError::AnchorBatch)?;
        }
    }
    Ok(())
}

pub(super) fn anchor(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    entries: &[AnchorEntry],
) -> Result<Touched, TxError> {
    let unbond_ms = root_params(state)?.unbond_ms;
    let host = HostId(sending.sender.0);
    if !host_entry(state, &host).is_some_and(|entry| entry.is_registered(context.time_ms)) {
        return Err(TxError::NotRegistered(host));
    }
    let mut overlay = Overlay {
        state: &*state,
        written: BTreeMap::new(),
    };
    let refused = |chain: ChainId| {
        move |error| TxError::Anchor {
            chain,
            error: Box::new(error),
        }
    };
    for entry in entries {
        match entry {
            AnchorEntry::Genesis(genesis) => enter(context, &mut overlay, genesis)
                .map_err(refused(genesis.genesis.chain_id()))?,
            AnchorEntry::Head(head) => {
                let header = &head.header;
                certificate_signers(header, &head.certificate)
                    .and_then(|signers| {
                        let head_signers = Signed {
                            header,
                            signers: &signers,
                        };
                        advance(
                            context,
                            unbond_ms,
                            &mut overlay,
                            &head.changes,
                            head_signers,
                            &head.bonds,
                        )
                    })
                    .map_err(refused(header.chain_id))?;
            }
            AnchorEntry::Heads(batch) => {
                let (heads, _) = batch.unpack().map_err(TxError::AnchorBatch)?;
                for head in &heads {
                    let signed = Signed {
                        header: &head.header,
                        signers: &head.signers,
                    };
                    advance(context, unbond_ms, &mut overlay, &[], signed, &[])
                        .map_err(refused(head.header.chain_id))?;
                }
            }
            AnchorEntry::Fork(fork) => show_fork(context.time_ms, unbond_ms, &mut overlay, fork)
                .map_err(refused(fork.header.chain_id))?,
        }
    }
    let written = overlay.written;
    state.set_account(sending.sender, sending.sender_after);
    let objects = written.keys().copied().collect();
    for (key, object) in written {
        state.set_object(key, object);
    }
    Ok(Touched {
        accounts: Vec::new(),
        objects,
    })
}

/// A chain enters the directory (once; a later copy of its genesis changes nothing).
fn enter<S: StateView>(
    context: &BlockContext,
    overlay: &mut Overlay<'_, S>,
    signed: &SignedGenesis,
) -> Result<(), AnchorError> {
    let genesis = &signed.genesis;
    let validators = genesis
        .validator_set()
        .map_err(|error| AnchorError::Genesis(error.to_string()))?;
    if genesis.kind != ChainKind::Personal {
        return Err(AnchorError::RootGenesis);
    }
    let chain_id = genesis.chain_id();
    if overlay.anchor(&chain_id).is_some() {
        return Ok(());
    }
    let state_root = ChainState::from_verified_genesis(genesis, validators.clone()).state_root();
    overlay.put(Object::Anchor(ChainAnchor {
        chain_id,
        owner: genesis.owner,
        symbol: genesis.symbol.clone(),
        validators_hash: validators.hash(),
        validators_from: Height(1),
        height: Height(0),
        block_hash: Hash::ZERO,
        state_root,
        anchored_at_ms: context.time_ms,
        forked_at: None,
    }));
    overlay.retain_set(validators);
    Ok(())
}

/// A header with the hosts whose precommits of it the transaction carries (their
/// signatures are checked in the block's batch).
#[derive(Clone, Copy)]
struct Signed<'a> {
    header: &'a BlockHeader,
    signers: &'a [HostId],
}

/// The signers of `certificate`, if it is one of `header`.
fn certificate_signers(
    header: &BlockHeader,
    certificate: &Certificate,
) -> Result<Vec<HostId>, AnchorError> {
    let block_hash = header.hash();
    if certificate.chain_id != header.chain_id
        || certificate.height != header.height
        || certificate.block_hash != block_hash
    {
        return Err(AnchorError::CertificateMismatch {
            expected: block_hash,
            height: header.height,
            got_block: certificate.block_hash,
            got_height: certificate.height,
            got_chain: certificate.chain_id,
        });
    }
    Ok(certificate.signatures.iter().map(|s| s.host).collect())
}

/// A validator set the root trusts for a chain from a height on.
struct Trust {
    chain_id: ChainId,
    validators: ValidatorSet,
    hash: Hash,
    from: Height,
}

impl Trust {
    /// The set the root keeps for the chain of `anchor`.
    fn kept<S: StateView>(
        overlay: &Overlay<'_, S>,
        anchor: &ChainAnchor,
        height: Height,
    ) -> Result<Trust, AnchorError> {
        let known = overlay
            .known_set(&anchor.validators_hash)
            .ok_or(AnchorError::UnknownSet {
                height,
                signed_by: anchor.validators_hash,
                known: anchor.validators_hash,
                from: anchor.validators_from,
            })?;
        Ok(Trust {
            chain_id: anchor.chain_id,
            validators: known.validators,
            hash: anchor.validators_hash,
            from: anchor.validators_from,
        })
    }

    /// The set after a checked change at `height`.
    fn after(&self, validators: ValidatorSet, height: Height) -> Trust {
        Trust {
            chain_id: self.chain_id,
            hash: validators.hash(),
            validators,
            from: Height(height.0.saturating_add(1)),
        }
    }

    /// Checks that `signed`'s header is of this chain, names this set, is at or past the
    /// height it is in force from, and that its signers are a quorum of it.
    fn certifies(&self, signed: Signed<'_>) -> Result<(), AnchorError> {
        let header = signed.header;
        if header.chain_id != self.chain_id {
            return Err(AnchorError::OtherChain {
                got: header.chain_id,
            });
        }
        if header.validators_hash != self.hash || header.height < self.from {
            return Err(AnchorError::UnknownSet {
                height: header.height,
                signed_by: header.validators_hash,
                known: self.hash,
                from: self.from,
            });
        }
        #[cfg(feature = "canary")]
        if crate::canary::anchor_without_quorum() {
            return Ok(());
        }
        self.validators
            .check_signers(signed.signers)
            .map_err(|error| AnchorError::Certificate {
                height: header.height,
                error,
            })
    }
}

/// Follows a chain's set changes, then anchors its head if it is newer than the last; a
/// set replaced goes into the chain's set history. Changes below the anchored head change
/// nothing: the root keeps the set that certified that head, which says which set signed
/// there, and a change below it (perhaps one of several that came back to that set) does
/// not move it. Nor does a head at or below the anchored one: a fork there is shown with
/// [`ForkEvidence`].
fn advance<S: StateView>(
    context: &BlockContext,
    unbond_ms: u64,
    overlay: &mut Overlay<'_, S>,
    changes: &[SetChange],
    head: Signed<'_>,
    bonds: &[BondProof],
) -> Result<(), AnchorError> {
    let chain_id = head.header.chain_id;
    let mut anchor = overlay
        .anchor(&chain_id)
        .ok_or(AnchorError::NotInDirectory)?;
    check_order(changes, head.header.height)?;
    let header = head.header;
    if header.height <= anchor.height {
        return Ok(());
    }
    not_from_the_future(header, context.time_ms)?;
    let mut trust = Trust::kept(overlay, &anchor, header.height)?;
    let mut history: Option<Vec<ReplacedSet>> = None;
    for change in changes {
        let height = change.header.height;
        if height < anchor.validators_from || height < anchor.height {
            continue;
        }
        let next = follow_change(&trust, change)?;
        not_from_the_future(&change.header, context.time_ms)?;
        let next = trust.after(next, height);
        // A change to the same set moves nothing.
        if next.hash != anchor.validators_hash {
            let sets = match &mut history {
                Some(sets) => sets,
                None => history.insert(overlay.kept_history(&chain_id, context.time_ms, unbond_ms)),
            };
            if let Some(oldest) = sets.first().filter(|_| sets.len() == SET_HISTORY_MAX) {
                return Err(AnchorError::SetHistoryFull {
                    until_ms: oldest.kept_until_ms(unbond_ms),
                });
            }
            // The history names the replaced set now, in the anchor's stead.
            sets.push(ReplacedSet {
                validators_hash: anchor.validators_hash,
                from: anchor.validators_from,
                replaced_at: height,
                replaced_by: change.header.hash(),
                replaced_at_ms: context.time_ms,
            });
            overlay.retain_set(next.validators.clone());
            anchor.validators_hash = next.hash;
            anchor.validators_from = next.from;
        }
        trust = next;
    }
    if let Some(sets) = history {
        overlay.put_history(chain_id, sets);
    }
    trust.certifies(head)?;
    for proven in bonds {
        record_bond(overlay, header, proven)?;
    }
    anchor.height = header.height;
    anchor.block_hash = header.hash();
    anchor.state_root = header.state_root;
    anchor.anchored_at_ms = context.time_ms;
    overlay.put(Object::Anchor(anchor));
    Ok(())
}

/// Set changes come in height order, each below the header they lead to.
fn check_order(changes: &[SetChange], below: Height) -> Result<(), AnchorError> {
    let mut last: Option<Height> = None;
    for change in changes {
        let height = change.header.height;
        if height >= below || last.is_some_and(|last| height <= last) {
            return Err(AnchorError::ChangeOrder);
        }
        last = Some(height);
    }
    Ok(())
}

/// Marks a chain forked on a certified header that cannot be of one chain with a block the
/// root took: the anchored head when the evidence starts from the set the root keeps, else
/// the change that replaced the set of its set history it starts from (so that a quorum of
/// a replaced set shows a fork only by certifying two blocks of its own term). The header
/// is reached through the evidence's set changes from that set.
fn show_fork<S: StateView>(
    time_ms: u64,
    unbond_ms: u64,
    overlay: &mut Overlay<'_, S>,
    fork: &ForkEvidence,
) -> Result<(), AnchorError> {
    let header = &fork.header;
    let chain_id = header.chain_id;
    let mut anchor = overlay
        .anchor(&chain_id)
        .ok_or(AnchorError::NotInDirectory)?;
    if anchor.forked_at.is_some() {
        return Ok(());
    }
    let unknown = AnchorError::UnknownStart { from: fork.from };
    let (hash, taken) = if fork.from == anchor.validators_from {
        (anchor.validators_hash, TakenBlock::anchored(&anchor))
    } else {
        let history = overlay.history(&chain_id);
        let set = history
            .iter()
            .find(|r| r.from == fork.from && r.kept_until_ms(unbond_ms) > time_ms)
            .ok_or(unknown.clone())?;
        (set.validators_hash, TakenBlock::replacing(set))
    };
    if !taken.contradicted_by(header) {
        return Err(AnchorError::NoFork {
            height: header.height,
            taken: taken.height,
        });
    }
    check_order(&fork.changes, header.height)?;
    let known = overlay.known_set(&hash).ok_or(unknown)?;
    let mut trust = Trust {
        chain_id,
        validators: known.validators,
        hash,
        from: fork.from,
    };
    for change in fork.changes.iter() {
        let next = follow_change(&trust, change)?;
        trust = trust.after(next, change.header.height);
    }
    let signers = certificate_signers(header, &fork.certificate)?;
    trust.certifies(Signed {
        header,
        signers: &signers,
    })?;
    anchor.forked_at = Some(header.height);
    overlay.put(Object::Anchor(anchor));
    Ok(())
}

/// Records what a chain's owner has bonded to a host (or that nothing is), proven against
/// the state root of the head being anchored.
fn record_bond<S: StateView>(
    overlay: &mut Overlay<'_, S>,
    header: &BlockHeader,
    proven: &BondProof,
) -> Result<(), AnchorError> {
    let host = proven.host;
    let refused = || AnchorError::BondProof { host };
    let proof: StateProof = decode("state proof", &proven.proof).map_err(|_| refused())?;
    let object = proven.bond.map(Object::ValidatorBond);
    if proven.bond.is_some_and(|bond| bond.host != host)
        || !verify_object(
            &header.state_root,
            &ObjectKey::ValidatorBond(host),
            object.as_ref(),
            &proof,
        )
    {
        return Err(refused());
    }
    let key = ObjectKey::OwnerBond(OwnerBond::key_of(&host, &header.chain_id));
    let record = proven.bond.map(|bond| {
        Object::OwnerBond(OwnerBond {
            host,
            chain_id: header.chain_id,
            held: bond.held(),
            vested_at_ms: bond.start_ms.saturating_add(bond.vesting_ms),
            height: header.height,
        })
    });
    overlay.written.insert(key, record);
    Ok(())
}

/// The validator set after a set change's block, once its certificate and meta check.
fn follow_change(trust: &Trust, change: &SetChange) -> Result<ValidatorSet, AnchorError> {
    let header = &change.header;
    let signers = certificate_signers(header, &change.certificate)?;
    trust.certifies(Signed {
        header,
        signers: &signers,
    })?;
    let meta: ChainMeta = decode("chain meta", &change.meta)
        .map_err(|error| AnchorError::BadMeta(error.to_string()))?;
    if state_root(&change.accounts_root, &change.objects_root, &meta.hash()) != header.state_root {
        return Err(AnchorError::MetaProof {
            height: header.height,
        });
    }
    if meta.chain_id != trust.chain_id || meta.height != header.height {
        return Err(AnchorError::MetaMismatch {
            height: header.height,
        });
    }
    Ok((*meta.validators).clone())
}

//! Anchoring: a chain whose head changed (a block committed, a genesis accepted) goes into
//! the backlog once the tick's write made it durable, and a scan of the store puts back, a
//! page per interval, chains a restart forgot. Every anchor interval (the root's
//! `anchor_interval_ms`) the host looks through the backlog, a bounded number of chains per
//! tick, and sends one anchor transaction with the geneses and certified heads the root
//! does not have yet. Of a chain's validators, one is on duty for it (picked by the chain's
//! id); the others step in for a chain whose anchor stays behind for [`BACKUP_INTERVALS`]
//! intervals. A chain leaves the backlog once the root shows its head anchored.

use std::collections::BTreeSet;

use myriad_ledger::{TakenBlock, TxError, ANCHOR_CLOCK_SKEW_MS, ANCHOR_TX_BYTES_MAX};
use myriad_store::HostStore;
use myriad_types::{
    encode, pack, AnchorEntry, AnchoredHead, BondProof, BoundedBytes, BoundedVec, ChainAnchor,
    ChainId, ForkEvidence, Hash, Height, HostId, Object, ObjectKey, RootParams, SignedTransaction,
    Transaction, TxKind, ANCHOR_ENTRIES_MAX, BONDS_PER_HEAD_MAX, SET_CHANGES_MAX,
};

use super::{
    RootDuty, ANCHOR_LOOKS_PER_TICK, ANCHOR_SCAN_PAGE, ANCHOR_TX_OVERHEAD, BACKUP_INTERVALS,
};
use crate::host::Host;

/// The validator on duty to anchor `chain` among `hosts` (in id order).
fn on_duty(chain: &ChainId, hosts: usize) -> usize {
    let mut first = [0u8; 8];
    first.copy_from_slice(&chain.as_bytes()[..8]);
    (u64::from_le_bytes(first) % hosts.max(1) as u64) as usize
}

impl<S: HostStore> Host<S> {
    /// Puts a page of stored chains into the backlog, while the scan goes on.
    pub(super) fn scan_store(&mut self, duty: &mut RootDuty) {
        if !duty.scanning {
            return;
        }
        match self
            .store
            .chains(duty.scan_after.as_ref(), ANCHOR_SCAN_PAGE)
        {
            Ok(page) => {
                let round_done = page.len() < ANCHOR_SCAN_PAGE;
                duty.scan_after = page.last().map(|(chain, _)| *chain).filter(|_| !round_done);
                if round_done {
                    duty.scanning = std::mem::take(&mut duty.rescan);
                }
                for (chain, _) in page {
                    if !duty.touched(chain) {
                        self.metrics.anchor_backlog_dropped.inc();
                    }
                }
            }
            Err(error) => tracing::error!(%error, "cannot list the stored chains"),
        }
    }

    /// Looks at the next chains of the backlog for this tick. Returns the pass's entries
    /// once it is done (the backlog looked through, or the transaction full) and has some.
    pub(super) fn look(
        &mut self,
        duty: &mut RootDuty,
        params: &RootParams,
    ) -> Option<Vec<AnchorEntry>> {
        let root = duty.chain();
        let mut pass = duty.pass.take()?;
        let mut done = true;
        let start = pass.after;
        let candidates: Vec<ChainId> = match start {
            Some(after) => duty
                .backlog
                .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
                .take(ANCHOR_LOOKS_PER_TICK + 1)
                .copied()
                .collect(),
            None => duty
                .backlog
                .iter()
                .take(ANCHOR_LOOKS_PER_TICK + 1)
                .copied()
                .collect(),
        };
        for (looked, chain) in candidates.into_iter().enumerate() {
            if looked == ANCHOR_LOOKS_PER_TICK {
                done = false;
                break;
            }
            pass.after = Some(chain);
            let Some(root_slot) = self.table.get(&root) else {
                break;
            };
            let anchor = match root_slot.state.object(&ObjectKey::Anchor(chain)) {
                Some(Object::Anchor(anchor)) => Some(anchor.clone()),
                _ => None,
            };
            let bonds_since = duty.bonds_changed.get(&chain).copied();
            if let (Some(since), Some(anchor)) = (bonds_since, &anchor) {
                if anchor.height >= since {
                    duty.bonds_changed.remove(&chain);
                }
            }
            let bonds_since = duty.bonds_changed.get(&chain).copied();
            match self.entries_for(root, chain, anchor.as_ref(), params, bonds_since) {
                Ok(None) => {
                    duty.backlog.remove(&chain);
                }
                Ok(Some(entries)) => {
                    let room = ANCHOR_TX_BYTES_MAX - ANCHOR_TX_OVERHEAD;
                    if !pass.packing.fits(&entries, room, ANCHOR_ENTRIES_MAX) {
                        // Full: the next pass starts with this chain.
                        let last = pass.packing.entries().last();
                        duty.resume_after = last.and_then(AnchorEntry::chain_id);
                        break;
                    }
                    pass.packing.take(entries);
                }
                Err(()) => {}
            }
        }
        if !done {
            duty.pass = Some(pass);
            return None;
        }
        let entries = pass.packing.into_entries();
        (!entries.is_empty()).then_some(entries)
    }

    /// The entries the root would take, packed, and how many they were: the anchor
    /// transaction is first applied to a copy of the root's state (a copy shares its
    /// trees), and a chain whose entry it refuses is left out (logged, counted, and out of
    /// the backlog until its head changes again), so that one chain cannot hold up the
    /// others' anchors.
    pub(super) fn drop_refused(
        &self,
        duty: &mut RootDuty,
        mut entries: Vec<AnchorEntry>,
        nonce: u64,
    ) -> (Vec<AnchorEntry>, usize) {
        let Some(slot) = self.table.get(&duty.chain()) else {
            return (Vec::new(), 0);
        };
        let time_ms = slot.state.next_block_time(self.now_ms);
        while !entries.is_empty() {
            let Ok(bounded) = BoundedVec::new(pack(entries.clone())) else {
                return (Vec::new(), 0);
            };
            let trial = SignedTransaction {
                tx: Transaction {
                    chain_id: duty.chain(),
                    sender: myriad_types::Address::from(self.me),
                    nonce: nonce + 1,
                    kind: TxKind::Anchor { entries: bounded },
                },
                // The ledger's rules do not read the signature; the batch checks it.
                signature: myriad_types::Signature([0; 64]),
            };
            if encode(&trial).len() > ANCHOR_TX_BYTES_MAX {
                // Taking a head out of a batch can grow it (its neighbours' leaves need a
                // sibling each): the last chain waits for the next pass.
                entries.pop();
                continue;
            }
            match myriad_ledger::apply(&mut slot.state.clone(), time_ms, &trial) {
                Ok(_) => {
                    let TxKind::Anchor { entries: packed } = trial.tx.kind else {
                        break;
                    };
                    return (packed.into_inner(), entries.len());
                }
                Err(TxError::Anchor { chain, error }) => {
                    tracing::warn!(%chain, %error, "the root would refuse this chain's anchor; left out");
                    self.metrics.anchors_refused.inc();
                    duty.backlog.remove(&chain);
                    entries.retain(|entry| entry.chain_id() != Some(chain));
                }
                Err(error) => {
                    tracing::warn!(%error, "the root would refuse this host's anchor transaction");
                    break;
                }
            }
        }
        (Vec::new(), 0)
    }

    /// What anchors `chain` up to its stored head, given its anchor on the root: `None`
    /// when it is anchored already (or is not hosted here); `Err` when this host is to
    /// wait (another validator is on duty, or a validator-set change it cannot prove).
    fn entries_for(
        &self,
        root: ChainId,
        chain: ChainId,
        anchor: Option<&ChainAnchor>,
        params: &RootParams,
        bonds_since: Option<Height>,
    ) -> Result<Option<Vec<AnchorEntry>>, ()> {
        let head = match self.store.chain_head(&chain) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            Err(error) => {
                tracing::error!(%chain, %error, "cannot read a chain's head to anchor it");
                return Err(());
            }
        };
        if anchor.is_some_and(|a| a.forked_at.is_some()) {
            // The root takes no head of a forked chain: nothing to send.
            return Ok(None);
        }
        let anchored = anchor.map(|a| a.height);
        // The head reaches the anchored height, or is lower but was made after the anchored
        // head could have been, or is signed by another set than the root keeps: the root
        // may have taken a block the chain never decided (see `fork_evidence`), even under
        // a set the chain came back to.
        let maybe_forked = anchor.filter(|a| {
            let height = head.meta.height;
            let made_after =
                head.meta.time_ms >= a.anchored_at_ms.saturating_add(ANCHOR_CLOCK_SKEW_MS);
            a.height.0 > 0
                && (a.height < height
                    || (a.height == height && a.block_hash != head.block_hash)
                    || (a.height > height
                        && (made_after || head.meta.validators.hash() != a.validators_hash)))
        });
        if maybe_forked.is_none() && anchored.is_some_and(|height| height >= head.meta.height) {
            return Ok(None);
        }
        let genesis = match self.store.genesis(&chain) {
            Ok(Some(genesis)) => genesis,
            _ => return Err(()),
        };
        let hosts = head.meta.validators.validators();
        let duty = hosts.get(on_duty(&chain, hosts.len())).map(|v| v.host);
        if duty != Some(self.me) {
            // Another validator is on duty; step in only once the anchor has stayed behind
            // (since the last anchor, or the chain's creation) for a few intervals.
            let since = anchor.map_or(genesis.genesis.created_at_ms, |a| a.anchored_at_ms);
            let patience = params.anchor_interval_ms.saturating_mul(BACKUP_INTERVALS);
            if self.now_ms.saturating_sub(since) < patience {
                return Err(());
            }
        }
        if let Some(anchor) = maybe_forked {
            match self.fork_evidence(root, chain, anchor, head.meta.height, params)? {
                Some(evidence) => return Ok(Some(vec![evidence])),
                None if anchor.height >= head.meta.height => return Ok(None),
                None => {}
            }
        }
        let mut entries = Vec::new();
        if anchor.is_none() {
            entries.push(AnchorEntry::Genesis(Box::new(genesis)));
        }
        if head.meta.height.0 == 0 {
            return Ok(Some(entries));
        }
        // The set changes since the anchor, those below the head (the head is signed by the
        // set before a change it holds itself), even when the chain came back to the set the
        // root keeps: the root learns every set's term, which fork evidence is checked
        // against. Past `SET_CHANGES_MAX` of them, the chain is anchored in steps: this time
        // up to the block of the last change carried.
        let mut changes = match self.store.set_changes(&chain, anchored.unwrap_or_default()) {
            Ok(changes) => changes,
            Err(error) => {
                tracing::error!(%chain, %error, "cannot read a chain's set changes");
                return Err(());
            }
        };
        let mut height = head.meta.height;
        if changes.len() == SET_CHANGES_MAX {
            if let Some(last) = changes.pop() {
                height = last.header.height;
            }
        }
        changes.retain(|change| change.header.height < height);
        let (block, certificate) = match self.store.certified_block(&chain, height) {
            Ok(Some(found)) => found,
            _ => return Err(()),
        };
        if block.header.timestamp_ms > self.now_ms {
            // The root takes no head from its future (`ANCHOR_CLOCK_SKEW_MS`): the head
            // waits for this host's clock to pass its time, which leaves that much room for
            // this host's clock to run ahead of the root's.
            return if entries.is_empty() {
                Err(())
            } else {
                Ok(Some(entries))
            };
        }
        let changes = BoundedVec::new(changes).map_err(drop)?;
        let bonds = match bonds_since {
            Some(since) if height == head.meta.height && height >= since => {
                self.bond_proofs(root, chain, anchor, &head)?
            }
            _ => BoundedVec::default(),
        };
        entries.push(AnchorEntry::Head(Box::new(AnchoredHead {
            changes,
            header: block.header,
            certificate,
            bonds,
        })));
        Ok(Some(entries))
    }

    /// Evidence that `chain` forked, if the root took a block the chain did not decide: an
    /// anchored head, or a set change that replaced a set of its set history. From the
    /// newest set the root trusted that the chain had where the root trusted it from, the
    /// chain's own header that contradicts the block the root took from that set (another
    /// block at its height, or the chain's head if lower but made after it could have
    /// been), with the chain's set changes from there. A quorum of a set the chain had
    /// replaced can certify a head, and a set change of its own, that the root takes before
    /// the chain's change is anchored; the chain's newer heads are refused until this shows
    /// the fork.
    fn fork_evidence(
        &self,
        root: ChainId,
        chain: ChainId,
        anchor: &ChainAnchor,
        head: Height,
        params: &RootParams,
    ) -> Result<Option<AnchorEntry>, ()> {
        let read_error = |error: myriad_store::StoreError| {
            tracing::error!(%chain, %error, "cannot read a chain's blocks to compare them with its anchor");
        };
        let history = match self
            .table
            .get(&root)
            .map(|slot| slot.state.object(&ObjectKey::SetHistory(chain)))
        {
            Some(Some(Object::SetHistory(history))) => history.sets.clone().into_inner(),
            _ => Vec::new(),
        };
        // The sets the root trusted with the block it took from each, newest first.
        let kept = history
            .iter()
            .filter(|r| r.kept_until_ms(params.unbond_ms) > self.now_ms)
            .map(|r| (r.validators_hash, r.from, TakenBlock::replacing(r)));
        let trusted: Vec<(Hash, Height, TakenBlock)> = kept
            .chain([(
                anchor.validators_hash,
                anchor.validators_from,
                TakenBlock::anchored(anchor),
            )])
            .collect();
        for (set, from, taken) in trusted.into_iter().rev() {
            let shown = taken.height.min(head);
            if from > shown {
                continue;
            }
            // The chain had that set there, and its header contradicts the block taken.
            let had = self.store.block(&chain, from).map_err(read_error)?;
            if had.is_none_or(|block| block.header.validators_hash != set) {
                continue;
            }
            let Some((block, certificate)) = self
                .store
                .certified_block(&chain, shown)
                .map_err(read_error)?
            else {
                continue;
            };
            if !taken.contradicted_by(&block.header) {
                continue;
            }
            let mut changes = self.store.set_changes(&chain, from).map_err(read_error)?;
            if let Some(last) = changes.last().filter(|_| changes.len() == SET_CHANGES_MAX) {
                let next = Height(last.header.height.0.saturating_add(1));
                let more = self.store.set_changes(&chain, next).map_err(read_error)?;
                if more.first().is_some_and(|c| c.header.height < shown) {
                    // More changes below the header than one entry carries.
                    continue;
                }
            }
            changes.retain(|change| change.header.height < shown);
            self.metrics.forks_shown.inc();
            tracing::warn!(%chain, taken = %taken.height, %shown, %from, "the root took a block this chain did not decide: sending the chain's own header, evidence of the fork");
            return Ok(Some(AnchorEntry::Fork(Box::new(ForkEvidence {
                from,
                changes: BoundedVec::new(changes).map_err(drop)?,
                header: block.header,
                certificate,
            }))));
        }
        Ok(None)
    }

    /// Proofs, against `head`, of the validator bonds of `chain` (or of their absence): of
    /// the chain's validators now and of the set the root knows. All of them, not only those
    /// this host's copy of the root records otherwise: that copy may be behind the root.
    fn bond_proofs(
        &self,
        root: ChainId,
        chain: ChainId,
        anchor: Option<&ChainAnchor>,
        head: &myriad_store::ChainHead,
    ) -> Result<BoundedVec<BondProof, BONDS_PER_HEAD_MAX>, ()> {
        let root_state = &self.table.get(&root).ok_or(())?.state;
        let state = match self.table.get(&chain) {
            Some(slot) if slot.state.meta().height == head.meta.height => slot.state.clone(),
            _ => match self.store.chain_state(&chain) {
                Ok(Some(state)) if state.meta().height == head.meta.height => state,
                _ => return Err(()),
            },
        };
        let mut hosts: BTreeSet<HostId> = head
            .meta
            .validators
            .validators()
            .iter()
            .map(|v| v.host)
            .collect();
        if let Some(Object::KnownSet(known)) =
            anchor.and_then(|a| root_state.object(&ObjectKey::KnownSet(a.validators_hash)))
        {
            hosts.extend(known.validators.validators().iter().map(|v| v.host));
        }
        let mut proofs = Vec::new();
        for host in hosts.into_iter().take(BONDS_PER_HEAD_MAX) {
            let bond = match state.object(&ObjectKey::ValidatorBond(host)) {
                Some(Object::ValidatorBond(bond)) => Some(*bond),
                _ => None,
            };
            let proof = state.prove_object(&ObjectKey::ValidatorBond(host));
            proofs.push(BondProof {
                host,
                bond,
                proof: BoundedBytes::new(encode(&proof)).map_err(drop)?,
            });
        }
        BoundedVec::new(proofs).map_err(drop)
    }
}

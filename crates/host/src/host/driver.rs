//! The consensus driver: hands each chain's inputs to the consensus instance of its height,
//! and carries out what the instance asks for: sign (once durable), persist a lock, schedule
//! a timeout, build or check a block, decide.

use std::collections::{HashMap, HashSet};

use myriad_consensus::{Effect, Input, Instance, TimeoutKind};
use myriad_ledger::{build_block, check_block, BlockOutcome, BlockTemplate, Scratch};
use myriad_net::Msg;
use myriad_store::HostStore;
use myriad_types::{
    encode, Block, BoundedBytes, Certificate, ChainId, Hash, Height, HostId, SetChange,
    SignedTransaction, VoteStep,
};

use super::replies::Decided;
use super::table::Slot;
use super::{Host, HostEvent, Work, FUTURE_MSGS_MAX};

/// The most transactions a host offers its peers again when it prevotes nil: those that
/// could go in the next block (the next nonce of their sender).
const RELAYS_ON_NIL_MAX: usize = 16;
use crate::metrics::kind;

impl Slot {
    /// Checks a block at the chain's next height (signatures aside, checked in the batch)
    /// and remembers the state after it.
    pub(super) fn check(&mut self, block: &Block) -> Result<(), String> {
        let hash = block.hash();
        if self.checked.contains_key(&hash) {
            return Ok(());
        }
        let outcome =
            check_block(&self.state, &self.head_hash, block).map_err(|e| e.to_string())?;
        self.checked.insert(hash, outcome);
        Ok(())
    }
}

impl<S: HostStore> Host<S> {
    /// Hands the consensus timeouts due now to their chains' running instances; a resend
    /// beyond the host's budget is put off to its next period.
    pub(super) fn expire_timers(&mut self, work: &mut Work) {
        let resend_ms = self.config.consensus.resend_ms;
        for (chain, timeout) in self.timers.expired(self.now_ms) {
            let running = self
                .table
                .get(&chain)
                .and_then(|slot| slot.instance.as_ref())
                .is_some_and(|instance| instance.height() == timeout.height);
            if !running {
                continue;
            }
            if timeout.kind == TimeoutKind::Resend && !self.load.take_resend() {
                self.metrics.resends_deferred.inc();
                self.timers
                    .schedule(self.now_ms + resend_ms, chain, timeout);
                continue;
            }
            self.metrics
                .timeouts_fired
                .get_or_create(&kind(timeout.kind.name()))
                .inc();
            work.push_back((chain, timeout.height, Input::Timeout(timeout)));
        }
    }

    /// Hands a consensus message to the instance of its height; answers a peer that is
    /// behind, and buffers (and asks for what is missing) when this host is behind.
    pub(super) fn route(
        &mut self,
        from: Option<HostId>,
        chain: ChainId,
        height: Height,
        input: Input,
        work: &mut Work,
    ) {
        let Some(slot) = self.table.get_mut(&chain) else {
            return;
        };
        let next = slot.state.next_height();
        if height < next {
            if let Some(peer) = from {
                if self.sync.first_this_tick(chain, peer) {
                    self.serve(chain, peer, height);
                }
            }
        } else if height > next {
            let Some(peer) = from else { return };
            if !matches!(input, Input::Proposal { .. } | Input::Vote(_)) {
                return;
            }
            if slot.future.len() >= FUTURE_MSGS_MAX {
                slot.future.pop_front();
            }
            slot.future.push_back((peer, height, input));
            self.need(chain, peer);
        } else {
            work.push_back((chain, height, input));
        }
    }

    /// Runs inputs through instances until no work is left.
    pub(super) fn feed(&mut self, work: &mut Work) {
        while let Some((chain, height, input)) = work.pop_front() {
            self.ensure_instance(chain, height, work);
            let consensus = &self.config.consensus;
            let Some(slot) = self.table.get_mut(&chain) else {
                continue;
            };
            let Some(instance) = slot.instance.as_mut().filter(|i| i.height() == height) else {
                continue;
            };
            let effects = instance.handle(consensus, input);
            for effect in effects {
                self.effect(chain, height, effect, work);
            }
        }
    }

    /// Creates the instance of `height` if there is none: fresh, or resumed from the signer
    /// state and lock proof this host stored before a restart.
    fn ensure_instance(&mut self, chain: ChainId, height: Height, work: &mut Work) {
        let me = self.me;
        let consensus = &self.config.consensus;
        let Some(slot) = self.table.get_mut(&chain) else {
            return;
        };
        // A host outside the chain's set (a root follower) only syncs its blocks.
        if slot.instance.is_some()
            || slot.state.next_height() != height
            || slot.state.meta().validators.power_of(&me).is_none()
        {
            return;
        }
        let validators = slot.state.meta().validators.clone();
        let params = slot.state.meta().params;
        let effects = match slot.guard.last().filter(|state| state.height == height) {
            Some(state) => {
                let proof = slot.lock_proof.clone();
                let (instance, effects) =
                    Instance::recover(consensus, chain, me, validators, params, state, proof);
                slot.instance = Some(instance);
                effects
            }
            None => {
                slot.instance = Some(Instance::new(chain, height, me, validators, params));
                Vec::new()
            }
        };
        for effect in effects {
            self.effect(chain, height, effect, work);
        }
    }

    fn effect(&mut self, chain: ChainId, height: Height, effect: Effect, work: &mut Work) {
        let now = self.now_ms;
        let me = self.me;
        let block_txs = self.config.limits.block_txs;
        let Some(slot) = self.table.get_mut(&chain) else {
            return;
        };
        match effect {
            Effect::SignVote(vote) => {
                // A nil prevote: the round's proposer offered nothing this host could accept,
                // perhaps for want of the transactions this host holds (a peer's copy can be
                // refused, and is never sent again). It offers the ready ones to the next
                // proposers.
                let nil_prevote = vote.step == VoteStep::Prevote && vote.block_hash.is_none();
                if let Ok(approval) = slot.guard.approve_vote(vote) {
                    let lock_proof = slot.lock_proof.as_ref();
                    self.batch
                        .put_signer(chain, Some(approval.state()), lock_proof);
                    self.outbox.vote(chain, approval);
                    if nil_prevote {
                        for tx in slot.mempool.ready(&slot.state, RELAYS_ON_NIL_MAX) {
                            self.outbox.broadcast(chain, Msg::Tx(tx));
                        }
                    }
                }
            }
            Effect::SignProposal { proposal, block } => {
                if let Ok(approval) = slot.guard.approve_proposal(proposal) {
                    let lock_proof = slot.lock_proof.as_ref();
                    self.batch
                        .put_signer(chain, Some(approval.state()), lock_proof);
                    self.outbox.proposal(chain, approval, block);
                }
            }
            Effect::PersistLock(proof) => {
                self.batch
                    .put_signer(chain, slot.guard.last(), Some(&proof));
                slot.lock_proof = Some(proof);
            }
            Effect::Rebroadcast { proposal, votes } => {
                if let Some(p) = proposal {
                    self.outbox.broadcast(chain, Msg::Proposal(Box::new(p)));
                }
                for v in votes {
                    self.outbox.broadcast(chain, Msg::Vote(v));
                }
            }
            Effect::ScheduleTimeout { timeout, after_ms } => {
                let at = now + after_ms + self.load.stretch_ms();
                self.timers.schedule(at, chain, timeout);
            }
            Effect::BuildProposal { round } => {
                let block = self.build(chain, me, now, block_txs);
                work.push_back((chain, height, Input::ProposalBuilt { round, block }));
            }
            Effect::VerifyBlock(block) => {
                let block_hash = block.hash();
                let valid = match slot.check(&block) {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::info!(%chain, %height, %error, "refusing a proposed block");
                        false
                    }
                };
                work.push_back((chain, height, Input::BlockVerdict { block_hash, valid }));
            }
            Effect::Decided { block, certificate } => self.decide(chain, block, certificate, work),
            Effect::Evidence(evidence) => {
                tracing::warn!(%chain, ?evidence, "a validator signed two conflicting messages");
                self.metrics.evidence.inc();
                self.root_evidence(&evidence);
                let evidence = Box::new(evidence);
                self.replies.event(HostEvent::Evidence { chain, evidence });
            }
        }
    }

    /// Builds the next block from the mempool. When nothing applies, the transactions that
    /// can never apply (their nonce is next, yet they fail) are rejected and dropped.
    fn build(&mut self, chain: ChainId, me: HostId, now: u64, block_txs: usize) -> Option<Block> {
        let slot = self.table.get_mut(&chain)?;
        let template = BlockTemplate {
            prev_hash: slot.head_hash,
            timestamp_ms: now,
            proposer: me,
        };
        let candidates = slot.mempool.candidates();
        if let Some((block, outcome)) = build_block(&slot.state, &candidates, template, block_txs) {
            slot.checked.insert(block.hash(), outcome);
            return Some(block);
        }
        let state = &slot.state;
        let mut reasons = HashMap::new();
        let removed = slot.mempool.retain(|tx, _| {
            let next = state.account(&tx.tx.sender).nonce.saturating_add(1);
            if tx.tx.nonce != next {
                return true;
            }
            match Scratch::new(state, state.next_block_time(now)).apply(tx) {
                Ok(_) => true,
                Err(error) => {
                    reasons.insert(tx.hash(), error.to_string());
                    false
                }
            }
        });
        self.mempools
            .removed(chain, removed, &mut self.replies, |hash| {
                Some(reasons.remove(hash).unwrap_or_default())
            });
        None
    }

    /// A catch-up block from a peer, its certificate verified in the batch: checked, then
    /// decided.
    pub(super) fn commit(
        &mut self,
        chain: ChainId,
        block: Block,
        certificate: Certificate,
        work: &mut Work,
    ) {
        let Some(slot) = self.table.get_mut(&chain) else {
            return;
        };
        // The batch checked the signatures against the set of the next height; an earlier
        // catch-up block of this tick may have changed it.
        if block.header.height != slot.state.next_height()
            || certificate
                .check_signers(&slot.state.meta().validators)
                .is_err()
        {
            return;
        }
        if let Err(error) = slot.check(&block) {
            tracing::warn!(%chain, %error, "refusing a certified block from a peer");
            return;
        }
        self.decide(chain, block, certificate, work);
    }

    /// Makes a decided block the chain's head: the block, its certificate and the state
    /// after it go into the tick's write, the mempool lets go of what the block settled,
    /// and the chain moves on to its next height.
    fn decide(&mut self, chain: ChainId, block: Block, certificate: Certificate, work: &mut Work) {
        let Some((outcome, before)) = self.decided_state(chain, &block) else {
            return;
        };
        let BlockOutcome {
            state: mut post,
            receipts,
        } = outcome;
        let block_hash = block.hash();
        self.table.share_validators(&mut post);
        if post.meta().validators.hash() != block.header.validators_hash {
            // A set the block chose validates from the next height: recorded with the block,
            // with what proves it to the root.
            self.batch
                .put_validators(chain, post.next_height(), &post.meta().validators);
            let (accounts_root, objects_root) = (post.accounts_root(), post.objects_root());
            match BoundedBytes::new(encode(post.meta())) {
                Ok(meta) => self.batch.put_set_change(&SetChange {
                    header: block.header.clone(),
                    certificate: certificate.clone(),
                    meta,
                    accounts_root,
                    objects_root,
                }),
                Err(_) => {
                    tracing::error!(%chain, "a chain's meta is over the bound of a set change")
                }
            }
        }
        self.batch.put_block(&block, &certificate, &receipts);
        self.batch.put_chain_state(&post, block_hash);
        self.root_decided(chain, &post);
        post.clear_changed();
        // Found by `decided_state` just above; nothing was unloaded since.
        let Some(slot) = self.table.get_mut(&chain) else {
            return;
        };
        slot.state = post;
        slot.head_hash = block_hash;
        slot.instance = None;
        // A lock binds its height only: the next height's signer records go without it.
        slot.lock_proof = None;
        slot.checked.clear();
        let state = &slot.state;
        // What the block settled goes: a used nonce, and a transaction next in line whose
        // escrow or channel the block closed or whose expiry passed, refused at the earliest
        // time the next block may have (so that it never holds a height open for nothing).
        let earliest = state.next_block_time(0);
        let mut reasons = HashMap::new();
        let removed = slot.mempool.retain(|tx, _| {
            let next = state.account(&tx.tx.sender).nonce.saturating_add(1);
            if tx.tx.nonce != next || !tx.tx.kind.acts_on_open_object() {
                return tx.tx.nonce >= next;
            }
            match Scratch::new(state, earliest).apply(tx) {
                Err(error) if error.is_final() => {
                    reasons.insert(tx.hash(), error.to_string());
                    false
                }
                _ => true,
            }
        });
        let txs: Vec<Hash> = block.txs.iter().map(SignedTransaction::hash).collect();
        let height = block.header.height;
        // Hosts that join the validators get the genesis; they sync the blocks themselves.
        let joining: Vec<HostId> = slot
            .peers(&self.me)
            .into_iter()
            .filter(|h| !before.contains(h))
            .collect();
        let next = slot.state.next_height();
        // Transactions behind a nonce gap start nothing: a height for them would only run
        // rounds without a proposal until they expire (many chains at once after a burst
        // refused their senders' earlier nonces).
        let start = slot.mempool.has_ready(&slot.state);
        let buffered: Vec<(HostId, Height, Input)> = slot.future.drain(..).collect();
        let in_block: HashSet<Hash> = txs.iter().copied().collect();
        self.mempools
            .removed(chain, removed, &mut self.replies, |hash| {
                reasons.remove(hash).or_else(|| {
                    (!in_block.contains(hash))
                        .then(|| "another transaction with the same nonce was committed".to_owned())
                })
            });
        self.replies.decided(Decided {
            chain,
            height,
            block_hash,
            txs,
        });
        self.send_genesis(chain, joining);
        self.root_touched(chain);
        self.replay(chain, buffered, work);
        if start {
            work.push_back((chain, next, Input::Start));
        }
    }

    /// What a decided block gives, checked at the chain's next height, with the hosts that
    /// validated the chain before it; `None` if the block is invalid here.
    fn decided_state(
        &mut self,
        chain: ChainId,
        block: &Block,
    ) -> Option<(BlockOutcome, HashSet<HostId>)> {
        let slot = self.table.get_mut(&chain)?;
        if let Err(error) = slot.check(block) {
            tracing::error!(%chain, %error, "consensus decided a block this host finds invalid");
            return None;
        }
        let post = slot.checked.remove(&block.hash())?;
        let before: HashSet<HostId> = slot
            .state
            .meta()
            .validators
            .validators()
            .iter()
            .map(|v| v.host)
            .collect();
        Some((post, before))
    }

    /// Routes again the messages a chain buffered for later heights, now that it moved on.
    fn replay(&mut self, chain: ChainId, buffered: Vec<(HostId, Height, Input)>, work: &mut Work) {
        for (peer, at, input) in buffered {
            self.route(Some(peer), chain, at, input, work);
        }
    }
}

//! The mempools of all chains together: the host-wide totals their limits bound, client
//! submissions and peers' transactions admitted by the same rules (see `crate::mempool`)
//! and their refusals counted, and transactions leaving (rejected, superseded, or expired
//! after `limits.mempool_ttl_ms`).

use myriad_consensus::Input;
use myriad_ledger::TxError;
use myriad_net::Msg;
use myriad_store::HostStore;
use myriad_types::{ChainId, ChainKind, Hash, SignatureError, SignedTransaction};

use super::intake::Submission;
use super::replies::Replies;
use super::{Host, SubmitError, Work};
use crate::config::Limits;
use crate::mempool::{AdmitError, Room};
use crate::status::TxStatus;

/// What all the chains' mempools hold together.
#[derive(Debug, Default)]
pub(super) struct Mempools {
    txs: usize,
    bytes: usize,
}

impl Mempools {
    pub(super) fn txs(&self) -> usize {
        self.txs
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The room left for a transaction of a chain (of the root chain if `root`).
    fn room(&self, limits: &Limits, root: bool) -> Room {
        Room {
            chain_txs: limits.mempool_txs_per_chain,
            chain_bytes: if root {
                limits.mempool_bytes_root
            } else {
                limits.mempool_bytes_per_chain
            },
            host_txs_left: limits.mempool_txs_total.saturating_sub(self.txs),
            host_bytes_left: limits.mempool_bytes_total.saturating_sub(self.bytes),
        }
    }

    /// Accounts for transactions taken out of a chain's mempool; those `reason` names are
    /// rejected with it.
    pub(super) fn removed(
        &mut self,
        chain: ChainId,
        removed: Vec<(SignedTransaction, usize)>,
        replies: &mut Replies,
        mut reason: impl FnMut(&Hash) -> Option<String>,
    ) {
        for (tx, bytes) in removed {
            self.txs -= 1;
            self.bytes -= bytes;
            let hash = tx.hash();
            if let Some(reason) = reason(&hash) {
                replies.rejected(hash, chain, reason);
            }
        }
    }
}

/// Where a transaction offered to a mempool comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Client,
    /// A peer's copy (relayed by the validator a client sent it to).
    Peer,
}

impl<S: HostStore> Host<S> {
    /// Counts a refusal of admission by its reason. A peer's copy of a transaction already
    /// pending here is not one: validators relay what their clients send, and the network
    /// may deliver a copy twice.
    pub(super) fn refused(&self, error: &AdmitError, origin: Origin) {
        if origin == Origin::Peer && matches!(error, AdmitError::Duplicate(_)) {
            return;
        }
        let origin = match origin {
            Origin::Client => "client",
            Origin::Peer => "peer",
        };
        self.metrics
            .admit_refusals
            .get_or_create(&[("reason", error.reason()), ("origin", origin)])
            .inc();
    }

    /// Admits a transaction to its chain's mempool; starts the chain's instance if idle and
    /// the pool now holds a transaction that can go in the next block.
    pub(super) fn admit(
        &mut self,
        tx: SignedTransaction,
        origin: Origin,
        work: &mut Work,
    ) -> Result<(), AdmitError> {
        let now = self.now_ms;
        let chain = tx.tx.chain_id;
        let Some(slot) = self.table.get_mut(&chain) else {
            return Ok(());
        };
        let root = matches!(slot.state.meta().kind, ChainKind::Root(_));
        let room = self.mempools.room(&self.config.limits, root);
        let bytes = match slot.mempool.admit(tx, &slot.state, room, now) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.refused(&error, origin);
                return Err(error);
            }
        };
        self.mempools.txs += 1;
        self.mempools.bytes += bytes;
        if slot.instance.is_none() && slot.mempool.has_ready(&slot.state) {
            work.push_back((chain, slot.state.next_height(), Input::Start));
        }
        Ok(())
    }

    /// Admits the clients' transactions whose signatures the batch found valid, and refuses
    /// the others.
    pub(super) fn handle_submissions(
        &mut self,
        submissions: Vec<(Submission, bool)>,
        work: &mut Work,
    ) {
        for (submission, valid) in submissions {
            if !valid {
                let sender = submission.tx.tx.sender.to_string();
                let error =
                    SubmitError::Invalid(TxError::BadSignature(SignatureError::Invalid(sender)));
                let _ = submission.reply.send(Err(error));
                continue;
            }
            self.submit(submission, work);
        }
    }

    fn submit(&mut self, submission: Submission, work: &mut Work) {
        let Submission { tx, wait, reply } = submission;
        let chain = tx.tx.chain_id;
        let hash = tx.hash();
        match self.admit(tx.clone(), Origin::Client, work) {
            Err(error) => {
                let _ = reply.send(Err(SubmitError::Admit(error)));
            }
            Ok(()) => {
                let status = TxStatus::Pending { chain };
                self.replies.set_status(hash, status.clone());
                self.outbox.broadcast(chain, Msg::Tx(tx));
                if wait {
                    self.replies.wait(hash, reply);
                } else {
                    let _ = reply.send(Ok(status));
                }
            }
        }
    }

    /// Drops transactions that waited too long for a nonce gap to fill.
    pub(super) fn expire_mempools(&mut self) {
        if self.mempools.txs == 0 {
            return;
        }
        let now = self.now_ms;
        let ttl_ms = self.config.limits.mempool_ttl_ms;
        let mut expired = Vec::new();
        for (chain, slot) in self.table.iter_mut() {
            if slot.mempool.is_empty() {
                continue;
            }
            let removed = slot
                .mempool
                .retain(|_, admitted| now.saturating_sub(admitted) < ttl_ms);
            if !removed.is_empty() {
                expired.push((*chain, removed));
            }
        }
        let reason = format!(
            "expired after {} ms in the mempool: its nonce never came next",
            ttl_ms
        );
        for (chain, removed) in expired {
            self.mempools
                .removed(chain, removed, &mut self.replies, |_| Some(reason.clone()));
        }
    }
}

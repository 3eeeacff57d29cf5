//! What clients and subscribers hear. A transaction's pending status is told at once; what
//! depends on the tick's write (chains created, blocks and transactions committed,
//! transactions rejected) is collected during the tick and acknowledged once it is durable.

use std::sync::{Arc, Mutex, PoisonError};

use myriad_types::{ChainId, Hash, Height};
use tokio::sync::{broadcast, oneshot};

use super::{CreateError, FixedMap, HostEvent, SubmitError};
use crate::metrics::Metrics;
use crate::status::{Statuses, TxStatus};

/// A decided block, acknowledged once durable.
#[derive(Debug)]
pub(super) struct Decided {
    pub(super) chain: ChainId,
    pub(super) height: Height,
    pub(super) block_hash: Hash,
    pub(super) txs: Vec<Hash>,
}

type TxReply = oneshot::Sender<Result<TxStatus, SubmitError>>;

/// The clients waiting for an answer, and what the tick has for them.
#[derive(Debug)]
pub(super) struct Replies {
    statuses: Arc<Mutex<Statuses>>,
    events: broadcast::Sender<HostEvent>,
    /// Clients waiting for a transaction to be committed or rejected, by its hash.
    waiters: FixedMap<Hash, Vec<TxReply>>,
    created: Vec<(ChainId, oneshot::Sender<Result<ChainId, CreateError>>)>,
    decided: Vec<Decided>,
    rejected: Vec<(Hash, ChainId, String)>,
}

impl Replies {
    pub(super) fn new(
        statuses: Arc<Mutex<Statuses>>,
        events: broadcast::Sender<HostEvent>,
    ) -> Replies {
        Replies {
            statuses,
            events,
            waiters: FixedMap::default(),
            created: Vec::new(),
            decided: Vec::new(),
            rejected: Vec::new(),
        }
    }

    pub(super) fn set_status(&self, hash: Hash, status: TxStatus) {
        self.statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(hash, status.clone());
        let _ = self.events.send(HostEvent::Tx { hash, status });
    }

    /// Tells subscribers now.
    pub(super) fn event(&self, event: HostEvent) {
        let _ = self.events.send(event);
    }

    /// A client waits for its transaction to be committed or rejected.
    pub(super) fn wait(&mut self, hash: Hash, reply: TxReply) {
        self.waiters.entry(hash).or_default().push(reply);
    }

    /// A chain created for a client, acknowledged once its genesis is durable.
    pub(super) fn created(
        &mut self,
        chain: ChainId,
        reply: oneshot::Sender<Result<ChainId, CreateError>>,
    ) {
        self.created.push((chain, reply));
    }

    /// A block decided this tick, acknowledged once durable.
    pub(super) fn decided(&mut self, decided: Decided) {
        self.decided.push(decided);
    }

    /// A transaction refused for `reason` after it was admitted.
    pub(super) fn rejected(&mut self, hash: Hash, chain: ChainId, reason: String) {
        self.rejected.push((hash, chain, reason));
    }

    /// How many blocks were decided this tick.
    pub(super) fn blocks_decided(&self) -> usize {
        self.decided.len()
    }

    /// Tells clients what became durable this tick. Returns the transactions committed.
    pub(super) fn acknowledge(&mut self, metrics: &Metrics, chains_hosted: u64) -> usize {
        for (chain, reply) in std::mem::take(&mut self.created) {
            let _ = reply.send(Ok(chain));
        }
        metrics.chains_hosted.set(chains_hosted as i64);
        let mut txs = 0;
        for decided in std::mem::take(&mut self.decided) {
            metrics.blocks_committed.inc();
            metrics.txs_committed.inc_by(decided.txs.len() as u64);
            txs += decided.txs.len();
            self.committed(&decided);
        }
        for (hash, chain, reason) in std::mem::take(&mut self.rejected) {
            let status = TxStatus::Rejected { chain, reason };
            self.set_status(hash, status.clone());
            for waiter in self.waiters.remove(&hash).into_iter().flatten() {
                let _ = waiter.send(Ok(status.clone()));
            }
        }
        txs
    }

    /// Tells the waiting clients and the subscribers of a durable block.
    fn committed(&mut self, decided: &Decided) {
        for hash in &decided.txs {
            let status = TxStatus::Committed {
                chain: decided.chain,
                height: decided.height,
            };
            self.statuses
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .forget(hash);
            for waiter in self.waiters.remove(hash).into_iter().flatten() {
                let _ = waiter.send(Ok(status.clone()));
            }
            let _ = self.events.send(HostEvent::Tx {
                hash: *hash,
                status,
            });
        }
        let _ = self.events.send(HostEvent::Head {
            chain: decided.chain,
            height: decided.height,
            block_hash: decided.block_hash,
            txs: decided.txs.len(),
        });
    }

    /// Fails every client still waiting: the host is stopping.
    pub(super) fn shut_down(&mut self) {
        for (_, waiters) in self.waiters.drain() {
            for waiter in waiters {
                let _ = waiter.send(Err(SubmitError::ShuttingDown));
            }
        }
    }
}

//! Intake: the tick's inputs (this host's own messages fed back, peers' envelopes, client
//! commands), the checks that need no signature (a transaction's admission among them, so
//! a flood the mempool would refuse costs no signature checks), and every signature of the
//! tick verified in one batch, bisected to find the bad ones; the verdicts go back to the
//! inputs that carried them.

use myriad_ledger::check_form;
use myriad_net::{ChainMsg, Inbound, Msg, Transport};
use myriad_store::HostStore;
use myriad_types::{ChainId, HostId, SignatureCheck, SignedGenesis, SignedTransaction};
use tokio::sync::oneshot;

use super::mempools::Origin;
use super::quotes::QuoteSubmission;
use super::{Command, CreateError, Host, SubmitError, TickReport, Work, HOST_BUSY};
use crate::mempool::AdmitError;
use crate::metrics::kind;
use crate::status::TxStatus;
use crate::verify::verify_groups;

/// Where an item of the tick came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Peer(HostId),
    /// This host's own signed message, fed back to its instance.
    Own,
}

#[derive(Debug)]
pub(super) struct Item {
    pub(super) source: Source,
    pub(super) chain: ChainId,
    pub(super) msg: Msg,
}

/// A client's transaction, and where its reply goes.
#[derive(Debug)]
pub(super) struct Submission {
    pub(super) tx: SignedTransaction,
    pub(super) wait: bool,
    pub(super) reply: oneshot::Sender<Result<TxStatus, SubmitError>>,
}

/// A client's genesis, and where its reply goes.
#[derive(Debug)]
pub(super) struct Creation {
    pub(super) genesis: SignedGenesis,
    pub(super) reply: oneshot::Sender<Result<ChainId, CreateError>>,
}

/// Everything a tick takes in.
#[derive(Debug)]
pub(super) struct Inputs {
    items: Vec<Item>,
    submissions: Vec<Submission>,
    creations: Vec<Creation>,
    quotes: Vec<QuoteSubmission>,
}

impl Inputs {
    /// How many messages and commands came in.
    pub(super) fn len(&self) -> usize {
        self.items.len() + self.submissions.len() + self.creations.len() + self.quotes.len()
    }
}

/// The inputs that passed the checks needing no signature, each with the batch's verdict on
/// its signatures (`true`: valid), in the order they came in.
#[derive(Debug)]
pub(super) struct Checked {
    pub(super) items: Vec<(Item, bool)>,
    pub(super) submissions: Vec<(Submission, bool)>,
    pub(super) creations: Vec<(Creation, bool)>,
    pub(super) quotes: Vec<(QuoteSubmission, bool)>,
}

impl<S: HostStore> Host<S> {
    /// The tick's inputs: this host's own messages first, then the peers' envelopes, then
    /// the clients' commands.
    pub(super) fn take_inputs(&mut self, inbound: Vec<Inbound>, commands: Vec<Command>) -> Inputs {
        let mut items: Vec<Item> = self
            .outbox
            .take_loopback()
            .into_iter()
            .map(|(chain, msg)| Item {
                source: Source::Own,
                chain,
                msg,
            })
            .collect();
        for Inbound { from, envelope } in inbound {
            for ChainMsg { chain, msg } in envelope.items.into_inner() {
                self.metrics
                    .messages_received
                    .get_or_create(&kind(msg.name()))
                    .inc();
                items.push(Item {
                    source: Source::Peer(from),
                    chain,
                    msg,
                });
            }
        }
        let mut submissions = Vec::new();
        let mut creations = Vec::new();
        let mut quotes = Vec::new();
        for command in commands {
            match command {
                Command::Submit { tx, wait, reply } => {
                    submissions.push(Submission { tx, wait, reply });
                }
                Command::CreateChain { genesis, reply } => {
                    creations.push(Creation { genesis, reply });
                }
                Command::Quote { quote, reply } => {
                    quotes.push(QuoteSubmission { quote, reply });
                }
            }
        }
        Inputs {
            items,
            submissions,
            creations,
            quotes,
        }
    }

    /// Checks the tick's inputs: what needs no signature first, then every signature of the
    /// tick, grouped by the message carrying it, in one batch. A client whose transaction
    /// fails the first checks is answered now.
    pub(super) fn intake(&mut self, inputs: Inputs, report: &mut TickReport) -> Checked {
        let Inputs {
            items,
            submissions,
            creations,
            quotes,
        } = inputs;
        let mut groups: Vec<Vec<SignatureCheck>> = Vec::with_capacity(items.len());
        let mut keep = Vec::with_capacity(items.len());
        for item in &items {
            let checks = self.signature_checks(item);
            keep.push(checks.is_ok());
            groups.push(checks.unwrap_or_default());
        }
        let mut admissions = Vec::new();
        for submission in submissions {
            match self.precheck(&submission.tx) {
                Ok(()) => {
                    groups.push(submission.tx.signature_checks());
                    admissions.push(submission);
                }
                Err(error) => {
                    let _ = submission.reply.send(Err(error));
                }
            }
        }
        groups.extend(
            creations
                .iter()
                .map(|creation| vec![creation.genesis.signature_check()]),
        );
        let mut quotes_kept = Vec::new();
        for submission in quotes {
            match self.check_quote(&submission.quote.quote, None) {
                Ok(()) => {
                    groups.push(vec![submission.quote.signature_check()]);
                    quotes_kept.push(submission);
                }
                Err(refused) => {
                    let _ = submission.reply.send(Err(refused));
                }
            }
        }
        let verdicts = verify_groups(&groups, &mut *self.rng);
        report.signatures = verdicts.signatures;
        report.batches = verdicts.batches;
        self.metrics
            .signatures_verified
            .inc_by(report.signatures as u64);

        let mut verdicts = verdicts.groups.into_iter();
        let mut checked_items = Vec::with_capacity(items.len());
        for (item, kept) in items.into_iter().zip(keep) {
            let valid = verdicts.next().unwrap_or(false);
            if kept {
                checked_items.push((item, valid));
            }
        }
        Checked {
            items: checked_items,
            submissions: admissions.into_iter().zip(verdicts.by_ref()).collect(),
            creations: creations.into_iter().zip(verdicts.by_ref()).collect(),
            quotes: quotes_kept.into_iter().zip(verdicts).collect(),
        }
    }

    /// The signatures an item carries, after the checks that need none; `Err` drops it.
    fn signature_checks(&mut self, item: &Item) -> Result<Vec<SignatureCheck>, ()> {
        // Own messages are trusted; a genesis needs no chain loaded, only its owner's signature.
        if item.source == Source::Own {
            return Ok(Vec::new());
        }
        if let Msg::Genesis(genesis) = &item.msg {
            return Ok(vec![genesis.signature_check()]);
        }
        if let Msg::Quote(signed) = &item.msg {
            // A malformed quote goes on unverified, to be refused and its sender penalized.
            if signed.quote.check_form().is_err() {
                return Ok(Vec::new());
            }
            self.check_quote(&signed.quote, Some(item.chain))
                .map_err(drop)?;
            return Ok(vec![signed.signature_check()]);
        }
        if !self.table.load(&*self.store, &item.chain) {
            if let (Source::Peer(peer), Msg::Proposal(_) | Msg::Vote(_)) = (item.source, &item.msg)
            {
                self.sync.ask_genesis(item.chain, peer, &mut self.outbox);
            }
            return Err(());
        }
        let Some(slot) = self.table.get(&item.chain) else {
            return Err(());
        };
        let unknown_txs = |txs: &[SignedTransaction]| -> Vec<SignatureCheck> {
            txs.iter()
                .filter(|tx| !slot.mempool.contains(&tx.hash()))
                .flat_map(SignedTransaction::signature_checks)
                .collect()
        };
        let instance = slot.instance.as_ref();
        match &item.msg {
            // A copy of what the instance holds already (a peer's resend): nothing to do.
            Msg::Vote(signed) if instance.is_some_and(|i| i.holds_vote(signed)) => {
                self.metrics.copies_dropped.inc();
                Err(())
            }
            Msg::Proposal(signed) if instance.is_some_and(|i| i.holds_proposal(signed)) => {
                self.metrics.copies_dropped.inc();
                Err(())
            }
            Msg::Tx(tx) => {
                check_form(&item.chain, tx).map_err(drop)?;
                // Refused before its signature costs anything.
                slot.mempool
                    .check(tx, &slot.state, self.now_ms)
                    .map_err(|error| self.refused(&error, Origin::Peer))?;
                Ok(tx.signature_checks())
            }
            Msg::Proposal(signed) => {
                signed.check_block().map_err(drop)?;
                let mut checks = vec![signed.signature_check()];
                checks.extend(unknown_txs(&signed.block.txs));
                Ok(checks)
            }
            Msg::Vote(signed) => Ok(vec![signed.signature_check()]),
            Msg::Commit(block, certificate) => {
                // Only the next block can be checked against a known validator set.
                if block.header.height != slot.state.next_height()
                    || certificate.block_hash != block.hash()
                    || certificate.height != block.header.height
                    || certificate.chain_id != item.chain
                {
                    return Err(());
                }
                certificate
                    .check_signers(&slot.state.meta().validators)
                    .map_err(drop)?;
                let mut checks: Vec<SignatureCheck> = certificate.signature_checks().collect();
                checks.extend(unknown_txs(&block.txs));
                Ok(checks)
            }
            Msg::Need(_) | Msg::Genesis(_) | Msg::Quote(_) => Ok(Vec::new()),
        }
    }

    /// The checks of a client's transaction that need no signature: its form, and whether
    /// its chain's mempool would admit it (checked again once its signature is verified).
    fn precheck(&mut self, tx: &SignedTransaction) -> Result<(), SubmitError> {
        if self.load.is_busy(&self.config.limits) {
            self.metrics.refused_busy.inc();
            return Err(SubmitError::Admit(AdmitError::Busy(HOST_BUSY)));
        }
        let chain = tx.tx.chain_id;
        if !self.table.load(&*self.store, &chain) {
            return Err(SubmitError::UnknownChain(chain));
        }
        check_form(&chain, tx).map_err(SubmitError::Invalid)?;
        let Some(slot) = self.table.get(&chain) else {
            return Err(SubmitError::UnknownChain(chain));
        };
        slot.mempool
            .check(tx, &slot.state, self.now_ms)
            .map_err(|error| {
                self.refused(&error, Origin::Client);
                SubmitError::Admit(error)
            })
    }

    /// Handles each item whose signatures are valid; a peer that sent a bad one is
    /// penalized.
    pub(super) fn handle_items(
        &mut self,
        items: Vec<(Item, bool)>,
        transport: &dyn Transport,
        work: &mut Work,
    ) {
        for (item, valid) in items {
            if !valid {
                if let Msg::Quote(_) = item.msg {
                    self.metrics
                        .quote_refusals
                        .get_or_create(&[("reason", "signature"), ("origin", "peer")])
                        .inc();
                }
                if let Source::Peer(peer) = item.source {
                    self.penalize(
                        transport,
                        peer,
                        &format!("sent a {} with a bad signature", item.msg.name()),
                    );
                }
                continue;
            }
            if let Item {
                source: Source::Peer(peer),
                msg: Msg::Quote(quote),
                ..
            } = item
            {
                self.handle_peer_quote(peer, quote, transport);
                continue;
            }
            self.handle(item, work);
        }
    }

    pub(super) fn penalize(&mut self, transport: &dyn Transport, peer: HostId, reason: &str) {
        if self.penalized.insert(peer) {
            tracing::warn!(%peer, reason, "peer misbehaved");
            self.metrics.peers_penalized.inc();
            transport.penalize(peer, reason);
        }
    }
}

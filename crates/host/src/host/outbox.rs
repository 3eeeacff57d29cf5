//! The outbox: what the tick sends, released once its write is durable. Votes and proposals
//! are signed only then (the guard's approval is on disk), and fed back to this host's own
//! instances in the next tick (the loopback); everything goes out as one envelope per peer.

use std::collections::{BTreeMap, HashMap};

use myriad_consensus::Approval;
use myriad_net::{ChainMsg, EnvelopeBuilder, Msg, SendError, Transport};
use myriad_types::{Block, ChainId, HostId, Proposal, SecretKey, SignedProposal, SignedVote, Vote};

use super::table::ChainTable;
use crate::metrics::{kind, Metrics};

/// Something signed once the tick's writes are durable.
#[derive(Debug)]
enum Out {
    Vote(ChainId, Approval<Vote>),
    Proposal(ChainId, Approval<Proposal>, Block),
    /// A message to the chain's peers, or to one host.
    Send(ChainId, Msg, Option<HostId>),
}

#[derive(Debug, Default)]
pub(super) struct Outbox {
    /// What the tick sends, in the order it was put here.
    pending: Vec<Out>,
    /// This host's own signed messages, for its instances in the next tick.
    loopback: Vec<(ChainId, Msg)>,
}

impl Outbox {
    /// A vote the guard approved, signed on release.
    pub(super) fn vote(&mut self, chain: ChainId, approval: Approval<Vote>) {
        self.pending.push(Out::Vote(chain, approval));
    }

    /// A proposal the guard approved, signed on release.
    pub(super) fn proposal(&mut self, chain: ChainId, approval: Approval<Proposal>, block: Block) {
        self.pending.push(Out::Proposal(chain, approval, block));
    }

    /// A message for the chain's peers.
    pub(super) fn broadcast(&mut self, chain: ChainId, msg: Msg) {
        self.pending.push(Out::Send(chain, msg, None));
    }

    /// A message for one host.
    pub(super) fn send(&mut self, chain: ChainId, msg: Msg, host: HostId) {
        self.pending.push(Out::Send(chain, msg, Some(host)));
    }

    pub(super) fn has_loopback(&self) -> bool {
        !self.loopback.is_empty()
    }

    /// This host's own messages signed last tick.
    pub(super) fn take_loopback(&mut self) -> Vec<(ChainId, Msg)> {
        std::mem::take(&mut self.loopback)
    }

    /// Signs what the guard approved (its state is durable now) and sends everything.
    pub(super) fn release(
        &mut self,
        key: &SecretKey,
        me: HostId,
        table: &ChainTable,
        metrics: &Metrics,
        transport: &dyn Transport,
    ) {
        let mut envelopes: BTreeMap<HostId, EnvelopeBuilder> = BTreeMap::new();
        let mut peers_of: HashMap<ChainId, Vec<HostId>> = HashMap::new();
        for out in std::mem::take(&mut self.pending) {
            let (chain, msg, to) = self.sign(out, key, me);
            let recipients = match to {
                Some(host) => vec![host],
                None => peers_of
                    .entry(chain)
                    .or_insert_with(|| {
                        table
                            .get(&chain)
                            .map(|slot| slot.peers(&me))
                            .unwrap_or_default()
                    })
                    .clone(),
            };
            let sent = metrics.messages_sent.get_or_create(&kind(msg.name()));
            sent.inc_by(recipients.len() as u64);
            for host in recipients {
                envelopes.entry(host).or_default().push(ChainMsg {
                    chain,
                    msg: msg.clone(),
                });
            }
        }
        send(envelopes, metrics, transport);
    }

    /// A message as it goes out, with its one recipient if it has one: votes and proposals
    /// signed, and fed back to this host too.
    fn sign(&mut self, out: Out, key: &SecretKey, me: HostId) -> (ChainId, Msg, Option<HostId>) {
        match out {
            Out::Vote(chain, approval) => {
                let (vote, signature) = approval.sign(key);
                let signed = SignedVote {
                    vote,
                    voter: me,
                    signature,
                };
                self.loopback.push((chain, Msg::Vote(signed.clone())));
                (chain, Msg::Vote(signed), None)
            }
            Out::Proposal(chain, approval, block) => {
                let (proposal, signature) = approval.sign(key);
                let signed = SignedProposal {
                    proposal,
                    proposer: me,
                    signature,
                    block,
                };
                self.loopback.push((chain, Msg::Proposal(signed.clone())));
                (chain, Msg::Proposal(signed), None)
            }
            Out::Send(chain, msg, to) => (chain, msg, to),
        }
    }
}

/// Sends each peer its envelopes, in the order of the peers' ids; counts what could not go.
fn send(
    envelopes: BTreeMap<HostId, EnvelopeBuilder>,
    metrics: &Metrics,
    transport: &dyn Transport,
) {
    for (host, builder) in envelopes {
        for envelope in builder.finish() {
            match transport.send(host, envelope) {
                Ok(()) => {}
                Err(SendError::Busy(_)) => {
                    metrics.sends_dropped.inc();
                }
                Err(error) => {
                    metrics.sends_dropped.inc();
                    tracing::debug!(%host, %error, "cannot send");
                }
            }
        }
    }
}

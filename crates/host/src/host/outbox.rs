//! The outbox: what the tick sends, released once its write is durable. Votes and proposals
//! are signed only then (the guard's approval is on disk), all of the tick's with one tick
//! signature, and fed back to this host's own instances in the next tick (the loopback);
//! everything goes out as one envelope per peer.

use std::collections::{BTreeMap, HashMap};

use myriad_consensus::Approval;
use myriad_net::{ChainMsg, EnvelopeBuilder, Msg, SendError, Transport};
use myriad_types::{
    sign_tick, Block, ChainId, Hash, HostId, Proposal, SecretKey, SignedProposal, SignedStep,
    SignedVote, TickSignature, Vote,
};

use super::table::ChainTable;
use crate::metrics::{kind, Metrics};

/// What the tick sends.
#[derive(Debug)]
enum Out {
    /// A message signed once the tick's writes are durable, for the chain's peers.
    Signed(ChainId, ToSign),
    /// A message to the chain's peers, or to one host.
    Send(ChainId, Msg, Option<HostId>),
}

/// A message the guard approved.
#[derive(Debug)]
enum ToSign {
    Vote(Approval<Vote>),
    Proposal(Approval<Proposal>, Box<Block>),
}

impl ToSign {
    fn leaf(&self) -> Hash {
        match self {
            ToSign::Vote(approval) => approval.leaf(),
            ToSign::Proposal(approval, _) => approval.leaf(),
        }
    }

    /// Whether it is a precommit: what certificates, and anchors of many chains, carry.
    fn is_precommit(&self) -> bool {
        matches!(self, ToSign::Vote(approval) if approval.state().step == SignedStep::Precommit)
    }

    /// The message with its share of the tick signature.
    fn release(self, signature: TickSignature, me: HostId) -> Msg {
        match self {
            ToSign::Vote(approval) => Msg::Vote(SignedVote {
                vote: approval.release(),
                voter: me,
                signature,
            }),
            ToSign::Proposal(approval, block) => Msg::Proposal(Box::new(SignedProposal {
                proposal: approval.release(),
                proposer: me,
                signature,
                block: *block,
            })),
        }
    }
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
        self.pending
            .push(Out::Signed(chain, ToSign::Vote(approval)));
    }

    /// A proposal the guard approved, signed on release.
    pub(super) fn proposal(&mut self, chain: ChainId, approval: Approval<Proposal>, block: Block) {
        self.pending.push(Out::Signed(
            chain,
            ToSign::Proposal(approval, Box::new(block)),
        ));
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

    /// Signs what the guard approved (its state is durable now), with one signature over
    /// the root of all of it, and sends everything. The root chain's precommits are each
    /// signed alone: its certificates, which every light-client proof carries, then hold no
    /// path through the tick's other messages.
    pub(super) fn release(
        &mut self,
        key: &SecretKey,
        (me, root): (HostId, Option<ChainId>),
        table: &ChainTable,
        metrics: &Metrics,
        transport: &dyn Transport,
    ) {
        let mut envelopes: BTreeMap<HostId, EnvelopeBuilder> = BTreeMap::new();
        let mut peers_of: HashMap<ChainId, Vec<HostId>> = HashMap::new();
        let pending = std::mem::take(&mut self.pending);
        let to_sign: Vec<(ChainId, &ToSign)> = pending
            .iter()
            .filter_map(|out| match out {
                Out::Signed(chain, to_sign) => Some((*chain, to_sign)),
                Out::Send(..) => None,
            })
            .collect();
        let mut signatures: Vec<Option<TickSignature>> = vec![None; to_sign.len()];
        let alone =
            |(chain, to_sign): &(ChainId, &ToSign)| Some(*chain) == root && to_sign.is_precommit();
        // The tick's precommits side by side at the front of its tree, so that an anchor
        // of many chains' heads proves them with few siblings; then the rest, in order.
        let mut order: Vec<usize> = (0..to_sign.len())
            .filter(|at| !alone(&to_sign[*at]))
            .collect();
        order.sort_by_key(|at| !to_sign[*at].1.is_precommit());
        let leaves: Vec<Hash> = order.iter().map(|at| to_sign[*at].1.leaf()).collect();
        for (at, signature) in order.into_iter().zip(sign_tick(key, &leaves)) {
            signatures[at] = Some(signature);
        }
        for (at, out) in to_sign.iter().enumerate().filter(|(_, out)| alone(out)) {
            signatures[at] = sign_tick(key, &[out.1.leaf()]).pop();
        }
        let mut signatures = signatures.into_iter();
        for out in pending {
            let (chain, msg, to) = match out {
                Out::Send(chain, msg, to) => (chain, msg, to),
                Out::Signed(chain, to_sign) => {
                    let Some(Some(signature)) = signatures.next() else {
                        continue;
                    };
                    let msg = to_sign.release(signature, me);
                    self.loopback.push((chain, msg.clone()));
                    (chain, msg, None)
                }
            };
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

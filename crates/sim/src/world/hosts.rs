//! The hosts' side of the world: starting a host, its ticks, and taking and checking what it
//! said — events, replies, envelopes — after each.

use std::sync::{Arc, Mutex};

use myriad_host::{Host, HostEvent, HostIo, Metrics, Statuses};
use myriad_net::{Envelope, Inbound, Msg};
use myriad_store::ChainStore;
use myriad_types::{sign_tick, tick_leaf, BoundedVec, ChainId, Hash, HostId, SignedVote, Vote};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::broadcast;

use crate::check::Signed;
use crate::Byzantine;

use super::{Event, World};

/// How many events a host's subscribers may fall behind by.
const EVENTS_MAX: usize = 1 << 16;

impl World {
    /// Starts (or restarts) a node's host over its store.
    pub(super) fn start_host(&mut self, node: usize) {
        let (events, receiver) = broadcast::channel(EVENTS_MAX);
        let io = HostIo {
            statuses: Arc::new(Mutex::new(Statuses::default())),
            events,
            metrics: Arc::new(Metrics::new()),
            vote_log: None,
            rng: Box::new(ChaCha8Rng::from_seed(self.rng.seed32())),
        };
        let n = &mut self.nodes[node];
        let config = self.config.host.clone();
        match Host::new(config, n.key.clone(), n.store.clone(), io) {
            Ok(host) => {
                n.host = Some(host);
                n.events = Some(receiver);
            }
            Err(error) => self
                .checker
                .unexpected(format!("node {node} cannot start: {error}")),
        }
    }

    /// Makes sure the node ticks by `at`.
    pub(super) fn wake(&mut self, node: usize, at: u64) {
        let n = &mut self.nodes[node];
        let at = at.max(n.busy_until);
        if n.host.is_none() || n.tick_at.is_some_and(|due| due <= at) {
            return;
        }
        n.tick_at = Some(at);
        let epoch = n.epoch;
        self.push(at, Event::Tick { node, epoch });
    }

    pub(super) fn deliver(&mut self, to: usize, from: usize, envelope: Envelope) {
        let from = self.nodes[from].id();
        let n = &mut self.nodes[to];
        if n.host.is_none() {
            return;
        }
        n.inbox.push(Inbound { from, envelope });
        self.wake(to, self.now + self.config.host.tick_ms);
    }

    /// One tick of a node's host, then everything it said: its events, its replies to
    /// clients, and what it sent; the next tick comes at the host's own pace.
    pub(super) fn tick(&mut self, node: usize) {
        let now = self.now;
        let n = &mut self.nodes[node];
        n.tick_at = None;
        let Some(host) = n.host.as_mut() else {
            return;
        };
        let inbound = std::mem::take(&mut n.inbox);
        let commands = std::mem::take(&mut n.commands);
        let cost = self.config.tick_cost;
        // The host reads its own clock, which a skewed one offsets from the simulation's.
        let offset = n.clock_offset_ms;
        let clock = now.saturating_add_signed(offset);
        let result = host
            .tick(clock, inbound, commands, &n.transport)
            .map(|report| {
                let took = cost.of(&report);
                let next = host.next_tick_ms(&report, clock + took);
                let next = next.saturating_add_signed(-offset).max(now);
                (report.messages, took, next)
            });
        let took = result.as_ref().map_or(0, |(_, took, _)| *took);
        self.nodes[node].busy_until = now + took;
        self.collect(node, took);
        match result {
            Ok((messages, _, next)) => {
                self.stats.max_tick_messages = self.stats.max_tick_messages.max(messages);
                self.wake(node, next);
            }
            Err(error) if self.nodes[node].crash_on_write => {
                self.log(|| format!("node {node} dies in its write: {error}"));
                self.go_down(node);
            }
            Err(error) => self
                .checker
                .unexpected(format!("node {node} failed its tick: {error}")),
        }
    }

    /// Takes what a node's host said in its last tick, which took `took` ms, and checks it;
    /// what it sent leaves when the tick ends.
    pub(super) fn collect(&mut self, node: usize, took: u64) {
        self.collect_events(node);
        self.collect_replies(node);
        let sent = self.nodes[node].transport.take_sent();
        for (to, envelope) in sent {
            self.send(node, to, envelope, took);
        }
        for (peer, reason) in self.nodes[node].transport.take_penalties() {
            let byzantine = self.byzantine_host;
            self.checker.penalty(node, peer, &reason, byzantine);
        }
    }

    pub(super) fn collect_events(&mut self, node: usize) {
        let store = self.nodes[node].store.clone();
        let honest = self.nodes[node].honest;
        loop {
            let Some(events) = self.nodes[node].events.as_mut() else {
                return;
            };
            let event = match events.try_recv() {
                Ok(event) => event,
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    self.checker
                        .unexpected(format!("node {node}: {missed} events missed"));
                    continue;
                }
                Err(_) => return,
            };
            match event {
                HostEvent::Head {
                    chain,
                    height,
                    block_hash,
                    ..
                } => {
                    self.nodes[node].acked.push((chain, height, block_hash));
                    self.checker
                        .durable_block(node, &store, (chain, height, block_hash));
                    self.trace.update(&block_hash.0);
                    if honest {
                        self.decided(node, chain, height);
                    }
                }
                HostEvent::Evidence { evidence, .. } => {
                    self.stats.evidence += 1;
                    let byzantine = self.byzantine_host;
                    self.checker.evidence(&evidence, byzantine);
                }
                HostEvent::Tx { .. } => {}
            }
        }
    }

    /// An honest node decided a block: the checkers read it back from its store.
    pub(super) fn decided(&mut self, node: usize, chain: ChainId, height: myriad_types::Height) {
        let store = &self.nodes[node].store;
        let stored = store.certified_block(&chain, height).ok().flatten();
        let Some((block, certificate)) = stored else {
            return; // The durability checker has already said so.
        };
        self.stats.blocks_decided += 1;
        let advance = self.checker.decision(node, &block, &certificate, self.now);
        self.stats.txs_committed += advance.txs.len() as u64;
        self.stats.validator_changes += advance.validator_changes;
        self.stats.anchors += advance.anchors;
        self.swaps_committed(&advance.txs);
        if let Some(entry) = self.chains.iter_mut().find(|c| c.id == chain) {
            for tx in advance.txs {
                entry.clients.committed(tx);
            }
        }
        self.log(|| format!("node {node} decides chain {chain} height {height}"));
    }

    /// Sends what a node sent one peer through the faulty network, to every node that holds
    /// that peer's key; notes what an honest node signed.
    pub(super) fn send(&mut self, node: usize, to: HostId, envelope: Envelope, after: u64) {
        let me = self.nodes[node].id();
        let honest = self.nodes[node].honest;
        for item in envelope.items.iter() {
            self.stats.messages_sent += 1;
            match &item.msg {
                Msg::Commit(..) => self.stats.sync_blocks_served += 1,
                Msg::Vote(vote) if honest && vote.voter == me => {
                    let v = &vote.vote;
                    let step = match v.step {
                        myriad_types::VoteStep::Prevote => Signed::Prevote,
                        myriad_types::VoteStep::Precommit => Signed::Precommit,
                    };
                    self.checker
                        .signed(me, item.chain, (v.height, v.round, step), v.block_hash);
                }
                Msg::Proposal(p) if honest && p.proposer == me => {
                    let at = (p.proposal.height, p.proposal.round, Signed::Proposal);
                    self.checker
                        .signed(me, item.chain, at, Some(p.proposal.block_hash));
                }
                _ => {}
            }
        }
        let equivocate = !honest && self.byzantine == Byzantine::Equivocator;
        for peer in self.nodes_of(to) {
            if peer == node {
                continue;
            }
            let delays = self.faults.deliveries(&mut self.rng, node, peer);
            if delays.is_empty() {
                self.stats.messages_dropped += 1;
            }
            for delay in delays {
                let mut copy = envelope.clone();
                if equivocate {
                    self.equivocate(node, &mut copy);
                }
                let event = Event::Deliver {
                    to: peer,
                    from: node,
                    envelope: Box::new(copy),
                };
                self.push(self.now + after + delay, event);
            }
        }
    }

    /// The equivocator swaps about half its votes for a conflicting vote it also signs (all
    /// of an envelope's under one tick signature of their own), and spoils the signature of a
    /// few.
    pub(super) fn equivocate(&mut self, node: usize, envelope: &mut Envelope) {
        let key = self.nodes[node].key.clone();
        let mut items = envelope.items.clone().into_inner();
        let mut swapped: Vec<(usize, Vote)> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let Msg::Vote(signed) = &item.msg else {
                continue;
            };
            if signed.voter != key.host_id() || !self.rng.chance(0.5) {
                continue;
            }
            let mut other = signed.vote.clone();
            other.block_hash = match other.block_hash {
                Some(_) => None,
                None => Some(Hash::digest(&myriad_types::encode(&signed.vote))),
            };
            swapped.push((index, other));
        }
        let leaves: Vec<Hash> = swapped.iter().map(|(_, vote)| tick_leaf(vote)).collect();
        for ((index, vote), mut signature) in swapped.into_iter().zip(sign_tick(&key, &leaves)) {
            if self.rng.chance(0.1) {
                signature.signature.0[0] ^= 1;
            }
            items[index].msg = Msg::Vote(SignedVote {
                signature,
                vote,
                voter: key.host_id(),
            });
        }
        if let Ok(items) = BoundedVec::new(items) {
            envelope.items = items;
        }
    }
}

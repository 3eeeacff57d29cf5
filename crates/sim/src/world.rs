//! The world: nodes, chains, clients and the event queue that drives them in virtual time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use myriad_consensus::{Effect, Input, Instance, SignerGuard, Timeout};
use myriad_ledger::ChainState;
use myriad_types::{
    Block, BoundedVec, Certificate, Genesis, Hash, Height, HostId, SecretKey, Signable,
    SignedGenesis, SignedProposal, SignedVote, Symbol, Validator, Vote,
};

use crate::check::Checker;
use crate::net::{Faults, Msg};
use crate::node::{Node, Out, Slot, Verified, FUTURE_MSGS_MAX};
use crate::rng::Rng;
use crate::workload::Clients;
use crate::{Byzantine, Outcome, SimConfig, Stats};

/// Who sent a message: a node, or a client outside the network's partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sender {
    Node(usize),
    Client,
}

#[derive(Debug)]
enum Event {
    Deliver {
        to: usize,
        from: Sender,
        chain: usize,
        msg: Box<Msg>,
    },
    Timer {
        node: usize,
        epoch: u64,
        chain: usize,
        timeout: Timeout,
    },
    Tick(usize),
    Crash(usize),
    Restart(usize),
    Partition,
    Heal,
    Submit,
    Resend,
    EndFaults,
}

impl Event {
    fn tag(&self) -> (u8, u64) {
        match self {
            Event::Deliver { to, chain, .. } => (0, (*to as u64) << 32 | *chain as u64),
            Event::Timer { node, chain, .. } => (1, (*node as u64) << 32 | *chain as u64),
            Event::Tick(node) => (2, *node as u64),
            Event::Crash(node) => (3, *node as u64),
            Event::Restart(node) => (4, *node as u64),
            Event::Partition => (5, 0),
            Event::Heal => (6, 0),
            Event::Submit => (7, 0),
            Event::Resend => (8, 0),
            Event::EndFaults => (9, 0),
        }
    }
}

/// Work for one node's chain: an input for the instance at one height.
type Work = VecDeque<(usize, Height, Input)>;

struct World {
    config: SimConfig,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: std::collections::BTreeMap<u64, Event>,
    nodes: Vec<Node>,
    clients: Vec<Clients>,
    faults: Faults,
    faulty: bool,
    byzantine: Byzantine,
    byzantine_host: Option<HostId>,
    checker: Checker,
    stats: Stats,
    trace: blake3::Hasher,
    verbose: bool,
    symbol: Symbol,
    verified: Verified,
}

/// Runs one seed and checks everything it did.
pub fn run(seed: u64, config: &SimConfig, verbose: bool) -> Outcome {
    let mut world = World::new(seed, config.clone(), verbose);
    world.run();
    world.finish(seed)
}

impl World {
    fn new(seed: u64, config: SimConfig, verbose: bool) -> World {
        let mut rng = Rng::new(seed);
        let hosts = rng.between(4, 7) as usize;
        let drawn = match rng.below(3) {
            0 => Byzantine::None,
            1 => Byzantine::Twins,
            _ => Byzantine::Equivocator,
        };
        let byzantine = config.byzantine.unwrap_or(drawn);
        let keys: Vec<SecretKey> = (0..hosts)
            .map(|_| SecretKey::from_seed(rng.seed32()))
            .collect();
        let bad = (byzantine != Byzantine::None).then(|| rng.below(hosts as u64) as usize);
        let mut nodes: Vec<Node> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| Node::new(key.clone(), Some(i) != bad))
            .collect();
        if let (Byzantine::Twins, Some(bad)) = (byzantine, bad) {
            nodes.push(Node::new(keys[bad].clone(), false));
        }
        let faults = Faults::draw(&mut rng);
        let mut world = World {
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: Default::default(),
            nodes,
            clients: Vec::new(),
            faults,
            faulty: true,
            byzantine,
            byzantine_host: bad.map(|bad| keys[bad].host_id()),
            checker: Checker::default(),
            stats: Stats {
                hosts,
                byzantine: match byzantine {
                    Byzantine::None => None,
                    Byzantine::Twins => Some("twins"),
                    Byzantine::Equivocator => Some("equivocator"),
                },
                ..Stats::default()
            },
            trace: blake3::Hasher::new(),
            verbose,
            config,
            #[allow(clippy::expect_used)]
            symbol: Symbol::new("SIM").expect("SIM is a valid symbol"),
            verified: Verified::default(),
        };
        for chain in 0..world.config.chains {
            world.create_chain(chain, &keys);
        }
        world.schedule_faults();
        world
    }

    /// A chain with 4 to 7 validators drawn from the hosts; a byzantine host among them
    /// holds less than a third of the power.
    fn create_chain(&mut self, chain: usize, keys: &[SecretKey]) {
        let size = self.rng.between(4, keys.len() as u64) as usize;
        let mut order: Vec<usize> = (0..keys.len()).collect();
        self.rng.shuffle(&mut order);
        let members = &order[..size];
        let mut powers: Vec<u64> = members.iter().map(|_| self.rng.between(1, 3)).collect();
        let bad = members
            .iter()
            .position(|m| Some(keys[*m].host_id()) == self.byzantine_host);
        if let Some(bad) = bad {
            // One of at least four validators, each with power of at least 1: under a third.
            powers[bad] = 1;
        }
        let validators = members
            .iter()
            .zip(&powers)
            .map(|(m, power)| Validator {
                host: keys[*m].host_id(),
                power: *power,
            })
            .collect();
        let owner = SecretKey::from_seed(self.rng.seed32());
        let genesis = SignedGenesis::sign(
            Genesis {
                owner: owner.address(),
                symbol: self.symbol.clone(),
                decimals: 2,
                max_supply: None,
                validators: BoundedVec::new(validators).unwrap_or_default(),
                created_at_ms: 0,
                salt: chain as u64,
            },
            &owner,
        );
        self.clients.push(Clients::new(owner, &mut self.rng));
        for node in &mut self.nodes {
            let member = genesis
                .genesis
                .validators
                .iter()
                .any(|v| v.host == node.host());
            if let (true, Ok(state)) = (member, ChainState::from_genesis(&genesis)) {
                let slot = Slot::new(genesis.clone(), state, SignerGuard::default());
                node.chains.insert(chain, slot);
            }
        }
    }

    fn schedule_faults(&mut self) {
        let end = self.config.faulty_ms;
        for _ in 0..self.rng.between(0, self.config.partitions_max) {
            let at = self.rng.below(end);
            self.push(at, Event::Partition);
        }
        let honest: Vec<usize> = (0..self.nodes.len())
            .filter(|n| self.nodes[*n].honest)
            .collect();
        for _ in 0..self.rng.between(0, 4) {
            let node = self.rng.pick(&honest);
            let at = self.rng.below(end);
            self.push(at, Event::Crash(node));
        }
        self.push(0, Event::Submit);
        self.push(0, Event::Resend);
        self.push(end, Event::EndFaults);
    }

    fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.events.insert(self.seq, event);
    }

    fn run(&mut self) {
        let deadline = self.config.faulty_ms + self.config.settle_ms;
        while let Some(Reverse((at, seq))) = self.queue.pop() {
            if at > deadline {
                break;
            }
            let Some(event) = self.events.remove(&seq) else {
                continue;
            };
            self.now = at;
            let (tag, detail) = event.tag();
            self.trace.update(&at.to_le_bytes());
            self.trace.update(&[tag]);
            self.trace.update(&detail.to_le_bytes());
            self.handle(event);
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver {
                to,
                from,
                chain,
                msg,
            } => self.deliver(to, from, chain, *msg),
            Event::Timer {
                node,
                epoch,
                chain,
                timeout,
            } => {
                if self.nodes[node].up && self.nodes[node].epoch == epoch {
                    let mut work = Work::from([(chain, timeout.height, Input::Timeout(timeout))]);
                    self.feed(node, &mut work);
                }
            }
            Event::Tick(node) => self.tick(node),
            Event::Crash(node) => self.crash(node),
            Event::Restart(node) => self.restart(node),
            Event::Partition => self.partition(),
            Event::Heal => self.faults.sides = None,
            Event::Submit => self.submit(),
            Event::Resend => self.resend(),
            Event::EndFaults => self.end_faults(),
        }
    }

    fn log(&self, line: impl FnOnce() -> String) {
        if self.verbose {
            println!("{:>8} ms  {}", self.now, line());
        }
    }

    // ---- faults ----

    fn partition(&mut self) {
        if !self.faulty {
            return;
        }
        let count = self.nodes.len();
        let mut sides: Vec<u8> = if self.rng.chance(0.5) {
            let isolated = self.rng.below(count as u64) as usize;
            (0..count).map(|n| u8::from(n == isolated)).collect()
        } else {
            (0..count).map(|_| self.rng.below(2) as u8).collect()
        };
        if self.byzantine == Byzantine::Twins {
            // The twins always stand on opposite sides.
            let twin = count - 1;
            let original = (0..twin)
                .find(|n| self.nodes[*n].host() == self.nodes[twin].host())
                .unwrap_or(0);
            sides[twin] = 1 - sides[original];
        }
        self.log(|| format!("partition {sides:?}"));
        self.faults.sides = Some(sides);
        self.stats.partitions += 1;
        let heal = self.now + self.rng.between(200, 3_000);
        self.push(heal, Event::Heal);
    }

    fn crash(&mut self, node: usize) {
        if !self.faulty || !self.nodes[node].up {
            return;
        }
        self.log(|| format!("node {node} crashes"));
        self.nodes[node].crash();
        self.stats.crashes += 1;
        let restart = (self.now + self.rng.between(100, 3_000)).min(self.config.faulty_ms);
        self.push(restart, Event::Restart(node));
    }

    fn restart(&mut self, node: usize) {
        if self.nodes[node].up {
            return;
        }
        self.log(|| format!("node {node} restarts"));
        if let Err(error) = self.nodes[node].restart(&mut self.verified) {
            self.checker
                .unexpected(format!("node {node} cannot restart: {error}"));
        }
        let n = &self.nodes[node];
        self.checker.durability(node, &n.acked, &n.synced.blocks);
    }

    fn end_faults(&mut self) {
        self.log(|| "faults stop".to_owned());
        self.faulty = false;
        self.faults = self.faults.healed();
        for node in 0..self.nodes.len() {
            self.restart(node);
        }
    }

    // ---- clients ----

    fn submit(&mut self) {
        if !self.faulty {
            return;
        }
        let chain = self.rng.below(self.clients.len() as u64) as usize;
        let chain_id = self.chain_id(chain);
        let tx = self.clients[chain].next(chain_id, &mut self.rng);
        self.send(Sender::Client, chain, &Msg::Tx(tx));
        let next = self.now + self.rng.between(20, 180);
        self.push(next, Event::Submit);
    }

    fn resend(&mut self) {
        let mut any = false;
        for chain in 0..self.clients.len() {
            for tx in self.clients[chain].pending.clone() {
                any = true;
                self.send(Sender::Client, chain, &Msg::Tx(tx));
            }
        }
        if any || self.faulty {
            self.push(self.now + 500, Event::Resend);
        }
    }

    fn chain_id(&self, chain: usize) -> myriad_types::ChainId {
        self.nodes
            .iter()
            .find_map(|n| n.chains.get(&chain))
            .map(|slot| slot.state.chain_id())
            .unwrap_or(myriad_types::ChainId([0; 32]))
    }

    // ---- network ----

    /// Sends `msg` to every validator node of `chain` but the sender.
    fn send(&mut self, from: Sender, chain: usize, msg: &Msg) {
        let to: Vec<usize> = (0..self.nodes.len())
            .filter(|n| Sender::Node(*n) != from && self.nodes[*n].chains.contains_key(&chain))
            .collect();
        for node in to {
            self.send_to(from, node, chain, msg.clone());
        }
    }

    fn send_to(&mut self, from: Sender, to: usize, chain: usize, msg: Msg) {
        self.stats.messages_sent += 1;
        let delays = match from {
            Sender::Node(from) => self.faults.deliveries(&mut self.rng, from, to),
            Sender::Client => self.faults.deliveries(&mut self.rng, to, to),
        };
        if delays.is_empty() {
            self.stats.messages_dropped += 1;
        }
        for delay in delays {
            let event = Event::Deliver {
                to,
                from,
                chain,
                msg: Box::new(msg.clone()),
            };
            self.push(self.now + delay, event);
        }
    }

    // ---- a node's work ----

    fn deliver(&mut self, to: usize, from: Sender, chain: usize, msg: Msg) {
        if !self.nodes[to].up || !self.nodes[to].chains.contains_key(&chain) {
            return;
        }
        let mut work = Work::new();
        match msg {
            Msg::Tx(tx) => {
                let Some(slot) = self.nodes[to].chains.get_mut(&chain) else {
                    return;
                };
                if slot.admit(tx, &mut self.verified) {
                    work.push_back((chain, slot.next_height(), Input::Start));
                }
            }
            Msg::Proposal(signed) => {
                let parts: [&[u8]; 3] = [
                    &signed.proposer.0,
                    &signed.signature.0,
                    &signed.proposal.signing_bytes(),
                ];
                let header_hash = signed.block.hash();
                let valid = self.verified.check(&[&parts.concat(), &header_hash.0], || {
                    signed.verify().is_ok()
                });
                if valid {
                    let height = signed.proposal.height;
                    self.route(to, from, chain, height, Input::Proposal(signed), &mut work);
                }
            }
            Msg::Vote(signed) => {
                let bytes = signed.vote.signing_bytes();
                let parts: [&[u8]; 3] = [&signed.voter.0, &signed.signature.0, &bytes];
                if self
                    .verified
                    .check(&parts, || signed.verify_signature().is_ok())
                {
                    let height = signed.vote.height;
                    self.route(to, from, chain, height, Input::Vote(signed), &mut work);
                }
            }
            Msg::Commit(block, certificate) => {
                self.commit(to, chain, block, certificate, &mut work);
            }
            Msg::Need(height) => self.serve(to, from, chain, height),
        }
        self.feed(to, &mut work);
    }

    /// Sends a peer the durable block it is missing at `height`.
    fn serve(&mut self, node: usize, to: Sender, chain: usize, height: Height) {
        let Sender::Node(to) = to else { return };
        let stored = self.nodes[node]
            .synced
            .blocks
            .get(&chain)
            .and_then(|blocks| blocks.get((height.0 as usize).wrapping_sub(1)))
            .cloned();
        if let Some((block, certificate)) = stored {
            self.send_to(
                Sender::Node(node),
                to,
                chain,
                Msg::Commit(block, certificate),
            );
        }
    }

    /// Hands a consensus message to the instance of its height; answers a peer that is
    /// behind, and buffers (and asks for what is missing) when this node is behind.
    fn route(
        &mut self,
        node: usize,
        from: Sender,
        chain: usize,
        height: Height,
        input: Input,
        work: &mut Work,
    ) {
        let Some(slot) = self.nodes[node].chains.get_mut(&chain) else {
            return;
        };
        let next = slot.next_height();
        if height < next {
            self.serve(node, from, chain, height);
        } else if height > next {
            if let Sender::Node(peer) = from {
                if slot.future.len() >= FUTURE_MSGS_MAX {
                    slot.future.pop_front();
                }
                let msg = match input {
                    Input::Proposal(p) => Msg::Proposal(p),
                    Input::Vote(v) => Msg::Vote(v),
                    _ => return,
                };
                slot.future.push_back((peer, height, msg));
                self.send_to(Sender::Node(node), peer, chain, Msg::Need(next));
            }
        } else {
            work.push_back((chain, height, input));
        }
    }

    /// Runs inputs through instances until no work is left.
    fn feed(&mut self, node: usize, work: &mut Work) {
        while let Some((chain, height, input)) = work.pop_front() {
            self.ensure_instance(node, chain, height, work);
            let Some(slot) = self.nodes[node].chains.get_mut(&chain) else {
                continue;
            };
            let Some(instance) = slot.instance.as_mut().filter(|i| i.height() == height) else {
                continue;
            };
            let effects = instance.handle(&self.config.consensus, input);
            self.stats.max_round = self.stats.max_round.max(instance.round().0);
            for effect in effects {
                self.effect(node, chain, height, effect, work);
            }
        }
    }

    /// Creates the instance of `height` if there is none: fresh, or resumed from the signer
    /// state and lock proof this node synced before a restart.
    fn ensure_instance(&mut self, node: usize, chain: usize, height: Height, work: &mut Work) {
        let n = &mut self.nodes[node];
        let me = n.host();
        let Some(slot) = n.chains.get_mut(&chain) else {
            return;
        };
        if slot.instance.is_some() || slot.next_height() != height {
            return;
        }
        let chain_id = slot.state.chain_id();
        let validators = slot.state.meta().validators.clone();
        let effects = match slot.guard.last().filter(|state| state.height == height) {
            Some(state) => {
                let proof = n.synced.lock_proofs.get(&chain).cloned();
                let consensus = &self.config.consensus;
                let (instance, effects) =
                    Instance::recover(consensus, chain_id, me, validators, state, proof);
                slot.instance = Some(instance);
                effects
            }
            None => {
                slot.instance = Some(Instance::new(chain_id, height, me, validators));
                Vec::new()
            }
        };
        for effect in effects {
            self.effect(node, chain, height, effect, work);
        }
    }

    fn effect(
        &mut self,
        node: usize,
        chain: usize,
        height: Height,
        effect: Effect,
        work: &mut Work,
    ) {
        let now = self.now;
        let n = &mut self.nodes[node];
        let me = n.host();
        let Some(slot) = n.chains.get_mut(&chain) else {
            return;
        };
        match effect {
            Effect::SignVote(vote) => {
                if let Ok(approval) = slot.guard.approve_vote(vote) {
                    n.pending.signers.insert(chain, approval.state().clone());
                    n.outbox.push(Out::Vote(chain, approval));
                }
            }
            Effect::SignProposal { proposal, block } => {
                if let Ok(approval) = slot.guard.approve_proposal(proposal) {
                    n.pending.signers.insert(chain, approval.state().clone());
                    n.outbox.push(Out::Proposal(chain, approval, block));
                }
            }
            Effect::PersistLock(proof) => {
                n.pending.lock_proofs.insert(chain, proof);
            }
            Effect::Rebroadcast { proposal, votes } => {
                n.outbox
                    .extend(proposal.map(|p| Out::Raw(chain, Msg::Proposal(p))));
                n.outbox
                    .extend(votes.into_iter().map(|v| Out::Raw(chain, Msg::Vote(v))));
            }
            Effect::ScheduleTimeout { timeout, after_ms } => {
                let epoch = n.epoch;
                self.push(
                    now + after_ms,
                    Event::Timer {
                        node,
                        epoch,
                        chain,
                        timeout,
                    },
                );
                return;
            }
            Effect::BuildProposal { round } => {
                let block = slot.build(me, now);
                work.push_back((chain, height, Input::ProposalBuilt { round, block }));
                return;
            }
            Effect::VerifyBlock(block) => {
                let valid = slot.check(&block, &mut self.verified).is_ok();
                let block_hash = block.hash();
                work.push_back((chain, height, Input::BlockVerdict { block_hash, valid }));
                return;
            }
            Effect::Decided { block, certificate } => {
                self.decide(node, chain, block, certificate, work);
                return;
            }
            Effect::Evidence(evidence) => {
                self.stats.evidence += 1;
                let byzantine = self.byzantine_host;
                self.checker.evidence(&evidence, byzantine);
                return;
            }
        }
        self.schedule_tick(node);
    }

    /// A catch-up block from a peer: checked against our set, then decided.
    fn commit(
        &mut self,
        node: usize,
        chain: usize,
        block: Block,
        certificate: Certificate,
        work: &mut Work,
    ) {
        let Some(slot) = self.nodes[node].chains.get_mut(&chain) else {
            return;
        };
        if block.header.height != slot.next_height()
            || certificate.block_hash != block.hash()
            || certificate.height != block.header.height
            || !self
                .verified
                .certificate(&certificate, &slot.state.meta().validators)
            || slot.check(&block, &mut self.verified).is_err()
        {
            return;
        }
        self.decide(node, chain, block, certificate, work);
    }

    fn decide(
        &mut self,
        node: usize,
        chain: usize,
        block: Block,
        certificate: Certificate,
        work: &mut Work,
    ) {
        let n = &mut self.nodes[node];
        let Some(slot) = n.chains.get_mut(&chain) else {
            return;
        };
        if slot.check(&block, &mut self.verified).is_err() {
            self.checker
                .unexpected(format!("node {node} decided a block it finds invalid"));
            return;
        }
        let height = block.header.height;
        self.trace.update(&block.hash().0);
        let validators = slot.state.meta().validators.clone();
        slot.advance(&block);
        let honest = n.honest;
        if honest {
            self.checker
                .decision(chain, &block, &certificate, &validators, &mut self.verified);
            self.checker.conservation(chain, &slot.state);
        }
        let next = slot.next_height();
        let start = !slot.mempool.is_empty();
        let buffered: Vec<(usize, Height, Msg)> = slot.future.drain(..).collect();
        n.pending
            .blocks
            .entry(chain)
            .or_default()
            .push((block.clone(), certificate));
        n.to_ack.push((chain, height, block.hash()));
        if honest {
            self.stats.blocks_decided += 1;
            for tx in block.txs.iter() {
                self.clients[chain].committed(tx.hash());
            }
            if self.checker.decided_block(chain, height) == Some(block.hash()) {
                self.stats.txs_committed += block.txs.len() as u64;
            }
        }
        self.log(|| {
            format!(
                "node {node} decides chain {chain} height {height} ({} txs)",
                block.txs.len()
            )
        });
        self.schedule_tick(node);
        for (peer, at, msg) in buffered {
            let input = match msg {
                Msg::Proposal(p) => Input::Proposal(p),
                Msg::Vote(v) => Input::Vote(v),
                _ => continue,
            };
            self.route(node, Sender::Node(peer), chain, at, input, work);
        }
        if start {
            work.push_back((chain, next, Input::Start));
        }
    }

    fn schedule_tick(&mut self, node: usize) {
        if !self.nodes[node].tick_scheduled {
            self.nodes[node].tick_scheduled = true;
            self.push(self.now + self.config.tick_ms, Event::Tick(node));
        }
    }

    /// The end of a node's tick: sync what it wrote, then send what it signed, and only then
    /// acknowledge.
    fn tick(&mut self, node: usize) {
        let n = &mut self.nodes[node];
        if !n.up {
            return;
        }
        n.tick_scheduled = false;
        n.sync();
        let outbox = std::mem::take(&mut n.outbox);
        let mut work = Work::new();
        for out in outbox {
            match out {
                Out::Vote(chain, approval) => {
                    let (vote, signature) = approval.sign(&self.nodes[node].key);
                    self.release_vote(node, chain, vote, signature, &mut work);
                }
                Out::Proposal(chain, approval, block) => {
                    let (proposal, signature) = approval.sign(&self.nodes[node].key);
                    let signed = SignedProposal {
                        proposer: self.nodes[node].host(),
                        proposal,
                        signature,
                        block,
                    };
                    let height = signed.proposal.height;
                    self.send(Sender::Node(node), chain, &Msg::Proposal(signed.clone()));
                    work.push_back((chain, height, Input::Proposal(signed)));
                }
                Out::Raw(chain, msg) => self.send(Sender::Node(node), chain, &msg),
            }
        }
        self.feed(node, &mut work);
    }

    fn release_vote(
        &mut self,
        node: usize,
        chain: usize,
        vote: Vote,
        signature: myriad_types::Signature,
        work: &mut Work,
    ) {
        let voter = self.nodes[node].host();
        let signed = SignedVote {
            vote,
            voter,
            signature,
        };
        let v = &signed.vote;
        if self.nodes[node].honest {
            self.checker
                .signed_vote(voter, chain, v.height, v.round, v.step, v.block_hash);
        }
        work.push_back((chain, v.height, Input::Vote(signed.clone())));
        if self.byzantine == Byzantine::Equivocator && !self.nodes[node].honest {
            self.equivocate(node, chain, signed);
        } else {
            self.send(Sender::Node(node), chain, &Msg::Vote(signed));
        }
    }

    /// The equivocator signs a second, different vote and splits the peers between the two.
    fn equivocate(&mut self, node: usize, chain: usize, signed: SignedVote) {
        let mut other = signed.vote.clone();
        other.block_hash = match other.block_hash {
            Some(_) => None,
            None => Some(Hash::digest(&self.rng.seed32())),
        };
        let second = SignedVote {
            signature: self.nodes[node].key.sign(&other),
            vote: other,
            voter: signed.voter,
        };
        let peers: Vec<usize> = (0..self.nodes.len())
            .filter(|n| *n != node && self.nodes[*n].chains.contains_key(&chain))
            .collect();
        for peer in peers {
            let msg = if self.rng.chance(0.5) {
                &signed
            } else {
                &second
            };
            self.send_to(Sender::Node(node), peer, chain, Msg::Vote(msg.clone()));
        }
    }

    // ---- the end ----

    /// Prints where every node stands on `chain`, for replaying a failure.
    fn report_chain(&self, chain: usize) {
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(slot) = node.chains.get(&chain) else {
                continue;
            };
            let instance = slot.instance.as_ref().map(|inst| {
                format!(
                    "round {} {:?} locked {:?} messages {:?}",
                    inst.round(),
                    inst.step(),
                    inst.locked(),
                    inst.message_counts()
                )
            });
            println!(
                "  chain {chain} node {i} (up {}, honest {}): height {}, mempool {}, signed {:?}, instance {instance:?}",
                node.up,
                node.honest,
                slot.state.meta().height,
                slot.mempool.len(),
                slot.guard.last(),
            );
        }
    }

    fn finish(mut self, seed: u64) -> Outcome {
        for (chain, clients) in self.clients.iter().enumerate() {
            if let (Some(_), true) = (clients.pending.first(), self.verbose) {
                self.report_chain(chain);
            }
            if let Some(tx) = clients.pending.first() {
                self.checker.liveness(format!(
                    "chain {chain}: {} transactions still pending {} ms after the faults stopped (first {})",
                    clients.pending.len(),
                    self.config.settle_ms,
                    tx.hash()
                ));
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if !node.honest {
                continue;
            }
            self.checker.durability(i, &node.acked, &node.synced.blocks);
            for (chain, slot) in &node.chains {
                self.checker.conservation(*chain, &slot.state);
            }
        }
        Outcome {
            seed,
            trace: Hash(*self.trace.finalize().as_bytes()),
            failures: self.checker.failures,
            stats: self.stats,
        }
    }
}

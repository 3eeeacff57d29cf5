//! The world: real hosts over a simulated network, their clients, and the event queue that
//! drives them in virtual time.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::{Arc, Mutex};

use myriad_host::{
    Command, CreateError, Host, HostEvent, HostIo, Metrics, Statuses, SubmitError, TxStatus,
};
use myriad_ledger::TxError;
use myriad_net::{Envelope, Inbound, Msg};
use myriad_store::{ChainStore, MemStore};
use myriad_testing::unsigned_genesis;
use myriad_types::{
    BoundedVec, ChainId, Genesis, Hash, HostId, SecretKey, SignedGenesis, SignedTransaction,
    SignedVote, Symbol, Validator,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::{broadcast, oneshot};

use crate::check::{Checker, Signed};
use crate::net::{Faults, SimTransport};
use crate::rng::Rng;
use crate::workload::Clients;
use crate::{Byzantine, Outcome, SimConfig, Stats};

/// The longest a host sleeps between ticks, as its runner does.
const IDLE_TICK_MS: u64 = 1000;
/// How many events a host's subscribers may fall behind by.
const EVENTS_MAX: usize = 1 << 16;

#[derive(Debug)]
enum Event {
    Deliver {
        to: usize,
        from: usize,
        envelope: Box<Envelope>,
    },
    Tick {
        node: usize,
        epoch: u64,
    },
    Crash(usize),
    Restart(usize),
    Partition,
    Heal,
    Submit,
    Resend,
    Burst,
    CreateChain,
    ChangeValidators,
    EndFaults,
}

impl Event {
    fn tag(&self) -> (u8, u64) {
        match self {
            Event::Deliver { to, from, .. } => (0, (*to as u64) << 32 | *from as u64),
            Event::Tick { node, .. } => (1, *node as u64),
            Event::Crash(node) => (2, *node as u64),
            Event::Restart(node) => (3, *node as u64),
            Event::Partition => (4, 0),
            Event::Heal => (5, 0),
            Event::Submit => (6, 0),
            Event::Resend => (7, 0),
            Event::Burst => (8, 0),
            Event::CreateChain => (9, 0),
            Event::ChangeValidators => (10, 0),
            Event::EndFaults => (11, 0),
        }
    }
}

/// What a client waits to hear back from a host.
#[derive(Debug)]
enum Reply {
    Tx(Hash, oneshot::Receiver<Result<TxStatus, SubmitError>>),
    Create(usize, oneshot::Receiver<Result<ChainId, CreateError>>),
}

/// A chain the clients created, and its clients.
#[derive(Debug)]
struct Chain {
    id: ChainId,
    genesis: SignedGenesis,
    /// Whether some host acknowledged the genesis; until then its owner posts it again.
    created: bool,
    clients: Clients,
}

/// One host process: a real [`Host`] over its own in-memory store, which outlives crashes.
#[derive(Debug)]
struct Node {
    key: SecretKey,
    honest: bool,
    store: Arc<MemStore>,
    transport: SimTransport,
    /// `None` while crashed.
    host: Option<Host<MemStore>>,
    events: Option<broadcast::Receiver<HostEvent>>,
    inbox: Vec<Inbound>,
    commands: Vec<Command>,
    replies: Vec<Reply>,
    /// When the next tick is due, if one is scheduled.
    tick_at: Option<u64>,
    /// Bumped at every crash, so that ticks scheduled before it are ignored.
    epoch: u64,
    /// The next write fails and the host dies with it.
    crash_on_write: bool,
    /// Every block this host told its subscribers was committed.
    acked: Vec<(ChainId, myriad_types::Height, Hash)>,
}

impl Node {
    fn id(&self) -> HostId {
        self.key.host_id()
    }
}

struct World {
    config: SimConfig,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: BTreeMap<u64, Event>,
    nodes: Vec<Node>,
    /// Every chain the clients created, in order.
    chains: Vec<Chain>,
    faults: Faults,
    faulty: bool,
    byzantine: Byzantine,
    byzantine_host: Option<HostId>,
    checker: Checker,
    stats: Stats,
    trace: blake3::Hasher,
    verbose: bool,
    symbol: Symbol,
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
        let mut nodes: Vec<(SecretKey, bool)> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| (key.clone(), Some(i) != bad))
            .collect();
        if let (Byzantine::Twins, Some(bad)) = (byzantine, bad) {
            nodes.push((keys[bad].clone(), false));
        }
        let faults = Faults::draw(&mut rng);
        let mut world = World {
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            nodes: Vec::new(),
            chains: Vec::new(),
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
        };
        for (key, honest) in nodes {
            let node = Node {
                key,
                honest,
                store: Arc::new(MemStore::new()),
                transport: SimTransport::default(),
                host: None,
                events: None,
                inbox: Vec::new(),
                commands: Vec::new(),
                replies: Vec::new(),
                tick_at: None,
                epoch: 0,
                crash_on_write: false,
                acked: Vec::new(),
            };
            world.nodes.push(node);
            world.start_host(world.nodes.len() - 1);
        }
        for _ in 0..world.config.chains {
            world.create_chain(true);
        }
        world.schedule_faults();
        world
    }

    /// Starts (or restarts) a node's host over its store.
    fn start_host(&mut self, node: usize) {
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

    fn schedule_faults(&mut self) {
        let end = self.config.faulty_ms;
        for _ in 0..self.rng.between(0, self.config.partitions_max) {
            let at = self.rng.below(end);
            self.push(at, Event::Partition);
        }
        let honest: Vec<usize> = (0..self.nodes.len())
            .filter(|n| self.nodes[*n].honest)
            .collect();
        for _ in 0..self.rng.between(0, self.config.crashes_max) {
            let node = self.rng.pick(&honest);
            let at = self.rng.below(end);
            self.push(at, Event::Crash(node));
        }
        for _ in 0..self.rng.between(0, self.config.bursts_max) {
            let at = self.rng.below(end);
            self.push(at, Event::Burst);
        }
        for _ in 0..self.rng.between(0, self.config.new_chains_max) {
            let at = self.rng.below(end);
            self.push(at, Event::CreateChain);
        }
        for _ in 0..self.rng.between(0, self.config.validator_changes_max) {
            let at = self.rng.below(end);
            self.push(at, Event::ChangeValidators);
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
            Event::Deliver { to, from, envelope } => self.deliver(to, from, *envelope),
            Event::Tick { node, epoch } => {
                let n = &self.nodes[node];
                if n.epoch == epoch && n.tick_at == Some(self.now) {
                    self.tick(node);
                }
            }
            Event::Crash(node) => self.crash(node),
            Event::Restart(node) => self.restart(node),
            Event::Partition => self.partition(),
            Event::Heal => self.faults.sides = None,
            Event::Submit => self.submit(),
            Event::Resend => self.resend(),
            Event::Burst => self.burst(),
            Event::CreateChain => {
                if self.faulty {
                    self.create_chain(false);
                }
            }
            Event::ChangeValidators => self.change_validators(),
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
                .find(|n| self.nodes[*n].id() == self.nodes[twin].id())
                .unwrap_or(0);
            sides[twin] = 1 - sides[original];
        }
        self.log(|| format!("partition {sides:?}"));
        self.faults.sides = Some(sides);
        self.stats.partitions += 1;
        let heal = self.now + self.rng.between(200, 3_000);
        self.push(heal, Event::Heal);
    }

    /// A crash now, between two ticks, or in the middle of the node's next write.
    fn crash(&mut self, node: usize) {
        let n = &self.nodes[node];
        if !self.faulty || n.host.is_none() || n.crash_on_write {
            return;
        }
        if self.rng.chance(0.5) {
            self.log(|| format!("node {node} will crash during its next write"));
            self.nodes[node].crash_on_write = true;
            self.nodes[node].store.fail_next_commit(true);
        } else {
            self.go_down(node);
        }
    }

    /// The node's process dies: everything it held in memory is lost, its store stays.
    fn go_down(&mut self, node: usize) {
        self.log(|| format!("node {node} crashes"));
        let n = &mut self.nodes[node];
        n.host = None;
        n.events = None;
        n.inbox.clear();
        n.commands.clear();
        n.tick_at = None;
        n.epoch += 1;
        n.crash_on_write = false;
        n.store.fail_next_commit(false);
        self.stats.crashes += 1;
        let restart = (self.now + self.rng.between(100, 3_000)).min(self.config.faulty_ms);
        self.push(restart, Event::Restart(node));
    }

    fn restart(&mut self, node: usize) {
        if self.nodes[node].host.is_some() {
            return;
        }
        self.log(|| format!("node {node} restarts"));
        let store = self.nodes[node].store.clone();
        self.checker.store_reopens(node, &store);
        for acked in self.nodes[node].acked.clone() {
            self.checker.durable_block(node, &store, acked);
        }
        self.start_host(node);
        self.wake(node, self.now);
    }

    fn end_faults(&mut self) {
        self.log(|| "faults stop".to_owned());
        self.faulty = false;
        self.faults = self.faults.healed();
        for node in 0..self.nodes.len() {
            let n = &mut self.nodes[node];
            n.crash_on_write = false;
            n.store.fail_next_commit(false);
            self.restart(node);
        }
    }

    // ---- clients ----

    /// A chain with 4 to 7 validators drawn from the hosts; a byzantine host among them
    /// holds less than a third of the power. Its genesis goes to every validator, or (for
    /// chains created during the run) to some of them, the rest learning it from their peers.
    fn create_chain(&mut self, to_all: bool) {
        let hosts: Vec<HostId> = self.distinct_hosts();
        let size = self.rng.between(4, hosts.len() as u64) as usize;
        let mut order = hosts.clone();
        self.rng.shuffle(&mut order);
        let validators: Vec<Validator> = order[..size]
            .iter()
            .map(|host| Validator {
                host: *host,
                power: self.power_for(*host),
            })
            .collect();
        let owner = SecretKey::from_seed(self.rng.seed32());
        let powers: Vec<(HostId, u64)> = validators.iter().map(|v| (v.host, v.power)).collect();
        let genesis = Genesis {
            symbol: self.symbol.clone(),
            created_at_ms: self.now,
            ..unsigned_genesis(owner.address(), &powers, self.chains.len() as u64)
        };
        let genesis = SignedGenesis::sign(genesis, &owner);
        let id = genesis.genesis.chain_id();
        self.checker.add_chain(&genesis);
        let clients = Clients::new(owner, &mut self.rng);
        let index = self.chains.len();
        self.chains.push(Chain {
            id,
            genesis,
            created: false,
            clients,
        });
        let mut named: Vec<HostId> = validators.iter().map(|v| v.host).collect();
        if !to_all {
            self.stats.chains_created += 1;
            let keep = self.rng.between(1, named.len() as u64) as usize;
            named.truncate(keep);
        }
        self.log(|| format!("chain {id} created, genesis to {} hosts", named.len()));
        for host in named {
            self.post_genesis(index, host);
        }
    }

    fn post_genesis(&mut self, index: usize, host: HostId) {
        for node in self.nodes_of(host) {
            let (reply, receiver) = oneshot::channel();
            let command = Command::CreateChain {
                genesis: self.chains[index].genesis.clone(),
                reply,
            };
            self.command(node, command, Reply::Create(index, receiver));
        }
    }

    /// A validator's power: 1 for the byzantine host (one of at least four, so under a
    /// third), 1 to 3 for the others.
    fn power_for(&mut self, host: HostId) -> u64 {
        if Some(host) == self.byzantine_host {
            1
        } else {
            self.rng.between(1, 3)
        }
    }

    fn distinct_hosts(&self) -> Vec<HostId> {
        let mut hosts: Vec<HostId> = self.nodes.iter().map(Node::id).collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    fn nodes_of(&self, host: HostId) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|n| self.nodes[*n].id() == host)
            .collect()
    }

    /// Hands a client's command to a node, if it is up, and wakes it.
    fn command(&mut self, node: usize, command: Command, reply: Reply) {
        let n = &mut self.nodes[node];
        if n.host.is_none() {
            return;
        }
        n.commands.push(command);
        n.replies.push(reply);
        self.wake(node, self.now + self.config.host.tick_ms);
    }

    /// Sends a transaction to one validator of its chain that is up, with `wait`.
    fn send_tx(&mut self, chain: ChainId, tx: SignedTransaction) {
        let up: Vec<usize> = self
            .checker
            .validators(&chain)
            .into_iter()
            .flat_map(|host| self.nodes_of(host))
            .filter(|n| self.nodes[*n].host.is_some())
            .collect();
        if up.is_empty() {
            return;
        }
        let node = self.rng.pick(&up);
        let (reply, receiver) = oneshot::channel();
        let hash = tx.hash();
        let command = Command::Submit {
            tx,
            wait: true,
            reply,
        };
        self.command(node, command, Reply::Tx(hash, receiver));
    }

    fn submit(&mut self) {
        if !self.faulty {
            return;
        }
        let index = self.rng.below(self.chains.len() as u64) as usize;
        let chain = self.chains[index].id;
        let tx = self.chains[index].clients.next(chain, &mut self.rng);
        if self.rng.chance(0.05) {
            // A forged copy, which every host must refuse: it exercises the bisection of a
            // failed signature batch.
            let mut forged = tx.clone();
            forged.signature.0[0] ^= 1;
            self.send_tx(chain, forged);
        }
        self.send_tx(chain, tx);
        let next = self.now + self.rng.between(20, 180);
        self.push(next, Event::Submit);
    }

    /// Many transactions for one chain at once: more than its mempools hold.
    fn burst(&mut self) {
        let index = self.rng.below(self.chains.len() as u64) as usize;
        let chain = self.chains[index].id;
        self.log(|| format!("burst on chain {chain}"));
        self.stats.bursts += 1;
        for _ in 0..self.config.burst_txs {
            let tx = self.chains[index].clients.next(chain, &mut self.rng);
            self.send_tx(chain, tx);
        }
    }

    fn resend(&mut self) {
        let mut any = false;
        for index in 0..self.chains.len() {
            let chain = self.chains[index].id;
            if !self.chains[index].created {
                any = true;
                let validators = self.checker.validators(&chain);
                let host = self.rng.pick(&validators);
                self.post_genesis(index, host);
            }
            for tx in self.chains[index].clients.pending.clone() {
                any = true;
                self.send_tx(chain, tx);
            }
        }
        if any || self.faulty {
            self.push(self.now + 500, Event::Resend);
        }
    }

    /// The owner of a chain adds a host to its validators (which must then sync the chain)
    /// or removes one, keeping at least four.
    fn change_validators(&mut self) {
        if !self.faulty {
            return;
        }
        let index = self.rng.below(self.chains.len() as u64) as usize;
        let chain = self.chains[index].id;
        let Some(set) = self.checker.validator_set(&chain) else {
            return;
        };
        if self.checker.changing_validators(&chain) {
            return;
        }
        let mut validators: Vec<Validator> = set.validators().to_vec();
        let outside: Vec<HostId> = self
            .distinct_hosts()
            .into_iter()
            .filter(|h| validators.iter().all(|v| v.host != *h))
            .collect();
        if !outside.is_empty() && (validators.len() <= 4 || self.rng.chance(0.5)) {
            let host = self.rng.pick(&outside);
            let power = self.power_for(host);
            validators.push(Validator { host, power });
        } else if validators.len() > 4 {
            let gone = self.rng.below(validators.len() as u64) as usize;
            validators.remove(gone);
        } else {
            return;
        }
        validators.sort_by_key(|v| v.host);
        self.log(|| format!("chain {chain}: validators become {validators:?}"));
        let tx = self.chains[index].clients.set_validators(chain, validators);
        self.send_tx(chain, tx);
    }

    // ---- hosts ----

    /// Makes sure the node ticks by `at`.
    fn wake(&mut self, node: usize, at: u64) {
        let n = &mut self.nodes[node];
        if n.host.is_none() || n.tick_at.is_some_and(|due| due <= at) {
            return;
        }
        n.tick_at = Some(at);
        let epoch = n.epoch;
        self.push(at, Event::Tick { node, epoch });
    }

    fn deliver(&mut self, to: usize, from: usize, envelope: Envelope) {
        let from = self.nodes[from].id();
        let n = &mut self.nodes[to];
        if n.host.is_none() {
            return;
        }
        n.inbox.push(Inbound { from, envelope });
        self.wake(to, self.now + self.config.host.tick_ms);
    }

    /// One tick of a node's host, then everything it said: its events, its replies to
    /// clients, and what it sent.
    fn tick(&mut self, node: usize) {
        let now = self.now;
        let tick_ms = self.config.host.tick_ms;
        let n = &mut self.nodes[node];
        n.tick_at = None;
        let Some(host) = n.host.as_mut() else {
            return;
        };
        let inbound = std::mem::take(&mut n.inbox);
        let commands = std::mem::take(&mut n.commands);
        let result = host.tick(now, inbound, commands, &n.transport);
        let next = match &result {
            Ok(report) if report.messages > 0 || report.blocks > 0 => Some(now + tick_ms),
            Ok(_) => {
                let wake = host.next_wake_ms().unwrap_or(now + IDLE_TICK_MS);
                Some(wake.clamp(now + tick_ms, now + IDLE_TICK_MS))
            }
            Err(_) => None,
        };
        self.collect(node);
        match (result, next) {
            (Ok(report), Some(at)) => {
                self.stats.max_tick_messages = self.stats.max_tick_messages.max(report.messages);
                self.wake(node, at);
            }
            (Err(error), _) if self.nodes[node].crash_on_write => {
                self.log(|| format!("node {node} dies in its write: {error}"));
                self.go_down(node);
            }
            (Err(error), _) => self
                .checker
                .unexpected(format!("node {node} failed its tick: {error}")),
            (Ok(_), None) => {}
        }
    }

    /// Takes what a node's host said in its last tick and checks it.
    fn collect(&mut self, node: usize) {
        self.collect_events(node);
        self.collect_replies(node);
        let sent = self.nodes[node].transport.take_sent();
        for (to, envelope) in sent {
            self.send(node, to, envelope);
        }
        for (peer, reason) in self.nodes[node].transport.take_penalties() {
            let byzantine = self.byzantine_host;
            self.checker.penalty(node, peer, &reason, byzantine);
        }
    }

    fn collect_events(&mut self, node: usize) {
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
    fn decided(&mut self, node: usize, chain: ChainId, height: myriad_types::Height) {
        let store = &self.nodes[node].store;
        let stored = store
            .block(&chain, height)
            .ok()
            .flatten()
            .zip(store.certificate(&chain, height).ok().flatten());
        let Some((block, certificate)) = stored else {
            return; // The durability checker has already said so.
        };
        self.stats.blocks_decided += 1;
        let advance = self.checker.decision(node, &block, &certificate);
        self.stats.txs_committed += advance.txs.len() as u64;
        self.stats.validator_changes += advance.validator_changes;
        if let Some(entry) = self.chains.iter_mut().find(|c| c.id == chain) {
            for tx in advance.txs {
                entry.clients.committed(tx);
            }
        }
        self.log(|| format!("node {node} decides chain {chain} height {height}"));
    }

    fn collect_replies(&mut self, node: usize) {
        let store = self.nodes[node].store.clone();
        let replies = std::mem::take(&mut self.nodes[node].replies);
        for reply in replies {
            match reply {
                Reply::Tx(hash, mut receiver) => match receiver.try_recv() {
                    Ok(Ok(TxStatus::Committed { chain, height })) => {
                        self.stats.txs_acknowledged += 1;
                        self.checker
                            .acknowledged_tx(node, &store, hash, (chain, height));
                    }
                    Ok(Err(SubmitError::Admit(myriad_host::AdmitError::Busy(_)))) => {
                        self.stats.mempool_refusals += 1;
                    }
                    Ok(Ok(TxStatus::Rejected { .. })) => self.stats.txs_rejected += 1,
                    Ok(Err(SubmitError::Invalid(TxError::BadSignature(_)))) => {
                        self.stats.forgeries_refused += 1;
                    }
                    Ok(_) => {}
                    Err(oneshot::error::TryRecvError::Empty) => {
                        self.nodes[node].replies.push(Reply::Tx(hash, receiver));
                    }
                    Err(oneshot::error::TryRecvError::Closed) => {}
                },
                Reply::Create(index, mut receiver) => match receiver.try_recv() {
                    Err(oneshot::error::TryRecvError::Empty) => {
                        self.nodes[node]
                            .replies
                            .push(Reply::Create(index, receiver));
                    }
                    Ok(Ok(_)) => self.chains[index].created = true,
                    Ok(Err(error)) => self
                        .checker
                        .unexpected(format!("node {node} refused a chain: {error}")),
                    Err(oneshot::error::TryRecvError::Closed) => {}
                },
            }
        }
    }

    /// Sends what a node sent one peer through the faulty network, to every node that holds
    /// that peer's key; notes what an honest node signed.
    fn send(&mut self, node: usize, to: HostId, envelope: Envelope) {
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
                self.push(self.now + delay, event);
            }
        }
    }

    /// The equivocator swaps about half its votes for a conflicting vote it also signs, and
    /// spoils the signature of a few.
    fn equivocate(&mut self, node: usize, envelope: &mut Envelope) {
        let key = self.nodes[node].key.clone();
        let mut items = envelope.items.clone().into_inner();
        for item in &mut items {
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
            let mut signature = key.sign(&other);
            if self.rng.chance(0.1) {
                signature.0[0] ^= 1;
            }
            item.msg = Msg::Vote(SignedVote {
                signature,
                vote: other,
                voter: signed.voter,
            });
        }
        if let Ok(items) = BoundedVec::new(items) {
            envelope.items = items;
        }
    }

    // ---- the end ----

    fn finish(mut self, seed: u64) -> Outcome {
        for Chain {
            id: chain, clients, ..
        } in &self.chains
        {
            if let Some(tx) = clients.pending.first() {
                self.checker.liveness(format!(
                    "chain {chain}: {} transactions still pending {} ms after the faults stopped (first {})",
                    clients.pending.len(),
                    self.config.settle_ms,
                    tx.hash()
                ));
            }
        }
        for node in 0..self.nodes.len() {
            if !self.nodes[node].honest {
                continue;
            }
            let store = self.nodes[node].store.clone();
            self.checker.store_reopens(node, &store);
        }
        Outcome {
            seed,
            trace: Hash(*self.trace.finalize().as_bytes()),
            failures: self.checker.failures,
            stats: self.stats,
        }
    }
}

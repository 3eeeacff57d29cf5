//! The world: real hosts over a simulated network, their clients, and the event queue that
//! drives them in virtual time.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use myriad_host::{Command, CreateError, Host, HostEvent, Peer, RootConfig, SubmitError, TxStatus};
use myriad_net::{Envelope, Inbound};
use myriad_store::MemStore;
use myriad_types::{ChainId, ChainParams, Hash, HostId, SecretKey, SignedGenesis, Symbol};
use tokio::sync::{broadcast, oneshot};

use crate::check::Checker;
use crate::net::{Faults, SimTransport};
use crate::rng::Rng;
use crate::workload::Clients;
use crate::{Byzantine, Outcome, SimConfig, Stats};
use clients::OVERLOAD_SLICE_MS;

/// How long before the end of a run a head must have been decided for the root to have
/// anchored it: a few anchor intervals, and the wait for a transaction in flight.
const ANCHOR_PATIENCE_MS: u64 = 30_000;

mod clients;
mod hosts;
mod swapping;

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
    /// A slice of an overload that started at `started`; `slices_left` follow it.
    Overload {
        started: u64,
        slices_left: u64,
    },
    /// Everything pending must have committed by now: the overload at this time is over.
    Recovered(u64),
    CreateChain,
    ChangeValidators,
    EndFaults,
    StartSwap,
    StepSwaps,
    ForgeAnchor,
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
            Event::Overload { slices_left, .. } => (12, *slices_left),
            Event::Recovered(at) => (13, *at),
            Event::StartSwap => (14, 0),
            Event::StepSwaps => (15, 0),
            Event::ForgeAnchor => (16, 0),
        }
    }
}

/// Where a host's answer to a submitted transaction arrives.
type TxReceiver = oneshot::Receiver<Result<TxStatus, SubmitError>>;

/// What a client waits to hear back from a host.
#[derive(Debug)]
enum Reply {
    Tx(Hash, TxReceiver),
    /// A stranger's unfunded transfer, which must be refused.
    Flood(Hash, TxReceiver),
    Create(usize, oneshot::Receiver<Result<ChainId, CreateError>>),
    /// A swap's transaction, which the ledger may reject (a race lost).
    Swap(Hash, TxReceiver),
    /// The root's answer to an anchor of a forged head.
    ForgedAnchor(Hash, TxReceiver),
}

/// A chain the clients created, and its clients.
#[derive(Debug)]
struct Chain {
    id: ChainId,
    genesis: SignedGenesis,
    /// Whether an honest host acknowledged the genesis; until then its owner posts it again.
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
    /// When the tick in progress ends: the host takes nothing else before.
    busy_until: u64,
    /// The host answered "busy" (503, retry after a second): its clients send it nothing
    /// before this time.
    quiet_until: u64,
    /// Bumped at every crash, so that ticks scheduled before it are ignored.
    epoch: u64,
    /// The next write fails and the host dies with it.
    crash_on_write: bool,
    /// Every block this host told its subscribers was committed.
    acked: Vec<(ChainId, myriad_types::Height, Hash)>,
    /// How far this host's clock is ahead of the simulation's (behind if negative), in ms.
    clock_offset_ms: i64,
}

impl Node {
    /// A host process not started yet, with an empty store.
    fn new(key: SecretKey, honest: bool) -> Node {
        Node {
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
            busy_until: 0,
            quiet_until: 0,
            epoch: 0,
            crash_on_write: false,
            acked: Vec::new(),
            clock_offset_ms: 0,
        }
    }

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
    swaps: Vec<crate::swaps::Swap>,
    faults: Faults,
    faulty: bool,
    /// Whether the clients' resend loop runs (it stops once nothing is pending after the
    /// faults, and an overload starts it again).
    resending: bool,
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
    #[cfg(test)]
    {
        myriad_ledger::canary::set_claim_after_expiry(config.canary_claim_after_expiry);
        myriad_ledger::canary::set_anchor_without_quorum(config.canary_anchor_without_quorum);
    }
    let mut world = World::new(seed, config.clone(), verbose);
    world.run();
    world.finish(seed)
}

impl World {
    fn new(seed: u64, config: SimConfig, verbose: bool) -> World {
        let mut rng = Rng::new(seed);
        let hosts = rng.between(4, 7) as usize;
        let drawn = match rng.below(4) {
            0 => Byzantine::None,
            1 => Byzantine::Twins,
            2 => Byzantine::Equivocator,
            _ => Byzantine::SkewedClock,
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
            swaps: Vec::new(),
            faults,
            faulty: true,
            resending: true,
            byzantine,
            byzantine_host: bad.map(|bad| keys[bad].host_id()),
            checker: Checker::default(),
            stats: Stats {
                hosts,
                byzantine: match byzantine {
                    Byzantine::None => None,
                    Byzantine::Twins => Some("twins"),
                    Byzantine::Equivocator => Some("equivocator"),
                    Byzantine::SkewedClock => Some("skewed clock"),
                },
                ..Stats::default()
            },
            trace: blake3::Hasher::new(),
            verbose,
            config,
            #[allow(clippy::expect_used)]
            symbol: Symbol::new("SIM").expect("SIM is a valid symbol"),
        };
        let offset = world.clock_offset();
        // The root chain comes first: every host follows it, registers and anchors there.
        let root = world.root_genesis(&keys);
        world.checker.root = Some(root.0.genesis.chain_id());
        world.config.host.root = Some(RootConfig {
            chain: root.0.genesis.chain_id(),
            announce_p2p: "127.0.0.1:7000".to_owned(),
            announce_api: "http://127.0.0.1:8000".to_owned(),
        });
        // Every host is told of the root's validators, as `myriad host run` is of a root
        // peer: those that do not validate the root ask them for its genesis and blocks.
        world.config.host.peers = root
            .0
            .genesis
            .validators
            .iter()
            .map(|v| Peer {
                host: v.host,
                address: std::net::SocketAddr::from(([127, 0, 0, 1], 7000)),
            })
            .collect();
        for (key, honest) in nodes {
            let mut node = Node::new(key, honest);
            if !honest && byzantine == Byzantine::SkewedClock {
                node.clock_offset_ms = offset;
            }
            world.nodes.push(node);
            world.start_host(world.nodes.len() - 1);
        }
        world.add_chain(root, true);
        world.fund_hosts();
        for _ in 0..world.config.chains {
            world.create_chain(true);
        }
        world.schedule_faults();
        world
    }

    /// A skewed clock's offset, from the clock bounds of the chains' parameters: ahead by
    /// the precision (the latest a block's time may be) or twice it, or behind by the
    /// precision and the message delay (the earliest) or that and the precision again.
    fn clock_offset(&mut self) -> i64 {
        let ChainParams {
            precision_ms,
            msg_delay_ms,
            ..
        } = ChainParams::default();
        let (precision, delay) = (precision_ms as i64, msg_delay_ms as i64);
        match self.rng.below(4) {
            0 => precision,
            1 => 2 * precision,
            2 => -(precision + delay),
            _ => -(2 * precision + delay),
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
        for _ in 0..self.rng.between(0, self.config.swaps_max) {
            let at = self.rng.below(end);
            self.push(at, Event::StartSwap);
        }
        for _ in 0..self.rng.between(0, self.config.forged_anchors_max) {
            let at = self.rng.below(end);
            self.push(at, Event::ForgeAnchor);
        }
        self.push(0, Event::StepSwaps);
        // Overloads come after the faults, one recovery apart, so that each is checked alone.
        let mut at = end;
        for _ in 0..self.rng.between(0, self.config.overloads_max) {
            at += self.rng.between(500, 5_000);
            let slices_left = self.config.overload_ms / OVERLOAD_SLICE_MS;
            let started = at;
            self.push(
                at,
                Event::Overload {
                    started,
                    slices_left,
                },
            );
            at += self.config.overload_ms + self.config.recovery_ms;
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
            Event::Overload {
                started,
                slices_left,
            } => self.overload(started, slices_left),
            Event::Recovered(at) => self.recovered(at),
            Event::CreateChain => {
                if self.faulty {
                    self.create_chain(false);
                }
            }
            Event::ChangeValidators => self.change_validators(),
            Event::EndFaults => self.end_faults(),
            Event::StartSwap => self.start_swap(),
            Event::ForgeAnchor => self.forge_anchor(),
            Event::StepSwaps => self.step_swaps(),
        }
    }

    fn log(&self, line: impl FnOnce() -> String) {
        if self.verbose {
            println!("{:>8} ms  {}", self.now, line());
        }
    }

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

    fn finish(mut self, seed: u64) -> Outcome {
        self.check_swaps();
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
        // Every head decided well before the end is anchored: a host looks at its chains
        // each anchor interval, and another steps in after a few.
        let before =
            (self.config.faulty_ms + self.config.settle_ms).saturating_sub(ANCHOR_PATIENCE_MS);
        for chain in self.chains.iter().filter(|c| c.created) {
            if let Some((head, anchored)) = self.checker.unanchored(&chain.id, before) {
                let validators = self.checker.validators(&chain.id);
                self.checker.liveness(format!(
                    "chain {}: head {head} decided more than {ANCHOR_PATIENCE_MS} ms before the end, but the root anchored {anchored:?} (validators {validators:?})",
                    chain.id
                ));
            }
        }
        self.checker.early_anchors_decided();
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

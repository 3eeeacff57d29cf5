//! `myriad bench load`: open-loop transaction load on many chains of a devnet, spread by a
//! Zipf law (a few hot chains, many cold ones); committed throughput and finality latency of
//! each transaction, with what the hosts spent on it.
//!
//! Senders. Admission holds at most `SENDER_TXS_MAX` (16) pending transactions of one sender
//! per chain, so one account cannot carry a hot chain: under Zipf 1 over 100,000 chains the
//! hottest takes about 8% of the load, 400 tx/s at 5,000. Before the steps, each chain is given
//! senders for its expected share of the highest rate of the run (of each step's rate, as
//! `--rate auto` raises it): its transactions per `FINALITY_PLANNED` (1 s) over
//! `SENDER_TXS_PLANNED` (8, half of what admission holds pending for one sender),
//! at least one. A chain's owner is its first sender and needs no funds (its load
//! transactions are mints); it funds the others by minting to them, in rounds of at most 16
//! mints a chain, each round in batches to the chains' hosts waiting for the commits. Only
//! hot chains need more than the owner, so funding stays cheap (at 5,000 tx/s over 100,000
//! chains, about 50 chains and 400 mints). The load is then transfers from the senders of
//! each chain in turn, each sender with its own nonces, to one recipient. The schedule gives
//! a sender at most 16 transactions due within the planned finality; a transaction for which
//! no sender of its chain has room is not sent, and is counted as the bench's own limit
//! (`senders_full`). A sender with a transaction that failed may hold a nonce gap, and is
//! retired for the rest of the run; a chain left without a sender is retired.
//!
//! Open loop: transaction `i` of a step is due at `start + i / rate` whatever happened to the
//! ones before, and its latency counts from that moment, so a lagging system shows as latency
//! rather than as a lower offered rate. The transactions due in one [`BATCH_SLOT`] for the
//! same host go in one request, sent without waiting for commits when the last of them is
//! due; admission answers each one at once (admitted, or refused: busy 503, 4xx). Its commit
//! is learned from the `tx` events of the host's `/events` stream (one subscription per host,
//! open for the whole run), so each transaction's latency runs from its own due time to its
//! own commit, whatever the rest of its batch does. One not committed within
//! `COMMIT_TIMEOUT` of being due has timed out.

mod report;
mod senders;
#[cfg(test)]
mod tests;
mod tracking;

use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use myriad_api_types::{ErrorBody, SubmitBatchAnswer, SUBMIT_BATCH_TXS_MAX};
use myriad_client::client::{BulkClient, Client};
use myriad_devnet::{create_chains, numbered_chain, start_hosts, Devnet, Hosts};
use myriad_host::{HostConfig, Overrides};
use myriad_node::Node;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Serialize;

use crate::{plot, samples, table, verify_rate, BenchDir, Mark, MetricsSample, Series};
use senders::{Chains, FundedSenders, Planned, Prepared};
use tracking::{tx_end, Failures, Outcome, Refusal, Settled, Tracker};
use tracking::{COMMIT_TIMEOUT, STEP_TXS_MAX};

pub use report::report;
use report::step_summary;

/// A step passes while its p99 finality stays within this and nearly all of it commits.
const P99_TARGET_MS: f64 = 500.0;
/// The committed rate a devnet of 4 hosts × 100,000 chains should carry on a 2-core machine.
const THROUGHPUT_TARGET: f64 = 5_000.0;
const COMMITTED_SHARE_MIN: f64 = 0.99;
/// The first offered rate of `--rate auto`, and the most steps it takes.
const AUTO_START_RATE: f64 = 500.0;
const AUTO_STEPS_MAX: usize = 10;
/// How long admission may take to answer a batch (sent without `?wait`).
const ADMISSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the end of a step looks whether everything sent is settled.
const SETTLE_POLL: Duration = Duration::from_millis(20);
/// How long the machine's verification rate is measured.
const VERIFY_SAMPLE: Duration = Duration::from_secs(2);
/// The transactions due within one slot for the same host are sent in one request.
const BATCH_SLOT: Duration = Duration::from_millis(10);
/// What the table and plots say of a step that committed nothing (it has no latency).
const NO_COMMITS: &str = "no commits";

/// What rates a load run offers.
#[derive(Debug, Clone, PartialEq)]
pub enum Rate {
    /// These rates, in this order (one step each): `1000,3000,1000` shows an overload and
    /// what follows it.
    Steps(Vec<f64>),
    /// Search for the saturation point.
    Auto,
}

impl FromStr for Rate {
    type Err = String;

    /// `auto`, or transactions per second: one rate, or several separated by commas.
    fn from_str(text: &str) -> Result<Rate, String> {
        if text == "auto" {
            return Ok(Rate::Auto);
        }
        text.split(',')
            .map(|rate| rate.trim().parse::<f64>().ok().filter(|r| *r > 0.0))
            .collect::<Option<Vec<f64>>>()
            .map(Rate::Steps)
            .ok_or_else(|| {
                format!("--rate {text}: give transactions per second (> 0), several in the order to run them (1000,3000,1000), or `auto`")
            })
    }
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub hosts: usize,
    pub chains: u64,
    pub rate: Rate,
    pub duration: Duration,
    /// The Zipf exponent: the k-th hottest chain gets a share proportional to 1 / k^zipf.
    pub zipf: f64,
    pub seed: u64,
    /// Run the hosts inside the bench's process (for profiling) instead of as processes.
    pub in_process: bool,
}

/// The devnet's hosts, running as processes or inside this one.
enum Running {
    Processes(Hosts),
    InProcess {
        runtime: tokio::runtime::Runtime,
        nodes: Vec<Node>,
    },
}

impl Running {
    fn start(devnet: &Devnet, in_process: bool) -> Result<Running> {
        if !in_process {
            return Ok(Running::Processes(start_hosts(devnet)?));
        }
        let runtime = tokio::runtime::Runtime::new()?;
        let mut nodes = Vec::new();
        for host in devnet.hosts() {
            let file = devnet.host_dir(&host.name).join("host.toml");
            let config = HostConfig::load(Some(&file), Overrides::default())?;
            nodes.push(runtime.block_on(Node::start(config))?);
        }
        Ok(Running::InProcess { runtime, nodes })
    }

    /// The process of host `index`: with hosts in process, this one for all of them.
    fn pid(&self, index: usize) -> u32 {
        match self {
            Running::Processes(hosts) => hosts.pid(index),
            Running::InProcess { .. } => std::process::id(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::InProcess { runtime, nodes } = self {
            for node in nodes.drain(..) {
                if let Err(error) = runtime.block_on(node.stop()) {
                    eprintln!("stopping a host: {error}");
                }
            }
        }
    }
}

/// What one host spent during a step.
#[derive(Debug, Clone, Serialize)]
pub struct HostUse {
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

/// Percentiles of the committed transactions' latencies, each from its due time to its
/// commit, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// The percentiles of `latencies`; none if there are none.
    fn of(mut latencies: Vec<f64>) -> Option<Latency> {
        latencies.sort_by(f64::total_cmp);
        let at = |p: f64| {
            let index = ((p / 100.0) * (latencies.len() - 1) as f64).round() as usize;
            latencies[index.min(latencies.len() - 1)]
        };
        let max = *latencies.last()?;
        Some(Latency {
            p50: at(50.0),
            p90: at(90.0),
            p99: at(99.0),
            max,
        })
    }
}

/// One offered rate, held for the step's duration.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub offered_per_second: f64,
    pub offered: u64,
    pub committed: u64,
    /// Offered and not committed: the sum of `failures`.
    pub failed: u64,
    pub failures: Failures,
    /// Admission's refusals by HTTP status, each with an example message.
    pub refusals: Vec<Refusal>,
    /// Committed transactions over the step's time: its schedule, or until the last commit
    /// if that came later.
    pub committed_per_second: f64,
    /// None when nothing committed.
    pub latency_ms: Option<Latency>,
    /// Signatures verified per second, all hosts together.
    pub verifications_per_second: f64,
    /// Signatures verified per committed transaction per host (votes included); none when
    /// nothing committed.
    pub verifications_per_committed_tx_per_host: Option<f64>,
    /// Mean messages handled and signatures batch-verified per tick, over all hosts.
    pub tick_messages_mean: f64,
    pub tick_signatures_mean: f64,
    pub hosts: Vec<HostUse>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    pub hosts: usize,
    pub chains: u64,
    pub zipf: f64,
    pub duration_seconds: f64,
    pub cores: usize,
    /// Batch verifications per second on one core of this machine.
    pub verifications_per_core_second: f64,
    /// The senders funded for the load, and how long funding them took.
    pub senders: FundedSenders,
    pub funding_seconds: f64,
    pub steps: Vec<Step>,
    /// The highest committed rate of a passing step.
    pub best_committed_per_second: f64,
    /// best ÷ (cores × verifications per core-second ÷ hosts): how near the hosts come to
    /// checking every signature of every transaction on every host as fast as the machine can.
    pub limit_ratio: f64,
    /// Whether the hosts ran inside the bench's process (their CPU is then the process's,
    /// the sending client included).
    pub in_process: bool,
}

/// The client side of the load: its runtime, the hosts' submission endpoints, and what
/// their event streams told of the transactions in flight.
struct LoadClient {
    runtime: tokio::runtime::Runtime,
    client: Arc<BulkClient>,
    submit: Arc<Vec<hyper::Uri>>,
    tracker: Arc<Mutex<Tracker>>,
}

fn lock(tracker: &Mutex<Tracker>) -> std::sync::MutexGuard<'_, Tracker> {
    tracker.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LoadClient {
    /// Subscribes to every host's events (answers once each subscription is open), and keeps
    /// reading them into the tracker until the run ends.
    fn start(devnet: &Devnet) -> Result<LoadClient> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let uris = |path: &str| -> Result<Vec<hyper::Uri>> {
            devnet
                .hosts()
                .iter()
                .map(|h| Ok(format!("http://{}{path}", h.api).parse()?))
                .collect()
        };
        let client = Arc::new(BulkClient::default());
        let tracker = Arc::new(Mutex::new(Tracker::default()));
        for (host, uri) in uris("/events")?.into_iter().enumerate() {
            let stream = runtime
                .block_on(client.subscribe(&uri))
                .map_err(|e| anyhow!("subscribing to host {host}'s events: {e}"))?;
            let tracker = tracker.clone();
            runtime.spawn(async move {
                let read = stream
                    .for_each(|name, data| {
                        if let Some(end) = tx_end(name, data) {
                            lock(&tracker).ended(host, end, Instant::now());
                        }
                    })
                    .await;
                let why = read
                    .err()
                    .unwrap_or_else(|| "the host closed it".to_owned());
                lock(&tracker).stream_ended = Some(format!("{uri}: {why}"));
            });
        }
        Ok(LoadClient {
            runtime,
            client,
            submit: Arc::new(uris("/transactions")?),
            tracker,
        })
    }

    /// Sends `txs` (of a step of `count`) at `rate` per second, open loop, in one batch per
    /// host and [`BATCH_SLOT`], then waits until each is settled or has timed out. Answers
    /// what became of them, and how long the step took: its schedule, or until its last
    /// commit.
    fn send(&self, txs: Vec<Prepared>, count: usize, rate: f64) -> Result<(Settled, Duration)> {
        lock(&self.tracker).start(count);
        let start = Instant::now();
        let due = |i: usize| start + Duration::from_secs_f64(i as f64 / rate);
        let tasks = self.runtime.block_on(async {
            let slot_of = |i: usize| (i as f64 / rate / BATCH_SLOT.as_secs_f64()) as u64;
            let mut txs = txs.into_iter().peekable();
            let mut tasks = Vec::new();
            while let Some(first) = txs.next() {
                let slot = slot_of(first.planned.index);
                let mut slot_txs = vec![first];
                while let Some(next) = txs.next_if(|tx| slot_of(tx.planned.index) == slot) {
                    slot_txs.push(next);
                }
                let last = slot_txs.last().map_or(0, |tx| tx.planned.index);
                tokio::time::sleep_until(due(last).into()).await;
                let mut per_host: Vec<Vec<Prepared>> =
                    (0..self.submit.len()).map(|_| Vec::new()).collect();
                for tx in slot_txs {
                    per_host[tx.host].push(tx);
                }
                for batch in per_host.into_iter().filter(|b| !b.is_empty()) {
                    for part in batch.chunks(SUBMIT_BATCH_TXS_MAX) {
                        tasks.push(tokio::spawn(self.submit(part, &due)));
                    }
                }
            }
            for task in tasks {
                task.await
                    .map_err(|e| anyhow!("a sending task failed: {e}"))?;
            }
            anyhow::Ok(())
        });
        tasks?;
        let settle_by = due(count.saturating_sub(1)) + COMMIT_TIMEOUT;
        while lock(&self.tracker).in_flight() > 0 && Instant::now() < settle_by {
            std::thread::sleep(SETTLE_POLL);
        }
        let mut tracker = lock(&self.tracker);
        if let Some(why) = &tracker.stream_ended {
            bail!("a host's event stream ended, so commits would go unseen: {why}");
        }
        let settled = tracker.finish();
        let scheduled = Duration::from_secs_f64(count as f64 / rate);
        let until_last = settled
            .last_commit
            .map_or(Duration::ZERO, |at| at.duration_since(start));
        Ok((settled, scheduled.max(until_last)))
    }

    /// Tracks `part` (of one host) as in flight, then submits it in one request and counts
    /// admission's answer to each.
    fn submit(
        &self,
        part: &[Prepared],
        due: impl Fn(usize) -> Instant,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let host = part[0].host;
        let hashes: Vec<_> = part.iter().map(|tx| tx.hash).collect();
        {
            let mut tracker = lock(&self.tracker);
            for tx in part {
                tracker.sent(tx.hash, tx.planned.index, due(tx.planned.index), host);
            }
        }
        let body = serde_json::json!({ "txs": part.iter().map(|tx| &tx.hex).collect::<Vec<_>>() });
        let (client, uris, tracker) = (
            self.client.clone(),
            self.submit.clone(),
            self.tracker.clone(),
        );
        async move {
            let answer = tokio::time::timeout(
                ADMISSION_TIMEOUT,
                client.post(&uris[host], body.to_string().into()),
            )
            .await
            .ok()
            .and_then(Result::ok);
            let whole = |status: u16, bytes: &[u8]| {
                let error = serde_json::from_slice::<ErrorBody>(bytes)
                    .map_or_else(|_| String::from_utf8_lossy(bytes).into_owned(), |e| e.error);
                vec![Some((status, error)); hashes.len()]
            };
            let answers: Vec<Option<(u16, String)>> = match answer {
                Some((200, bytes)) => match serde_json::from_slice::<SubmitBatchAnswer>(&bytes) {
                    Ok(answer) if answer.results.len() == hashes.len() => answer
                        .results
                        .into_iter()
                        .map(|r| Some((r.code, r.error.unwrap_or_default())))
                        .collect(),
                    _ => vec![None; hashes.len()],
                },
                Some((status, bytes)) => whole(status, &bytes),
                None => vec![None; hashes.len()],
            };
            let mut tracker = lock(&tracker);
            for (hash, answer) in hashes.iter().zip(&answers) {
                tracker.answered(hash, answer.as_ref().map(|(s, e)| (*s, e.as_str())));
            }
        }
    }
}

/// Runs one step at `rate` and measures it.
fn step(
    devnet: &Devnet,
    hosts: &Running,
    chains: &mut Chains,
    client: &LoadClient,
    rate: f64,
    options: &LoadOptions,
    rng: &mut impl RngCore,
) -> Result<Step> {
    let count = step_txs(rate, options.duration);
    let (planned, senders_full) = chains.plan(count, rate, rng);
    let txs = chains.sign(&planned);
    let apis = devnet.api_urls();
    let scrape = || -> Result<Vec<MetricsSample>> {
        apis.iter().map(|a| MetricsSample::scrape(a)).collect()
    };
    let metrics_before = scrape()?;
    let use_before = samples(|i| hosts.pid(i), apis.len())?;
    let (settled, elapsed) = client.send(txs, count, rate)?;
    let use_after = samples(|i| hosts.pid(i), apis.len())?;
    let metrics_after = scrape()?;

    let Tally {
        latencies,
        mut failures,
        retired,
    } = tally(&planned, &settled.outcomes)?;
    failures.senders_full = senders_full;
    chains.retire(&retired)?;
    let committed = latencies.len() as u64;
    let latency = Latency::of(latencies);
    let seconds = elapsed.as_secs_f64();
    let pairs = || metrics_before.iter().zip(&metrics_after);
    let verified: f64 = pairs()
        .map(|(b, a)| b.delta(a, "myriad_signatures_verified_total"))
        .sum();
    let mean = |name: &str| -> f64 {
        pairs().map(|(b, a)| b.mean(a, name)).sum::<f64>() / apis.len().max(1) as f64
    };
    let passed = latency.as_ref().is_some_and(|l| l.p99 <= P99_TARGET_MS)
        && committed as f64 >= COMMITTED_SHARE_MIN * count as f64;
    Ok(Step {
        offered_per_second: rate,
        offered: count as u64,
        committed,
        failed: failures.total(),
        failures,
        refusals: settled.refusals,
        committed_per_second: committed as f64 / seconds,
        latency_ms: latency,
        verifications_per_second: verified / seconds,
        verifications_per_committed_tx_per_host: (committed > 0)
            .then(|| verified / committed as f64 / apis.len() as f64),
        tick_messages_mean: mean("myriad_tick_messages"),
        tick_signatures_mean: mean("myriad_tick_signatures"),
        hosts: use_before
            .iter()
            .zip(&use_after)
            .map(|(b, a)| HostUse {
                cpu_percent: b.cpu_percent(a),
                rss_bytes: a.rss_bytes,
            })
            .collect(),
        passed,
    })
}

/// A step's outcomes counted.
#[derive(Debug)]
struct Tally {
    /// Of the committed transactions, in milliseconds.
    latencies: Vec<f64>,
    /// Of those sent.
    failures: Failures,
    /// The senders, `(chain, key)`, with a failed transaction.
    retired: Vec<(usize, usize)>,
}

/// Counts the `outcomes` of the `planned` transactions (in the order they were due). A
/// failure of a sender that failed earlier in the step counts as behind a gap.
fn tally(planned: &[Planned], outcomes: &[Outcome]) -> Result<Tally> {
    let mut tally = Tally {
        latencies: Vec::new(),
        failures: Failures::default(),
        retired: Vec::new(),
    };
    let mut failed = std::collections::BTreeSet::new();
    for planned in planned {
        match outcomes[planned.index] {
            Outcome::Committed(latency) => tally.latencies.push(latency.as_secs_f64() * 1000.0),
            Outcome::Failed(failure) => {
                if failed.insert((planned.chain, planned.key)) {
                    tally.failures.count(failure);
                    tally.retired.push((planned.chain, planned.key));
                } else {
                    tally.failures.behind_gap += 1;
                }
            }
            Outcome::InFlight => bail!("transaction {} of the step was not settled", planned.index),
        }
    }
    Ok(tally)
}

/// The transactions a step at `rate` offers over `duration`.
fn step_txs(rate: f64, duration: Duration) -> usize {
    (rate * duration.as_secs_f64()).round().max(1.0) as usize
}

/// The rates `--rate auto` tries: doubling from `AUTO_START_RATE` until a step fails, then
/// halving the gap between the best passing rate and the lowest failing one.
fn next_rate(steps: &[Step]) -> Option<f64> {
    if steps.len() >= AUTO_STEPS_MAX {
        return None;
    }
    let Some(last) = steps.last() else {
        return Some(AUTO_START_RATE);
    };
    let best_pass = steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.offered_per_second)
        .fold(0.0, f64::max);
    let lowest_fail = steps
        .iter()
        .filter(|s| !s.passed)
        .map(|s| s.offered_per_second)
        .fold(f64::INFINITY, f64::min);
    if lowest_fail.is_infinite() {
        return Some(last.offered_per_second * 2.0);
    }
    let next = (best_pass + lowest_fail) / 2.0;
    // Stop once the bracket is within 10%.
    (lowest_fail - best_pass > 0.1 * lowest_fail).then_some(next)
}

/// The next rate to offer, if any: the listed ones in order, or the search of `--rate auto`
/// while a step stays within [`STEP_TXS_MAX`].
fn planned_rate(options: &LoadOptions, steps: &[Step]) -> Option<f64> {
    match &options.rate {
        Rate::Steps(rates) => rates.get(steps.len()).copied(),
        Rate::Auto => next_rate(steps).filter(|rate| {
            let within = step_txs(*rate, options.duration) <= STEP_TXS_MAX;
            if !within {
                eprintln!("stopping the search: {rate:.0} tx/s would offer more than {STEP_TXS_MAX} transactions in a step");
            }
            within
        }),
    }
}

/// The chains of the devnet, numbered as created, each sent to its first validator.
fn load_chains(devnet: &Devnet, options: &LoadOptions) -> Result<Chains> {
    let owner = devnet.owner_key()?;
    let validators = devnet.validators()?;
    let mut ids = Vec::new();
    let mut host = Vec::new();
    for salt in 1..=options.chains {
        let (genesis, members) = numbered_chain(devnet, owner.address(), &validators, salt)?;
        ids.push(genesis.chain_id());
        host.push(members[0]);
    }
    Ok(Chains::new(ids, host, options.zipf, owner))
}

pub fn run(dir: &BenchDir, options: &LoadOptions) -> Result<LoadResult> {
    if options.chains == 0 {
        bail!("--chains must be at least 1");
    }
    if let Rate::Steps(rates) = &options.rate {
        if let Some(rate) = rates
            .iter()
            .find(|r| step_txs(**r, options.duration) > STEP_TXS_MAX)
        {
            bail!(
                "--rate {rate:.0} for --duration {:?} offers more than {STEP_TXS_MAX} transactions in a step: lower one of them",
                options.duration
            );
        }
    }
    let verifications_per_core_second = verify_rate(VERIFY_SAMPLE);
    let (_lock, mut devnet) = dir.devnet(options.hosts)?;
    let hosts = Running::start(&devnet, options.in_process)?;
    create_chains(&mut devnet, options.chains)?;
    let mut chains = load_chains(&devnet, options)?;
    let clients: Vec<Client> = devnet.api_urls().iter().map(|a| Client::new(a)).collect();
    let client = LoadClient::start(&devnet)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
    let mut funding = Duration::ZERO;
    let mut steps = Vec::new();
    while let Some(rate) = planned_rate(options, &steps) {
        // The listed rates are funded for at once, the search's as it raises the rate.
        let peak = match &options.rate {
            Rate::Steps(rates) => rates.iter().copied().fold(rate, f64::max),
            Rate::Auto => rate,
        };
        let started = Instant::now();
        let funded = chains
            .fund(&clients, peak)
            .with_context(|| format!("funding senders for {peak:.0} tx/s"))?;
        funding += started.elapsed();
        if funded > 0 {
            eprintln!(
                "funded {funded} senders for {peak:.0} tx/s in {:.1?}",
                started.elapsed()
            );
        }
        eprintln!("offering {rate:.0} tx/s for {:?}…", options.duration);
        let step = step(
            &devnet,
            &hosts,
            &mut chains,
            &client,
            rate,
            options,
            &mut rng,
        )
        .with_context(|| format!("load step at {rate:.0} tx/s"))?;
        eprintln!("  {}", step_summary(&step));
        steps.push(step);
    }
    let best = steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.committed_per_second)
        .fold(0.0, f64::max);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = cores as f64 * verifications_per_core_second / options.hosts as f64;
    Ok(LoadResult {
        hosts: options.hosts,
        chains: options.chains,
        zipf: options.zipf,
        duration_seconds: options.duration.as_secs_f64(),
        cores,
        verifications_per_core_second,
        senders: chains.funded(),
        funding_seconds: funding.as_secs_f64(),
        steps,
        best_committed_per_second: best,
        limit_ratio: best / limit,
        in_process: options.in_process,
    })
}

//! `myriad bench load`: open-loop transaction load on many chains of a devnet, spread by a
//! Zipf law (a few hot chains, many cold ones); committed throughput and finality latency
//! (submit → committed acknowledgement), with what the hosts spent on it.
//!
//! Open loop: transaction `i` of a step is due at `start + i / rate` whatever happened to the
//! ones before, and its latency counts from that moment, so a lagging system shows as latency
//! rather than as a lower offered rate. The transactions due in one [`BATCH_SLOT`] for the
//! same host go in one request, sent when the last of them is due; each one's latency still
//! counts from its own due time to the batch's answer.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use myriad_api_types::{SubmitBatchAnswer, SUBMIT_BATCH_TXS_MAX};
use myriad_client::client::BulkClient;
use myriad_devnet::{create_chains, numbered_chain, start_hosts, Devnet, Hosts};
use myriad_host::{HostConfig, Overrides};
use myriad_node::Node;
use myriad_types::{encode, Address, ChainId, SecretKey, SignedTransaction, Transaction, TxKind};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Serialize;

use crate::{plot, samples, table, verify_rate, BenchDir, MetricsSample, Series};

/// A step passes while its p99 finality stays within this and nearly all of it commits.
const P99_TARGET_MS: f64 = 500.0;
const COMMITTED_SHARE_MIN: f64 = 0.99;
/// The first offered rate of `--rate auto`, and the most steps it takes.
const AUTO_START_RATE: f64 = 500.0;
const AUTO_STEPS_MAX: usize = 10;
/// How long a submission may wait for its commit (the API's own limit is 30 s).
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(35);
/// How long the machine's verification rate is measured.
const VERIFY_SAMPLE: Duration = Duration::from_secs(2);
/// The transactions due within one slot for the same host are sent in one request.
const BATCH_SLOT: Duration = Duration::from_millis(10);

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

/// One offered rate, held for the step's duration.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub offered_per_second: f64,
    pub offered: u64,
    pub committed: u64,
    /// Refused or timed out (busy, not committed in time, connection errors).
    pub failed: u64,
    pub committed_per_second: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p90: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    /// Signatures verified per second, all hosts together.
    pub verifications_per_second: f64,
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

/// The chains under load: where to send each, and the next nonce of its owner.
struct Chains {
    ids: Vec<ChainId>,
    /// Index of the host whose API takes the chain's transactions.
    host: Vec<usize>,
    next_nonce: Vec<u64>,
    /// Chains still used; one whose transaction failed may hold a nonce gap and is retired.
    live: Vec<usize>,
}

/// Picks chains by a Zipf law over the live chains (rank 1 = live[0]).
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(count: usize, exponent: f64) -> Zipf {
        let mut total = 0.0;
        let cdf = (1..=count)
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(exponent);
                total
            })
            .collect::<Vec<_>>();
        Zipf {
            cdf: cdf.into_iter().map(|c| c / total).collect(),
        }
    }

    /// The rank (0-based) for a uniform draw in [0, 1).
    fn rank(&self, uniform: f64) -> usize {
        self.cdf
            .partition_point(|c| *c <= uniform)
            .min(self.cdf.len().saturating_sub(1))
    }
}

fn uniform(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// One transaction ready to send: its chain, target host and hex encoding.
struct Prepared {
    chain: usize,
    host: usize,
    hex: String,
}

/// Signs the step's transactions ahead of time, so that signing does not compete with the
/// hosts for the CPU while the step runs.
fn prepare(
    chains: &mut Chains,
    owner: &SecretKey,
    count: u64,
    zipf: &Zipf,
    rng: &mut impl RngCore,
) -> Vec<Prepared> {
    let recipient = Address([9; 32]);
    let picks: Vec<(usize, u64)> = (0..count)
        .map(|_| {
            let chain = chains.live[zipf.rank(uniform(rng))];
            let nonce = chains.next_nonce[chain];
            chains.next_nonce[chain] += 1;
            (chain, nonce)
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = picks.len().div_ceil(threads).max(1);
    let ids = &chains.ids;
    let hosts = &chains.host;
    std::thread::scope(|scope| {
        let parts: Vec<_> = picks
            .chunks(per)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(chain, nonce)| {
                            let tx = SignedTransaction::sign(
                                Transaction {
                                    chain_id: ids[*chain],
                                    sender: owner.address(),
                                    nonce: *nonce,
                                    kind: TxKind::Mint {
                                        to: recipient,
                                        amount: 1,
                                    },
                                },
                                owner,
                            );
                            Prepared {
                                chain: *chain,
                                host: hosts[*chain],
                                hex: hex::encode(encode(&tx)),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().unwrap_or_default())
            .collect()
    })
}

/// The outcome of one submission: its latency from when it was due, if it committed.
type Outcome = Option<Duration>;

/// Submits one batch; answers each transaction's outcome (by its index in the step).
async fn submit(
    client: &BulkClient,
    uri: &hyper::Uri,
    batch: Vec<(usize, Instant, String)>,
) -> Vec<(usize, Outcome)> {
    let body =
        serde_json::json!({ "txs": batch.iter().map(|(_, _, hex)| hex).collect::<Vec<_>>() });
    let answer = tokio::time::timeout(SUBMIT_TIMEOUT, client.post(uri, body.to_string().into()))
        .await
        .ok()
        .and_then(Result::ok)
        .filter(|(status, _)| *status == 200)
        .and_then(|(_, bytes)| serde_json::from_slice::<SubmitBatchAnswer>(&bytes).ok())
        .filter(|answer| answer.results.len() == batch.len());
    let answered = Instant::now();
    batch
        .iter()
        .enumerate()
        .map(|(position, (index, due, _))| {
            // Only a committed acknowledgement counts.
            let committed = answer.as_ref().is_some_and(|answer| {
                let result = &answer.results[position];
                result.code == 200
                    && result
                        .tx
                        .as_ref()
                        .is_some_and(|tx| tx.status == "committed")
            });
            (*index, committed.then(|| answered.duration_since(*due)))
        })
        .collect()
}

/// Sends `txs` at `rate` per second, open loop, in one batch per host and [`BATCH_SLOT`];
/// returns each one's outcome, in order.
fn send(devnet: &Devnet, txs: Vec<Prepared>, rate: f64) -> Result<(Vec<Outcome>, Duration)> {
    let uris: Vec<hyper::Uri> = devnet
        .hosts()
        .iter()
        .map(|h| format!("http://{}/transactions?wait=true", h.api).parse())
        .collect::<Result<_, _>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let count = txs.len();
    runtime.block_on(async {
        let client = Arc::new(BulkClient::default());
        let uris = Arc::new(uris);
        let start = tokio::time::Instant::now();
        let slot_of = |i: usize| (i as f64 / rate / BATCH_SLOT.as_secs_f64()) as u64;
        let mut txs = txs.into_iter().enumerate().peekable();
        let mut tasks = Vec::new();
        while let Some((first, tx)) = txs.next() {
            let slot = slot_of(first);
            let mut slot_txs = vec![(first, tx)];
            while let Some(next) = txs.next_if(|(i, _)| slot_of(*i) == slot) {
                slot_txs.push(next);
            }
            let due = |i: usize| start + Duration::from_secs_f64(i as f64 / rate);
            let last = slot_txs.last().map_or(first, |(i, _)| *i);
            tokio::time::sleep_until(due(last)).await;
            let mut per_host: Vec<Vec<(usize, Instant, String)>> = vec![Vec::new(); uris.len()];
            for (i, tx) in slot_txs {
                per_host[tx.host].push((i, due(i).into_std(), tx.hex));
            }
            for (host, batch) in per_host.into_iter().enumerate() {
                let mut batch = batch.into_iter().peekable();
                while batch.peek().is_some() {
                    let part: Vec<_> = batch.by_ref().take(SUBMIT_BATCH_TXS_MAX).collect();
                    let client = client.clone();
                    let uris = uris.clone();
                    tasks.push(tokio::spawn(async move {
                        submit(&client, &uris[host], part).await
                    }));
                }
            }
        }
        let mut outcomes = vec![None; count];
        for task in tasks {
            let answered = task
                .await
                .map_err(|e| anyhow!("a sending task failed: {e}"))?;
            for (index, outcome) in answered {
                outcomes[index] = outcome;
            }
        }
        Ok((outcomes, start.elapsed()))
    })
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let index = ((p / 100.0) * (sorted_ms.len() - 1) as f64).round() as usize;
    sorted_ms[index.min(sorted_ms.len() - 1)]
}

/// Runs one step at `rate` and measures it.
fn step(
    devnet: &Devnet,
    hosts: &Running,
    chains: &mut Chains,
    owner: &SecretKey,
    options: &LoadOptions,
    rate: f64,
    rng: &mut impl RngCore,
) -> Result<Step> {
    let count = (rate * options.duration.as_secs_f64()).round().max(1.0) as u64;
    let zipf = Zipf::new(chains.live.len(), options.zipf);
    let txs = prepare(chains, owner, count, &zipf, rng);
    let picked: Vec<usize> = txs.iter().map(|t| t.chain).collect();
    let apis = devnet.api_urls();
    let metrics_before: Vec<MetricsSample> = apis
        .iter()
        .map(|a| MetricsSample::scrape(a))
        .collect::<Result<_>>()?;
    let use_before = samples(|i| hosts.pid(i), apis.len())?;
    let (outcomes, elapsed) = send(devnet, txs, rate)?;
    let use_after = samples(|i| hosts.pid(i), apis.len())?;
    let metrics_after: Vec<MetricsSample> = apis
        .iter()
        .map(|a| MetricsSample::scrape(a))
        .collect::<Result<_>>()?;

    let mut latencies: Vec<f64> = outcomes
        .iter()
        .flatten()
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let committed = latencies.len() as u64;
    // A chain with a failed transaction may be left with a nonce gap: retire it.
    let mut failed_chains: Vec<usize> = outcomes
        .iter()
        .zip(&picked)
        .filter(|(outcome, _)| outcome.is_none())
        .map(|(_, chain)| *chain)
        .collect();
    failed_chains.sort_unstable();
    failed_chains.dedup();
    chains
        .live
        .retain(|c| failed_chains.binary_search(c).is_err());
    if chains.live.is_empty() {
        bail!("every chain had a failed transaction; nothing is left to load");
    }

    let seconds = elapsed.as_secs_f64();
    let sum = |name: &str| -> f64 {
        metrics_before
            .iter()
            .zip(&metrics_after)
            .map(|(b, a)| b.delta(a, name))
            .sum()
    };
    let mean = |name: &str| -> f64 {
        let hosts = metrics_before.len().max(1) as f64;
        metrics_before
            .iter()
            .zip(&metrics_after)
            .map(|(b, a)| b.mean(a, name))
            .sum::<f64>()
            / hosts
    };
    let p99 = percentile(&latencies, 99.0);
    Ok(Step {
        offered_per_second: rate,
        offered: count,
        committed,
        failed: count - committed,
        committed_per_second: committed as f64 / seconds,
        latency_ms_p50: percentile(&latencies, 50.0),
        latency_ms_p90: percentile(&latencies, 90.0),
        latency_ms_p99: p99,
        latency_ms_max: latencies.last().copied().unwrap_or(0.0),
        verifications_per_second: sum("myriad_signatures_verified_total") / seconds,
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
        passed: p99 <= P99_TARGET_MS && committed as f64 >= COMMITTED_SHARE_MIN * count as f64,
    })
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

pub fn run(dir: &BenchDir, options: &LoadOptions) -> Result<LoadResult> {
    if options.chains == 0 {
        bail!("--chains must be at least 1");
    }
    let verifications_per_core_second = verify_rate(VERIFY_SAMPLE);
    let (_lock, mut devnet) = dir.devnet(options.hosts)?;
    let hosts = Running::start(&devnet, options.in_process)?;
    create_chains(&mut devnet, options.chains)?;
    let owner = devnet.owner_key()?;
    let validators = devnet.validators()?;
    let mut chains = Chains {
        ids: Vec::new(),
        host: Vec::new(),
        next_nonce: Vec::new(),
        live: (0..options.chains as usize).collect(),
    };
    for salt in 1..=options.chains {
        let (genesis, members) = numbered_chain(&devnet, owner.address(), &validators, salt)?;
        chains.ids.push(genesis.chain_id());
        chains.host.push(members[0]);
        chains.next_nonce.push(1);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
    let mut steps = Vec::new();
    loop {
        let next = match &options.rate {
            Rate::Steps(rates) => rates.get(steps.len()).copied(),
            Rate::Auto => next_rate(&steps),
        };
        let Some(rate) = next else {
            break;
        };
        eprintln!("offering {rate:.0} tx/s for {:?}…", options.duration);
        let step = step(
            &devnet,
            &hosts,
            &mut chains,
            &owner,
            options,
            rate,
            &mut rng,
        )
        .with_context(|| format!("load step at {rate:.0} tx/s"))?;
        eprintln!(
            "  committed {:.0} tx/s, p99 {:.0} ms, {} failed",
            step.committed_per_second, step.latency_ms_p99, step.failed
        );
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
        steps,
        best_committed_per_second: best,
        limit_ratio: best / limit,
        in_process: options.in_process,
    })
}

/// Draws what a load test is read by, each against the offered rate with the steps joined
/// in the order they ran: the committed rate beside the ideal diagonal (`load.svg`), and the
/// latency percentiles (`load-latency.svg`), where a step that committed nothing has no
/// point, since it had no latency.
fn plots(dir: &BenchDir, steps: &[Step]) -> Result<[std::path::PathBuf; 2]> {
    let throughput = dir.dir.join("load.svg");
    let latency = dir.dir.join("load-latency.svg");
    let offered_max = steps
        .iter()
        .map(|s| s.offered_per_second)
        .fold(0.0, f64::max);
    let line = |y: fn(&Step) -> f64| -> Vec<(f64, f64)> {
        steps.iter().map(|s| (s.offered_per_second, y(s))).collect()
    };
    plot(
        &throughput,
        "Committed against offered rate, steps in the order run",
        "offered tx/s",
        "committed tx/s",
        &[
            Series {
                name: "committed",
                points: line(|s| s.committed_per_second),
            },
            Series {
                name: "ideal: all offered committed",
                points: vec![(0.0, 0.0), (offered_max, offered_max)],
            },
        ],
    )?;
    let percentile = |p: fn(&Step) -> f64| -> Vec<(f64, f64)> {
        steps
            .iter()
            .filter(|s| s.committed > 0)
            .map(|s| (s.offered_per_second, p(s)))
            .collect()
    };
    plot(
        &latency,
        "Finality latency against offered rate, steps in the order run",
        "offered tx/s",
        "latency, ms",
        &[
            Series {
                name: "p50",
                points: percentile(|s| s.latency_ms_p50),
            },
            Series {
                name: "p99",
                points: percentile(|s| s.latency_ms_p99),
            },
        ],
    )?;
    Ok([throughput, latency])
}

/// Writes the result, its plots, and returns the summary table.
pub fn report(dir: &BenchDir, result: &LoadResult) -> Result<String> {
    let json = dir.write_json("load", result)?;
    let [throughput, latency] = plots(dir, &result.steps)?;
    let mut rows = vec![
        (
            "hosts × chains".to_owned(),
            format!(
                "{} × {} (zipf {}){}",
                result.hosts,
                result.chains,
                result.zipf,
                if result.in_process {
                    ", hosts inside the bench's process"
                } else {
                    ", hosts as processes"
                }
            ),
        ),
        (
            "batch verification".to_owned(),
            format!(
                "{:.0} signatures/s on one core, {} cores",
                result.verifications_per_core_second, result.cores
            ),
        ),
    ];
    for s in &result.steps {
        let cpu: Vec<String> = s
            .hosts
            .iter()
            .map(|h| format!("{:.0}%", h.cpu_percent))
            .collect();
        let rss: Vec<String> = s
            .hosts
            .iter()
            .map(|h| format!("{:.0}", h.rss_bytes as f64 / (1024.0 * 1024.0)))
            .collect();
        rows.push((
            format!("offered {:.0}/s", s.offered_per_second),
            format!(
                "{} committed {:.0}/s, {} failed; latency p50 {:.0} p90 {:.0} p99 {:.0} max {:.0} ms; {:.0} verifications/s; tick {:.1} messages, {:.1} signatures; CPU {}; RSS {} MiB",
                if s.passed { "pass" } else { "FAIL" },
                s.committed_per_second,
                s.failed,
                s.latency_ms_p50,
                s.latency_ms_p90,
                s.latency_ms_p99,
                s.latency_ms_max,
                s.verifications_per_second,
                s.tick_messages_mean,
                s.tick_signatures_mean,
                cpu.join(" "),
                rss.join(" "),
            ),
        ));
    }
    rows.push((
        "best passing".to_owned(),
        format!(
            "{:.0} committed tx/s (target >= 10000 with p99 <= 500 ms)",
            result.best_committed_per_second
        ),
    ));
    rows.push((
        "limit ratio".to_owned(),
        format!(
            "{:.3}  (committed ÷ (cores × verifications per core-second ÷ hosts))",
            result.limit_ratio
        ),
    ));
    rows.push(("result".to_owned(), json.display().to_string()));
    rows.push((
        "plots".to_owned(),
        format!("{} {}", throughput.display(), latency.display()),
    ));
    Ok(table("myriad bench load", &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_auto_one_rate_or_steps_in_order() {
        assert_eq!("auto".parse(), Ok(Rate::Auto));
        assert_eq!("250".parse(), Ok(Rate::Steps(vec![250.0])));
        assert_eq!(
            "1000, 3000,1000".parse(),
            Ok(Rate::Steps(vec![1000.0, 3000.0, 1000.0]))
        );
        for bad in ["", "0", "-5", "1000,,2000", "fast", "1000,auto"] {
            let error = bad.parse::<Rate>().unwrap_err();
            assert!(error.contains("1000,3000,1000"), "{bad}: {error}");
        }
    }
}

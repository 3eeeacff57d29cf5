//! `myriad bench density`: how many chains one host holds, and what each costs — creation
//! rate, memory, store bytes, how soon the root's directory holds them all, idle CPU, and
//! the time to restart and be ready again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use myriad_client::client::Client;
use myriad_devnet::{create_chains, ensure_root, start_hosts};
use myriad_types::{encode, ChainId};
use serde::Serialize;

use crate::{mib, plot, table, BenchDir, ProcessSample, Series};

/// How often memory and store size are sampled while chains are created.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// Left to settle after creation, before idle CPU is sampled.
const SETTLE: Duration = Duration::from_secs(2);
/// How long a fresh devnet's host 0 has to hold the root chain.
const ROOT_WAIT: Duration = Duration::from_secs(30);
/// How long the root's directory has to take in every chain created.
const ANCHOR_WAIT: Duration = Duration::from_secs(20 * 60);

#[derive(Debug, Clone)]
pub struct DensityOptions {
    pub chains: u64,
    /// Hosts in the devnet; every chain is validated by up to four of them. Host 0 is measured.
    pub hosts: usize,
    /// How long idle CPU is sampled.
    pub idle: Duration,
}

/// One point of the host's growth.
#[derive(Debug, Clone, Serialize)]
pub struct GrowthSample {
    pub seconds: f64,
    /// Chains created so far: the host's count, less what it held before.
    pub chains: u64,
    pub rss_bytes: u64,
    pub store_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DensityResult {
    pub chains: u64,
    pub hosts: usize,
    pub create_seconds: f64,
    pub chains_per_second: f64,
    pub rss_bytes: u64,
    pub rss_bytes_per_chain: f64,
    pub store_bytes: u64,
    pub store_bytes_per_chain: f64,
    pub idle_seconds: f64,
    /// CPU of host 0 while idle, in percent of one core.
    pub idle_cpu_percent: f64,
    /// From starting host 0 again to its API answering with every chain counted.
    pub restart_seconds: f64,
    /// From the first chain's creation until the root's directory (as host 0 follows it)
    /// holds every chain created: no chain waited longer than this to be anchored.
    pub anchored_seconds: f64,
    /// A light client's proof of one created chain's anchor, as host 0 serves it.
    pub anchor_proof_bytes: usize,
    pub growth: Vec<GrowthSample>,
}

/// Creates `options.chains` chains on a fresh devnet and measures host 0.
pub fn run(dir: &BenchDir, options: &DensityOptions) -> Result<DensityResult> {
    let (_lock, mut devnet) = dir.devnet(options.hosts)?;
    let mut hosts = start_hosts(&devnet)?;
    ensure_root(&devnet)?;
    let host = &devnet.hosts()[0];
    let client = Client::new(&host.api.to_string());
    let store = devnet.dir.join(&host.name).join("host.redb");
    let pid = hosts.pid(0);
    let in_directory = || -> Result<u64> { Ok(client.root_info()?.chains) };
    // The host holds the root once its first root block is in.
    let waiting = Instant::now();
    let directory_before = loop {
        match in_directory() {
            Ok(chains) => break chains,
            Err(_) if waiting.elapsed() < ROOT_WAIT => std::thread::sleep(SAMPLE_EVERY),
            Err(error) => return Err(error.context("the host does not hold the root chain")),
        }
    };
    // The chains the host holds already (the root chain's among them) are not counted.
    let held_before = client.health()?.chains;
    let started = Instant::now();
    let sample = || -> Result<GrowthSample> {
        Ok(GrowthSample {
            seconds: started.elapsed().as_secs_f64(),
            chains: client.health()?.chains.saturating_sub(held_before),
            rss_bytes: ProcessSample::read(pid)?.rss_bytes,
            store_bytes: std::fs::metadata(&store)?.len(),
        })
    };
    let growth = Mutex::new(vec![sample()?]);
    let done = AtomicBool::new(false);
    let created = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(SAMPLE_EVERY);
                if let Ok(point) = sample() {
                    growth.lock().unwrap_or_else(|e| e.into_inner()).push(point);
                }
            }
        });
        let created = create_chains(&mut devnet, options.chains);
        done.store(true, Ordering::Relaxed);
        created
    });
    created?;
    let create_seconds = started.elapsed().as_secs_f64();
    let mut growth = growth.into_inner().unwrap_or_else(|e| e.into_inner());
    let last = sample()?;
    growth.push(last.clone());
    if last.chains < options.chains {
        bail!(
            "host 0 counts {} chains, {} were created",
            last.chains,
            options.chains
        );
    }

    let anchored_seconds = loop {
        let anchored = in_directory()?.saturating_sub(directory_before);
        if anchored >= options.chains {
            break started.elapsed().as_secs_f64();
        }
        if started.elapsed() > ANCHOR_WAIT {
            bail!(
                "the root's directory holds {anchored} of the {} chains created, {} s after the first",
                options.chains,
                started.elapsed().as_secs()
            );
        }
        std::thread::sleep(SAMPLE_EVERY);
    };

    let anchor_proof_bytes = anchor_proof_bytes(&client)?;

    std::thread::sleep(SETTLE);
    let before = ProcessSample::read(pid)?;
    std::thread::sleep(options.idle);
    let after = ProcessSample::read(pid)?;

    hosts.stop(0);
    let restarting = Instant::now();
    hosts.start(&devnet, 0)?;
    let counted = client.health()?.chains.saturating_sub(held_before);
    let restart_seconds = restarting.elapsed().as_secs_f64();
    if counted != last.chains {
        bail!(
            "after a restart host 0 counts {counted} chains, not {}",
            last.chains
        );
    }
    let chains = last.chains.max(1) as f64;
    Ok(DensityResult {
        chains: options.chains,
        hosts: options.hosts,
        create_seconds,
        chains_per_second: options.chains as f64 / create_seconds,
        rss_bytes: after.rss_bytes,
        rss_bytes_per_chain: after.rss_bytes as f64 / chains,
        store_bytes: last.store_bytes,
        store_bytes_per_chain: last.store_bytes as f64 / chains,
        idle_seconds: options.idle.as_secs_f64(),
        idle_cpu_percent: before.cpu_percent(&after),
        restart_seconds,
        anchored_seconds,
        anchor_proof_bytes,
        growth,
    })
}

/// The size of the anchor proof of the first listed chain that has one (the root chain,
/// first perhaps, has none).
fn anchor_proof_bytes(client: &Client) -> Result<usize> {
    for listed in client.chains(None, 2)?.chains {
        let chain: ChainId = listed.chain_id.parse()?;
        if let Ok(proof) = client.anchor_proof(&chain) {
            let root = proof.root_header.chain_id;
            let (committee, _) = client.validators(&root, Some(proof.root_header.height.0))?;
            proof.verify(&root, &committee, &chain)?;
            return Ok(encode(&proof).len());
        }
    }
    bail!("host 0 serves the anchor proof of none of the first chains it lists")
}

/// Writes the result, its plot, and returns the summary table.
pub fn report(dir: &BenchDir, result: &DensityResult) -> Result<String> {
    let json = dir.write_json("density", result)?;
    let svg = dir.dir.join("density.svg");
    let points = |value: fn(&GrowthSample) -> u64| -> Vec<Option<(f64, f64)>> {
        result
            .growth
            .iter()
            .map(|g| Some((g.chains as f64, value(g) as f64 / (1024.0 * 1024.0))))
            .collect()
    };
    plot(
        &svg,
        "Host 0 as chains are created",
        ("chains", "MiB"),
        &[
            Series {
                name: "RSS",
                points: points(|g| g.rss_bytes),
            },
            Series {
                name: "store file",
                points: points(|g| g.store_bytes),
            },
        ],
        &[],
    )?;
    let rows = [
        ("chains".to_owned(), result.chains.to_string()),
        ("hosts".to_owned(), result.hosts.to_string()),
        (
            "created per second".to_owned(),
            format!("{:.0}  (target >= 5000)", result.chains_per_second),
        ),
        (
            "RSS".to_owned(),
            format!(
                "{}, {:.0} bytes per chain  (target <= 2 GiB at 1,000,000 chains)",
                mib(result.rss_bytes as f64),
                result.rss_bytes_per_chain
            ),
        ),
        (
            "store".to_owned(),
            format!(
                "{}, {:.0} bytes per chain",
                mib(result.store_bytes as f64),
                result.store_bytes_per_chain
            ),
        ),
        (
            format!("idle CPU over {:.0} s", result.idle_seconds),
            format!("{:.2}% of one core  (target < 2%)", result.idle_cpu_percent),
        ),
        (
            "all in the root's directory".to_owned(),
            format!(
                "{:.0} s after the first was created  (target <= 600 s)",
                result.anchored_seconds
            ),
        ),
        (
            "anchor proof".to_owned(),
            format!("{} bytes  (target <= 1.5 KiB)", result.anchor_proof_bytes),
        ),
        (
            "restart to ready".to_owned(),
            format!("{:.2} s  (target <= 5 s)", result.restart_seconds),
        ),
        ("result".to_owned(), json.display().to_string()),
        ("plot".to_owned(), svg.display().to_string()),
    ];
    Ok(table("myriad bench density (host 0)", &rows))
}

//! `myriad-sim`: runs many seeds of the deterministic simulation, or replays one.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use clap::Parser;
use myriad_sim::{run, SimConfig, Stats};

#[derive(Debug, Parser)]
#[command(about = "Myriad's deterministic simulation of many hosts and chains under faults")]
struct Args {
    /// How many seeds to run, from --start on.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Replay exactly this seed (with --verbose, print its events).
    #[arg(long, conflicts_with_all = ["seeds", "start"])]
    seed: Option<u64>,
    #[arg(long)]
    verbose: bool,
    /// Chains per run.
    #[arg(long, default_value_t = 50)]
    chains: usize,
    /// Seeds run at once (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = SimConfig {
        chains: args.chains,
        ..SimConfig::default()
    };
    let seeds = match args.seed {
        Some(seed) => seed..seed + 1,
        None => args.start..args.start + args.seeds,
    };
    let started = Instant::now();
    let count = seeds.end - seeds.start;
    let next = AtomicU64::new(seeds.start);
    let outcomes = Mutex::new(BTreeMap::new());
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds.end {
                    return;
                }
                let outcome = run(seed, &config, args.verbose);
                for failure in &outcome.failures {
                    println!("seed {seed} FAILED {failure}");
                }
                outcomes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(seed, outcome);
            });
        }
    });
    let mut failed = Vec::new();
    let mut total = Stats::default();
    for (seed, outcome) in outcomes
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        let stats = &outcome.stats;
        total.add(stats);
        if args.verbose || args.seed.is_some() {
            println!("seed {seed}: trace {} {stats:?}", outcome.trace);
        }
        if !outcome.failures.is_empty() {
            failed.push(seed);
        }
    }
    println!(
        "{} passed, {} failed; {count} seeds in {:.1} s: {}",
        count - failed.len() as u64,
        failed.len(),
        started.elapsed().as_secs_f64(),
        summary(&total),
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failing seeds: {failed:?}");
        ExitCode::FAILURE
    }
}

/// What the seeds exercised, in one line.
fn summary(total: &Stats) -> String {
    format!(
        "{} blocks, {} transactions committed ({} acknowledged, {} expired or superseded), {} crashes, {} partitions, {} sync blocks served, {} validator changes, {} chains created, {} overloads ({} busy refusals), {} mempool refusals, {} admission refusals, {} unfunded floods refused, {} forgeries refused, {} pieces of evidence, {} swaps ({} claimed, {} refunded, {} races lost), {} heads anchored ({} forged anchors refused)",
        total.blocks_decided,
        total.txs_committed,
        total.txs_acknowledged,
        total.txs_rejected,
        total.crashes,
        total.partitions,
        total.sync_blocks_served,
        total.validator_changes,
        total.chains_created,
        total.overloads,
        total.busy_refusals,
        total.mempool_refusals,
        total.admission_refusals,
        total.floods_refused,
        total.forgeries_refused,
        total.evidence,
        total.swaps,
        total.swaps_completed,
        total.swaps_refunded,
        total.swap_races_lost,
        total.anchors,
        total.forged_anchors_refused,
    )
}

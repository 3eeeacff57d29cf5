//! The simulator's own tests: determinism, a range of seeds, and canaries that prove the
//! checkers catch a broken safety rule.

use crate::*;

/// Seeds CI runs on every change: 200 in all, in four tests so they run in parallel.
const SEEDS_PER_TEST: u64 = 50;

fn run_seeds(start: u64) {
    let config = SimConfig::default();
    let mut failures = Vec::new();
    for seed in start..start + SEEDS_PER_TEST {
        let outcome = run(seed, &config, false);
        assert!(
            outcome.stats.blocks_decided > 0,
            "seed {seed} decided nothing"
        );
        for failure in outcome.failures {
            failures.push(format!("seed {seed}: {failure}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn seeds_0_to_49() {
    run_seeds(0);
}

#[test]
fn seeds_50_to_99() {
    run_seeds(50);
}

#[test]
fn seeds_100_to_149() {
    run_seeds(100);
}

#[test]
fn seeds_150_to_199() {
    run_seeds(150);
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let config = SimConfig::default();
    let first = run(11, &config, false);
    let again = run(11, &config, false);
    assert_eq!(first.trace, again.trace);
    assert_eq!(first.stats, again.stats);
    assert_ne!(run(12, &config, false).trace, first.trace);
}

#[test]
fn an_overload_makes_hosts_refuse_as_busy_and_they_recover() {
    let config = SimConfig {
        overloads_max: 1,
        ..SimConfig::default()
    };
    // Half the seeds draw an overload; take the first few that do.
    let overloaded: Vec<Outcome> = (0..20)
        .map(|seed| run(seed, &config, false))
        .filter(|outcome| outcome.stats.overloads == 1)
        .take(3)
        .collect();
    assert_eq!(overloaded.len(), 3, "too few seeds drew an overload");
    for outcome in overloaded {
        assert!(
            outcome.stats.busy_refusals > 0,
            "seed {}: the overload made no host busy",
            outcome.seed
        );
        assert!(
            outcome.failures.is_empty(),
            "seed {}: {:#?}",
            outcome.seed,
            outcome.failures
        );
    }
}

/// The first of `seeds` in which a run with `config` breaks `rule`; the same seed run without
/// the canary (`honest`) must then be clean.
fn caught(config: &SimConfig, honest: &SimConfig, rule: &str, seeds: u64) -> u64 {
    let caught = (0..seeds).find(|seed| {
        run(*seed, config, false)
            .failures
            .iter()
            .any(|failure| failure.rule == rule)
    });
    let Some(seed) = caught else {
        panic!("no seed below {seeds} caught the canary");
    };
    let clean = run(seed, honest, false);
    assert!(clean.failures.is_empty(), "{:?}", clean.failures);
    seed
}

/// Ignoring the lock must break agreement in some seed, and the checkers must say so.
#[test]
fn a_canary_that_ignores_the_lock_is_caught() {
    let honest = SimConfig {
        byzantine: Some(Byzantine::Twins),
        partitions_max: 60,
        ..SimConfig::default()
    };
    let mut canary = honest.clone();
    canary.host.consensus.canary_ignore_lock = true;
    let seed = caught(&canary, &honest, "agreement", 100);
    println!("canary caught by seed {seed}");
}

/// Prevoting fresh proposals whatever their time lets a proposer whose clock runs ahead
/// have blocks decided from the future, and the block-time checker must say so.
#[test]
fn a_canary_that_ignores_block_time_is_caught() {
    let honest = SimConfig {
        byzantine: Some(Byzantine::SkewedClock),
        ..SimConfig::default()
    };
    let mut canary = honest.clone();
    canary.host.consensus.canary_ignore_time = true;
    let seed = caught(&canary, &honest, "block time", 40);
    println!("canary caught by seed {seed}");
}

/// Acknowledging a commit before the write that holds it is durable must be caught by the
/// durability checker, once a host crashes in the middle of that write.
#[test]
fn a_canary_that_acknowledges_before_the_write_is_durable_is_caught() {
    let honest = SimConfig {
        crashes_max: 30,
        ..SimConfig::default()
    };
    let mut canary = honest.clone();
    canary.host.canary_ack_before_durable = true;
    let seed = caught(&canary, &honest, "durability", 50);
    println!("canary caught by seed {seed}");
}

/// A ledger that lets an escrow be claimed once expired lets a maker who comes back late
/// reveal the secret when the taker may have no time left to claim with it; the swap checker
/// must say so.
#[test]
fn a_canary_that_claims_an_expired_escrow_is_caught() {
    let honest = SimConfig::default();
    let mut canary = honest.clone();
    canary.canary_claim_after_expiry = true;
    let seed = caught(&canary, &honest, "swap atomicity", 40);
    println!("canary caught by seed {seed}");
}

/// A root that anchors heads whatever their certificates' signers hold takes the forged
/// anchors some host sends; the anchoring checker must say so.
#[test]
fn a_canary_that_anchors_without_a_quorum_is_caught() {
    let honest = SimConfig {
        forged_anchors_max: 12,
        ..SimConfig::default()
    };
    let mut canary = honest.clone();
    canary.canary_anchor_without_quorum = true;
    let seed = caught(&canary, &honest, "anchoring", 40);
    println!("canary caught by seed {seed}");
}

//! The simulator's own tests: determinism, a range of seeds, and a canary that proves the
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

/// Ignoring the lock must break agreement in some seed, and the checkers must say so.
#[test]
fn a_canary_that_ignores_the_lock_is_caught() {
    const CANARY_SEEDS: u64 = 100;
    let mut config = SimConfig {
        byzantine: Some(Byzantine::Twins),
        partitions_max: 60,
        ..SimConfig::default()
    };
    config.host.consensus.canary_ignore_lock = true;
    let caught = (0..CANARY_SEEDS).find(|seed| {
        run(*seed, &config, false)
            .failures
            .iter()
            .any(|failure| failure.rule == "agreement")
    });
    let Some(seed) = caught else {
        panic!("no seed below {CANARY_SEEDS} caught the canary");
    };
    // The very same run with the lock rule kept is clean.
    config.host.consensus.canary_ignore_lock = false;
    let honest = run(seed, &config, false);
    assert!(honest.failures.is_empty(), "{:?}", honest.failures);
    println!("canary caught by seed {seed}");
}

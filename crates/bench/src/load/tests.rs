#![allow(clippy::unwrap_used)]
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

#[test]
fn a_senders_first_failure_has_its_reason_and_the_ones_behind_its_gap_are_counted_apart() {
    use tracking::Failure;
    let plan = |index, chain, key| Planned {
        index,
        chain,
        key,
        nonce: index as u64 + 1,
    };
    // Sender (0, 1) is refused busy, so its next two cannot commit; (0, 2) commits, then
    // times out; (1, 1) is refused.
    let planned = [
        plan(0, 0, 1),
        plan(1, 0, 2),
        plan(2, 0, 1),
        plan(3, 1, 1),
        plan(4, 0, 1),
        plan(5, 0, 2),
    ];
    let outcomes = [
        Outcome::Failed(Failure::Busy),
        Outcome::Committed(Duration::from_millis(40)),
        Outcome::Failed(Failure::TimedOut),
        Outcome::Failed(Failure::Refused),
        Outcome::Failed(Failure::Refused),
        Outcome::Failed(Failure::TimedOut),
    ];
    let counted = tally(&planned, &outcomes).unwrap();
    assert_eq!(counted.latencies, [40.0]);
    let f = &counted.failures;
    assert_eq!((f.busy, f.refused, f.timed_out, f.behind_gap), (1, 1, 1, 2));
    assert_eq!(f.total(), 5);
    assert_eq!(counted.retired, [(0, 1), (1, 1), (0, 2)]);
    assert!(tally(&planned[..1], &[Outcome::InFlight]).is_err());
}

fn step(offered: f64, committed: u64, latency: Option<Latency>) -> Step {
    let offered_txs = offered as u64;
    Step {
        offered_per_second: offered,
        offered: offered_txs,
        committed,
        failed: offered_txs - committed,
        failures: Failures {
            timed_out: offered_txs - committed,
            ..Failures::default()
        },
        refusals: Vec::new(),
        committed_per_second: committed as f64,
        latency_ms: latency,
        verifications_per_second: 0.0,
        verifications_per_committed_tx_per_host: (committed > 0).then_some(6.0),
        tick_messages_mean: 0.0,
        tick_signatures_mean: 0.0,
        hosts: Vec::new(),
        passed: false,
    }
}

#[test]
fn a_step_without_commits_shows_no_commits_rather_than_a_latency() {
    let latency = Latency::of(vec![30.0, 10.0, 20.0]).unwrap();
    assert_eq!((latency.p50, latency.max), (20.0, 30.0));
    assert!(Latency::of(Vec::new()).is_none());
    let dir = std::env::temp_dir().join(format!("myriad-load-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bench = BenchDir { dir: dir.clone() };
    let result = LoadResult {
        hosts: 2,
        chains: 10,
        zipf: 1.0,
        duration_seconds: 1.0,
        cores: 2,
        verifications_per_core_second: 1.0,
        senders: FundedSenders::default(),
        funding_seconds: 0.0,
        steps: vec![
            step(100.0, 100, Some(latency)),
            step(3000.0, 0, None),
            step(100.0, 90, Latency::of(vec![40.0])),
        ],
        best_committed_per_second: 0.0,
        limit_ratio: 0.0,
        in_process: false,
    };
    let summary = report(&bench, &result).unwrap();
    let row = summary
        .lines()
        .find(|line| line.contains("offered 3000/s"))
        .unwrap();
    assert!(row.contains("latency: no commits"), "{row}");
    assert!(
        row.contains("per committed tx per host no commits"),
        "{row}"
    );
    assert!(row.contains("timed out 3000"), "{row}");
    assert!(!row.contains(" ms"), "no latency in milliseconds: {row}");
    let first = summary
        .lines()
        .find(|l| l.contains("offered 100/s"))
        .unwrap();
    assert!(first.contains("p50 20 p90 30 p99 30 max 30 ms"), "{first}");
    assert!(first.contains("per committed tx per host 6.0"), "{first}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("load.json")).unwrap()).unwrap();
    assert!(json["steps"][1]["latency_ms"].is_null());
    assert!(json["steps"][1]["verifications_per_committed_tx_per_host"].is_null());
    for plot in ["load.svg", "load-latency.svg"] {
        let svg = std::fs::read_to_string(dir.join(plot)).unwrap();
        assert_eq!(svg.matches(NO_COMMITS).count(), 1, "{plot} marks the step");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

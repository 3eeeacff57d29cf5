//! `myriad bench` at a small scale: each bench runs its real hosts, and writes a result that
//! holds what it measured, a plot and a summary. (The figures themselves are for the closing
//! notes of real runs; here they only have to be there and be consistent.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bench(dir: &Path, args: &[&str]) -> (Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_myriad"))
        .arg("bench")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "myriad bench {args:?} failed");
    let name = args[0];
    let json = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
    assert!(svg.contains("<svg"), "{name}.svg is an SVG image");
    (serde_json::from_str(&json).unwrap(), stdout)
}

#[test]
fn density_counts_what_one_host_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (result, summary) = bench(
        dir.path(),
        &["density", "--chains", "300", "--idle-seconds", "1"],
    );
    assert_eq!(result["chains"], 300);
    assert!(result["chains_per_second"].as_f64().unwrap() > 0.0);
    let rss = result["rss_bytes"].as_f64().unwrap();
    assert!(rss > 1e6, "a host takes more than a megabyte: {rss}");
    let store = result["store_bytes"].as_f64().unwrap();
    assert!(
        (result["store_bytes_per_chain"].as_f64().unwrap() - store / 300.0).abs() < 1e-6,
        "per-chain figures divide by the chains"
    );
    assert!(result["restart_seconds"].as_f64().unwrap() > 0.0);
    assert!(result["anchored_seconds"].as_f64().unwrap() > 0.0);
    // A verified proof: an anchor, its path, the root header and a certificate.
    assert!(result["anchor_proof_bytes"].as_u64().unwrap() > 500);
    let growth = result["growth"].as_array().unwrap();
    assert!(growth.len() >= 2);
    assert_eq!(
        growth.last().unwrap()["chains"],
        300,
        "the last sample sees every chain"
    );
    assert!(summary.contains("created per second"), "{summary}");
}

#[test]
fn load_commits_what_it_offers_at_a_low_rate() {
    let dir = tempfile::tempdir().unwrap();
    let (result, summary) = bench(
        dir.path(),
        &[
            "load",
            "--hosts",
            "2",
            "--chains",
            "40",
            "--rate",
            "40",
            "--duration",
            "3",
        ],
    );
    let steps = result["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "a fixed rate is one step");
    let step = &steps[0];
    assert_eq!(step["offered"], 120);
    let committed = step["committed"].as_u64().unwrap();
    let failed = step["failed"].as_u64().unwrap();
    assert_eq!(committed + failed, 120);
    let reasons: u64 = step["failures"]
        .as_object()
        .unwrap()
        .values()
        .map(|count| count.as_u64().unwrap())
        .sum();
    assert_eq!(reasons, failed, "each failure has its reason: {step}");
    assert!(committed >= 100, "a light load commits: {step}");
    // The hottest of 40 chains takes 1 / H(40) ≈ 23% of 40 tx/s, 9.3 tx/s: its owner and
    // one sender it funds (8 a second each); the others have their owner alone.
    assert_eq!(result["senders"]["senders"], 1, "{}", result["senders"]);
    assert_eq!(result["senders"]["most_on_one_chain"], 2);
    let latency = &step["latency_ms"];
    let p50 = latency["p50"].as_f64().unwrap();
    let p99 = latency["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= latency["max"].as_f64().unwrap());
    assert!(
        step["verifications_per_second"].as_f64().unwrap() > 0.0,
        "the hosts verified signatures"
    );
    let per_tx = step["verifications_per_committed_tx_per_host"]
        .as_f64()
        .unwrap();
    assert!(
        per_tx >= 1.0,
        "each host verifies each transaction: {per_tx}"
    );
    assert_eq!(step["hosts"].as_array().unwrap().len(), 2);
    assert!(result["verifications_per_core_second"].as_f64().unwrap() > 0.0);
    assert!(summary.contains("limit ratio"), "{summary}");
}

#[test]
fn load_can_run_the_hosts_inside_its_own_process() {
    let dir = tempfile::tempdir().unwrap();
    let (result, summary) = bench(
        dir.path(),
        &[
            "load",
            "--hosts",
            "3",
            "--chains",
            "30",
            "--rate",
            "30,15",
            "--duration",
            "2",
            "--in-process",
        ],
    );
    assert_eq!(result["in_process"], true);
    let offered: Vec<u64> = result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["offered"].as_u64().unwrap())
        .collect();
    assert_eq!(offered, [60, 30], "the listed rates run in their order");
    let step = &result["steps"][0];
    assert!(step["committed"].as_u64().unwrap() >= 50, "{step}");
    assert!(summary.contains("inside the bench's process"), "{summary}");
    let latency = std::fs::read_to_string(dir.path().join("load-latency.svg")).unwrap();
    assert!(latency.contains("<svg"), "the latency plot is an SVG image");
}

//! What a load run shows: its summary table, its lines on the terminal, and its plots.

use super::*;

/// Draws what a load test is read by, each against the offered rate with the steps joined
/// in the order they ran: the committed rate beside the ideal diagonal (`load.svg`), and the
/// latency percentiles (`load-latency.svg`). A step that committed nothing has no latency: it
/// breaks the latency lines, and is marked on the axis in both plots.
fn plots(dir: &BenchDir, steps: &[Step]) -> Result<[std::path::PathBuf; 2]> {
    let throughput = dir.dir.join("load.svg");
    let latency = dir.dir.join("load-latency.svg");
    let offered_max = steps
        .iter()
        .map(|s| s.offered_per_second)
        .fold(0.0, f64::max);
    let no_commits: Vec<Mark> = steps
        .iter()
        .filter(|s| s.committed == 0)
        .map(|s| Mark {
            at: (s.offered_per_second, 0.0),
            label: NO_COMMITS,
        })
        .collect();
    plot(
        &throughput,
        "Committed against offered rate, steps in the order run",
        ("offered tx/s", "committed tx/s"),
        &[
            Series {
                name: "committed",
                points: steps
                    .iter()
                    .map(|s| Some((s.offered_per_second, s.committed_per_second)))
                    .collect(),
            },
            Series {
                name: "ideal: all offered committed",
                points: vec![Some((0.0, 0.0)), Some((offered_max, offered_max))],
            },
        ],
        &no_commits,
    )?;
    let percentile = |p: fn(&Latency) -> f64| -> Vec<Option<(f64, f64)>> {
        steps
            .iter()
            .map(|s| s.latency_ms.as_ref().map(|l| (s.offered_per_second, p(l))))
            .collect()
    };
    plot(
        &latency,
        "Finality latency against offered rate, steps in the order run",
        ("offered tx/s", "latency, ms"),
        &[
            Series {
                name: "p50",
                points: percentile(|l| l.p50),
            },
            Series {
                name: "p99",
                points: percentile(|l| l.p99),
            },
        ],
        &no_commits,
    )?;
    Ok([throughput, latency])
}

/// A step's outcome in one line: committed, failed by reason (refusals by status), latency.
pub(super) fn step_summary(s: &Step) -> String {
    let f = &s.failures;
    let latency = match &s.latency_ms {
        Some(l) => format!(
            "latency p50 {:.0} p90 {:.0} p99 {:.0} max {:.0} ms",
            l.p50, l.p90, l.p99, l.max
        ),
        None => format!("latency: {NO_COMMITS}"),
    };
    let refusals: Vec<String> = s
        .refusals
        .iter()
        .map(|r| format!("{} ×{}: {}", r.status, r.count, r.example))
        .collect();
    let refusals = if refusals.is_empty() {
        String::new()
    } else {
        format!(" [{}]", refusals.join("; "))
    };
    format!(
        "{} committed {} ({:.0}/s) of {}; failed {}: busy {}, refused {}, rejected {}, timed out {}, unanswered {}, behind a failed nonce {}, not sent (senders full, the bench's limit) {}{refusals}; {latency}",
        if s.passed { "pass" } else { "FAIL" },
        s.committed,
        s.committed_per_second,
        s.offered,
        s.failed,
        f.busy,
        f.refused,
        f.rejected,
        f.timed_out,
        f.unanswered,
        f.behind_gap,
        f.senders_full,
    )
}

/// A step's row of the table: its outcome, then what the hosts spent on it.
fn step_row(s: &Step) -> String {
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
    let per_tx = match s.verifications_per_committed_tx_per_host {
        Some(v) => format!("{v:.1}"),
        None => NO_COMMITS.to_owned(),
    };
    format!(
        "{}; verifications {:.0}/s, per committed tx per host {per_tx}; tick {:.1} messages, {:.1} signatures; CPU {}; RSS {} MiB",
        step_summary(s),
        s.verifications_per_second,
        s.tick_messages_mean,
        s.tick_signatures_mean,
        cpu.join(" "),
        rss.join(" "),
    )
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
        (
            "senders".to_owned(),
            format!(
                "{} funded beyond the owners, on {} chains (at most {} on one chain), in {:.1} s",
                result.senders.senders,
                result.senders.chains,
                result.senders.most_on_one_chain,
                result.funding_seconds
            ),
        ),
    ];
    for s in &result.steps {
        rows.push((
            format!("offered {:.0}/s", s.offered_per_second),
            step_row(s),
        ));
    }
    rows.push((
        "best passing".to_owned(),
        format!(
            "{:.0} committed tx/s (target >= {THROUGHPUT_TARGET:.0} with p99 <= {P99_TARGET_MS:.0} ms)",
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

//! `myriad bench`: measurements of the whole system on this machine — how many chains a host
//! holds (`density`), how many transactions the hosts commit, how fast (`load`), the
//! order book at scale (`quotes`), and the root chain anchoring every chain (`anchor`). Each run
//! writes a JSON result and an SVG plot beside it and prints a summary table.
//!
//! The hosts are real `myriad host` processes of a fresh devnet, driven through their HTTP API
//! the way clients drive them; CPU and memory are read from `/proc`.
#![forbid(unsafe_code)]

pub mod anchor;
pub mod density;
pub mod load;
pub mod quotes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use myriad_devnet::{Devnet, DevnetOptions};
use myriad_types::{BatchVerifier, ChainId, SecretKey, SignedTransaction, Transaction, TxKind};
use serde::Serialize;

/// Clock ticks per second of `/proc/<pid>/stat` times: `USER_HZ`, 100 on Linux.
const USER_HZ: f64 = 100.0;

/// Where a bench keeps its devnet and writes its results.
#[derive(Debug, Clone)]
pub struct BenchDir {
    pub dir: PathBuf,
}

impl BenchDir {
    /// A fresh devnet of `hosts` hosts on free ports under `dir/devnet`.
    fn devnet(&self, hosts: usize) -> Result<(std::fs::File, Devnet)> {
        myriad_devnet::take(&DevnetOptions {
            dir: self.dir.join("devnet"),
            hosts: Some(hosts),
            chains: 0,
            fresh: true,
            api_port: 0,
            p2p_port: 0,
        })
    }

    /// Writes `result` as `<name>.json`; returns its path.
    fn write_json(&self, name: &str, result: &impl Serialize) -> Result<PathBuf> {
        let path = self.dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(result)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

/// CPU time and resident memory of one process at one moment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessSample {
    at: Instant,
    cpu_seconds: f64,
    pub rss_bytes: u64,
}

impl ProcessSample {
    /// Reads `/proc/<pid>/stat` (user + system time) and `/proc/<pid>/status` (VmRSS).
    pub fn read(pid: u32) -> Result<ProcessSample> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("cannot read /proc/{pid}/stat (is the host running?)"))?;
        // The command name (field 2) may hold spaces; the fields after its `)` are plain.
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        let cpu_seconds = match (ticks(11), ticks(12)) {
            (Some(user), Some(system)) => (user + system) / USER_HZ,
            _ => anyhow::bail!("/proc/{pid}/stat has no CPU times"),
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .context("no VmRSS in /proc/<pid>/status")?;
        Ok(ProcessSample {
            at: Instant::now(),
            cpu_seconds,
            rss_bytes: rss_kib * 1024,
        })
    }

    /// CPU used between `self` and `later`, as a percentage of one core.
    pub fn cpu_percent(&self, later: &ProcessSample) -> f64 {
        let wall = later.at.duration_since(self.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        100.0 * (later.cpu_seconds - self.cpu_seconds) / wall
    }
}

/// The counters and histogram sums a host exports at `/metrics`, by name.
#[derive(Debug, Clone, Default)]
pub struct MetricsSample(HashMap<String, f64>);

impl MetricsSample {
    pub fn scrape(api: &str) -> Result<MetricsSample> {
        let text = ureq::get(format!("{api}/metrics"))
            .call()
            .with_context(|| format!("cannot read {api}/metrics"))?
            .body_mut()
            .read_to_string()?;
        let values = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect();
        Ok(MetricsSample(values))
    }

    /// The value of metric `name` (0 if it is not there).
    pub fn value(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }

    /// How much metric `name` grew from `self` to `later`.
    pub fn delta(&self, later: &MetricsSample, name: &str) -> f64 {
        later.value(name) - self.value(name)
    }

    /// The mean of histogram `name` over what was observed between `self` and `later`.
    pub fn mean(&self, later: &MetricsSample, name: &str) -> f64 {
        let count = self.delta(later, &format!("{name}_count"));
        if count == 0.0 {
            return 0.0;
        }
        self.delta(later, &format!("{name}_sum")) / count
    }
}

/// Signatures this machine batch-verifies per second on one core (batches of 64, as a busy
/// tick's batch is), measured for about `duration`.
pub fn verify_rate(duration: Duration) -> f64 {
    const BATCH: usize = 64;
    let txs: Vec<SignedTransaction> = (0..BATCH)
        .map(|i| {
            let key = SecretKey::from_seed([i as u8 + 1; 32]);
            let tx = Transaction {
                chain_id: ChainId([7; 32]),
                sender: key.address(),
                nonce: 1,
                kind: TxKind::Burn { amount: 1 },
            };
            SignedTransaction::sign(tx, &key)
        })
        .collect();
    let checks: Vec<_> = txs
        .iter()
        .flat_map(SignedTransaction::signature_checks)
        .collect();
    let started = Instant::now();
    let mut verified = 0usize;
    while started.elapsed() < duration {
        let mut batch = BatchVerifier::new();
        for check in &checks {
            batch.queue_check(check);
        }
        if batch.verify(rand_core::OsRng).is_ok() {
            verified += BATCH;
        }
    }
    verified as f64 / started.elapsed().as_secs_f64()
}

/// A table of label–value rows, printed with aligned columns.
fn table(title: &str, rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    let mut text = format!("{title}\n");
    for (label, value) in rows {
        text.push_str(&format!("  {label:<width$}  {value}\n"));
    }
    text
}

/// The `q`-quantile of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// CPU time and memory of the processes of the first `count` hosts.
fn samples(pid: impl Fn(usize) -> u32, count: usize) -> Result<Vec<ProcessSample>> {
    (0..count).map(|i| ProcessSample::read(pid(i))).collect()
}

/// One line of a plot: its points in order, a `None` breaking the line there.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: &'static str,
    pub points: Vec<Option<(f64, f64)>>,
}

/// A point that is not a value of any line (a step that committed nothing), drawn as a cross
/// with its label.
#[derive(Debug, Clone)]
pub struct Mark {
    pub at: (f64, f64),
    pub label: &'static str,
}

/// Draws `series` as lines with points, and `marks` as labelled crosses, into an SVG file at
/// `path`.
fn plot(
    path: &Path,
    title: &str,
    axes: (&str, &str),
    series: &[Series],
    marks: &[Mark],
) -> Result<()> {
    use plotters::prelude::*;
    let all = series
        .iter()
        .flat_map(|s| s.points.iter().flatten())
        .chain(marks.iter().map(|m| &m.at));
    let (x_max, y_max) = all.fold((0.0f64, 0.0f64), |(x, y), (px, py)| {
        (x.max(*px), y.max(*py))
    });
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    let draw = |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(draw)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max.max(1.0) * 1.05, 0.0..y_max.max(1.0) * 1.1)
        .map_err(draw)?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .draw()
        .map_err(draw)?;
    for (index, line) in series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        for (part, points) in line.points.split(Option::is_none).enumerate() {
            let drawn = chart
                .draw_series(LineSeries::new(
                    points.iter().flatten().copied(),
                    color.stroke_width(2),
                ))
                .map_err(draw)?;
            if part == 0 {
                drawn.label(line.name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
            }
        }
        chart
            .draw_series(
                line.points
                    .iter()
                    .flatten()
                    .map(|p| Circle::new(*p, 3, color.filled())),
            )
            .map_err(draw)?;
    }
    for mark in marks {
        chart
            .draw_series([EmptyElement::at(mark.at)
                + Cross::new((0, 0), 6, RED.stroke_width(2))
                + Text::new(
                    mark.label,
                    (6, -18),
                    ("sans-serif", 14).into_font().color(&RED),
                )])
            .map_err(draw)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(draw)?;
    root.present().map_err(draw)?;
    Ok(())
}

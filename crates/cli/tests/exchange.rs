//! Exchangers end to end on a devnet with three chains: two `myriad exchanger` processes
//! quote different rates; a holder's `myriad swap` goes through the better one; that one is
//! killed (SIGKILL) in the middle of a swap, restarted, and finishes it, having locked once;
//! replaced and expired quotes are not taken; a forged quote is refused; a swap at the quote
//! of an exchanger that never locks is refunded by the watchers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use myriad_client::client::Client;
use myriad_testing::{eventually, key, quote};
use myriad_types::{Address, ChainId};
use serde_json::Value;

use common::*;

/// A running `myriad exchanger run`; killed when dropped.
struct ExchangerProcess {
    child: Child,
    status: String,
}

impl ExchangerProcess {
    /// Starts the exchanger of `root/<name>.toml` and waits for its status URL.
    fn start(root: &Path, name: &str) -> ExchangerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_myriad"))
            .current_dir(root)
            .args(["exchanger", "run", "--config", &format!("{name}.toml")])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        println!("{name}: {first}");
        let status = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap()
            .to_owned();
        std::thread::spawn(move || lines.for_each(drop));
        ExchangerProcess { child, status }
    }

    fn status(&self) -> Value {
        ureq::get(&self.status)
            .call()
            .map(|mut answer| answer.body_mut().read_json().unwrap())
            .unwrap_or(Value::Null)
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ExchangerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `root/<name>.toml`: the wallet entry `name` trading `pairs` (give, get, rate),
/// keeping `reserve` of every get chain.
fn exchanger_config(root: &Path, name: &str, pairs: &[(&str, &str, &str)]) {
    let hosts: Vec<String> = devnet_file(root)["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| format!("\"http://{}\"", h["api"].as_str().unwrap()))
        .collect();
    let mut text = format!(
        "wallet = \"devnet/wallet.json\"\npassphrase_file = \"devnet/passphrase\"\nkey = \"{name}\"\n\
         hosts = [{}]\nstatus = \"127.0.0.1:0\"\njournal = \"{name}.journal\"\nrefresh_ms = 2000\n\
         quote_lifetime_ms = 20000\npoll_ms = 200\n",
        hosts.join(", ")
    );
    for (give, get, rate) in pairs {
        text.push_str(&format!(
            "\n[[pair]]\ngive = \"{give}\"\nget = \"{get}\"\nrate = \"{rate}\"\nmin = \"1\"\nmax = \"50\"\n\n[[inventory]]\nchain = \"{get}\"\nreserve = \"10\"\n"
        ));
    }
    std::fs::write(root.join(format!("{name}.toml")), text).unwrap();
}

fn address(root: &Path, name: &str) -> Address {
    json(root, &["wallet", "show", name])["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The exchangers (by address) whose quotes `myriad quotes` lists, with their rates.
fn book(root: &Path, give: &str, get: &str) -> Vec<(String, String)> {
    json(root, &["quotes", give, get])["quotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let rate = format!(
                "{}:{}",
                q["rate"]["give"].as_str().unwrap(),
                q["rate"]["get"].as_str().unwrap()
            );
            (q["exchanger"].as_str().unwrap().to_owned(), rate)
        })
        .collect()
}

/// `myriad swap` of alice's at the best quote: `give` of chain `a` for chain `b`'s currency,
/// with `extra` flags.
fn swap_args<'a>(give: &'a str, a: &'a str, b: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "swap",
        "--from",
        "alice",
        "--give",
        give,
        "--give-chain",
        a,
        "--get-chain",
        b,
    ];
    args.extend_from_slice(extra);
    args
}

/// The locks `who` has sent on `chain`.
fn locks_by(client: &Client, chain: &ChainId, who: &Address) -> usize {
    client
        .history(chain, who, None, 100)
        .unwrap()
        .txs
        .iter()
        .filter(|e| e.tx.kind == "lock" && e.tx.sender == who.to_string())
        .count()
}

#[test]
fn holders_swap_at_the_better_exchangers_quote_which_finishes_across_a_kill() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let devnet = Devnet::start(root, &[]);
    let a = chain_of(root, "alice", "ALICE", "host-0,host-1,host-2", "100");
    let b = chain_of(root, "bob", "BOB", "host-1,host-2,host-3", "1000");
    let c = chain_of(root, "carol", "CAROL", "host-0,host-2,host-3", "1000");
    let (chain_a, chain_b, chain_c): (ChainId, ChainId, ChainId) =
        (a.parse().unwrap(), b.parse().unwrap(), c.parse().unwrap());
    let host = |i: usize| {
        Client::new(&format!(
            "http://{}",
            devnet_file(root)["hosts"][i]["api"].as_str().unwrap()
        ))
    };
    // Two exchangers with inventory of BOB and CAROL; "better" quotes ALICE → BOB at 0.5,
    // "worse" at 0.4 (and ALICE → CAROL at 2).
    for desk in ["better", "worse"] {
        json(root, &["wallet", "new", desk]);
        send(
            root,
            &[
                "transfer", "--chain", &b, "--from", "bob", "--to", desk, "300",
            ],
        );
        send(
            root,
            &[
                "transfer", "--chain", &c, "--from", "carol", "--to", desk, "300",
            ],
        );
    }
    exchanger_config(root, "better", &[(&a, &b, "0.5")]);
    exchanger_config(root, "worse", &[(&a, &b, "0.4"), (&a, &c, "2")]);
    let better = ExchangerProcess::start(root, "better");
    let _worse = ExchangerProcess::start(root, "worse");
    let (better_address, worse_address) = (address(root, "better"), address(root, "worse"));
    eventually(Duration::from_secs(30), "both exchangers' quotes", || {
        book(root, &a, &b).len() == 2
    });

    // A quote replaced by a worse one, and one that expired: neither is taken.
    let ghost = key(70);
    let far = myriad_client::genesis::now_ms() + 60_000;
    host(0)
        .post_quote(&quote(&ghost, (chain_a, chain_b), (10, 9), 1, far))
        .unwrap();
    host(0)
        .post_quote(&quote(&ghost, (chain_a, chain_b), (10, 3), 2, far))
        .unwrap();
    let brief = myriad_client::genesis::now_ms() + 1_500;
    host(0)
        .post_quote(&quote(&key(71), (chain_a, chain_b), (10, 9), 1, brief))
        .unwrap();
    // A forged quote: refused, naming the signature.
    let mut forged = quote(&key(72), (chain_a, chain_b), (10, 9), 1, far);
    forged.quote.rate.get = 10;
    let error = host(0).post_quote(&forged).unwrap_err().to_string();
    assert!(error.contains("signature does not verify"), "{error}");
    std::thread::sleep(Duration::from_millis(2_000));
    let listed = book(root, &a, &b);
    assert_eq!(
        listed[0],
        (better_address.to_string(), "2:1".to_owned()),
        "{listed:?}"
    );
    assert!(
        listed.contains(&(ghost.address().to_string(), "10:3".to_owned())),
        "{listed:?}"
    );
    assert!(!listed.iter().any(|(_, rate)| rate == "10:9"), "{listed:?}");

    // What --max-rate refuses: 2 ALICE for 1 BOB is more than 1.5.
    let error = fails(
        root,
        &swap_args("10", &a, &b, &["--max-rate", "1.5", "--yes"]),
        &[],
    );
    assert!(error.contains("worse than --max-rate 1.5"), "{error}");
    // Without --yes and no terminal, nothing is locked.
    let error = fails(root, &swap_args("10", &a, &b, &[]), &[]);
    assert!(error.contains("confirm with --yes"), "{error}");
    assert_eq!(balance(root, &a, "alice", None), "100.00");

    // The swap, through the better exchanger: request to both claims.
    let started = Instant::now();
    let swapped = json(
        root,
        &swap_args("10", &a, &b, &["--max-rate", "2", "--yes"]),
    );
    assert_eq!(
        swapped["exchanger"],
        better_address.to_string(),
        "{swapped}"
    );
    assert_eq!(swapped["get"], "500", "{swapped}");
    eventually(Duration::from_secs(30), "the exchanger's claim", || {
        balance(root, &a, "better", None) == "10.00"
    });
    println!(
        "swap through an exchanger, request → both claims: {} ms (holder's part {} ms)",
        started.elapsed().as_millis(),
        swapped["elapsed_ms"]
    );
    assert_eq!(balance(root, &b, "alice", None), "5.00");

    // The better exchanger is killed in the middle of the next swap, and restarted.
    let holder = Command::new(env!("CARGO_BIN_EXE_myriad"))
        .current_dir(root)
        .arg("--json")
        .args(swap_args("4", &a, &b, &["--yes"]))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "the exchanger to take the swap",
        || {
            better.status()["swaps"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        },
    );
    better.kill();
    let better = ExchangerProcess::start(root, "better");
    let output = holder.wait_with_output().unwrap();
    assert!(output.status.success(), "the holder's swap failed");
    let swapped: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(swapped["get"], "200", "{swapped}");
    eventually(
        Duration::from_secs(30),
        "the restarted exchanger's claim",
        || balance(root, &a, "better", None) == "14.00",
    );
    eventually(Duration::from_secs(10), "the swap over", || {
        better.status()["swaps"]
            .as_array()
            .is_some_and(|s| s.is_empty())
    });
    assert_eq!(balance(root, &b, "alice", None), "7.00");
    // One lock per swap, however often it was killed.
    assert_eq!(locks_by(&host(1), &chain_b, &better_address), 2);
    let metrics = ureq::get(better.status.replace("/status", "/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("myriad_exchanger_claims_total"),
        "{metrics}"
    );

    // An exchanger that never locks: its quote for ALICE → CAROL is the best, the holder's
    // swap through it fails, and the watchers refund her once her lock expires.
    let idle = key(73);
    host(0)
        .post_quote(&quote(&idle, (chain_a, chain_c), (1, 3), 1, far))
        .unwrap();
    let error = fails(
        root,
        &swap_args("5", &a, &c, &["--expires", "130s", "--yes"]),
        &[],
    );
    assert!(error.contains("did not lock its side"), "{error}");
    assert_eq!(balance(root, &a, "alice", None), "81.00");
    eventually(
        Duration::from_secs(200),
        "the watchers to refund alice",
        || balance(root, &a, "alice", None) == "86.00",
    );
    assert_eq!(balance(root, &c, "alice", None), "0.00");
    assert_eq!(locks_by(&host(0), &chain_c, &worse_address), 0);
    drop(better);
    devnet.stop();
}

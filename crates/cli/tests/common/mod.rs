//! What the command line's end-to-end tests share: a `myriad devnet` as a process, running
//! `myriad` against it, and making chains on it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use myriad_testing::eventually;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

pub const READY: &str = "Ctrl-C stops the devnet";

/// A running `myriad devnet`; dropping it interrupts it.
pub struct Devnet {
    child: Child,
}

impl Devnet {
    /// Starts the devnet in `root/devnet` and waits until it says it is ready.
    pub fn start(root: &Path, extra: &[&str]) -> Devnet {
        Devnet::start_with(root, extra, &[])
    }

    /// [`Devnet::start`], with `env` in the environment of the devnet and its hosts.
    pub fn start_with(root: &Path, extra: &[&str], env: &[(&str, &str)]) -> Devnet {
        let mut child = Command::new(env!("CARGO_BIN_EXE_myriad"))
            .current_dir(root)
            .args(["devnet", "--api-port", "0", "--p2p-port", "0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, seen) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                println!("devnet: {line}");
                let _ = lines.send(line);
            }
        });
        let devnet = Devnet { child };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match seen.recv_timeout(left) {
                Ok(line) if line.contains(READY) => return devnet,
                Ok(_) => {}
                Err(_) => panic!("the devnet did not become ready"),
            }
        }
    }

    /// Interrupts the devnet as Ctrl-C would and waits for it to stop its hosts and exit.
    pub fn stop(mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        kill(pid, Signal::SIGINT).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the devnet exited with {status}");
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT);
            let _ = self.child.wait();
        }
    }
}

/// Runs `myriad` in `root` against the devnet there.
pub fn myriad(root: &Path, args: &[&str]) -> Output {
    myriad_with(root, args, &[])
}

pub fn myriad_with(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_myriad"))
        .current_dir(root)
        .args(args)
        .env_remove("MYRIAD_PASSPHRASE")
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    println!(
        "$ myriad {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a command that must succeed and print JSON.
pub fn json(root: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = myriad(root, &all);
    assert!(output.status.success(), "myriad {args:?} failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs a command that must fail, and returns what it said.
pub fn fails(root: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = myriad_with(root, args, env);
    assert!(
        !output.status.success(),
        "myriad {args:?} should have failed"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn balance(root: &Path, chain: &str, account: &str, host: Option<&str>) -> String {
    let mut args = vec!["balance", account, "--chain", chain];
    if let Some(host) = host {
        args.extend(["--host", host]);
    }
    json(root, &args)["display"].as_str().unwrap().to_owned()
}

pub fn send(root: &Path, args: &[&str]) -> u64 {
    let mut all = args.to_vec();
    all.push("--wait");
    let answer = json(root, &all);
    assert_eq!(answer["status"], "committed", "{answer}");
    assert!(answer["latency_ms"].as_u64().is_some());
    answer["height"].as_u64().unwrap()
}

pub fn devnet_file(root: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("devnet/devnet.json")).unwrap())
        .unwrap()
}

pub fn host_dir(root: &Path, name: &str) -> PathBuf {
    root.join("devnet").join(name)
}

/// Creates a chain of `owner`'s validated by `validators` and mints `amount` to its owner;
/// returns its id once every one of `hosts` holds it.
pub fn chain_of(root: &Path, owner: &str, symbol: &str, validators: &str, amount: &str) -> String {
    let created = json(
        root,
        &[
            "chain",
            "create",
            "--owner",
            owner,
            "--symbol",
            symbol,
            "--decimals",
            "2",
            "--validators",
            validators,
        ],
    );
    let chain = created["chain_id"].as_str().unwrap().to_owned();
    eventually(
        Duration::from_secs(60),
        "the new chain to be served",
        || myriad(root, &["chain", "info", &chain]).status.success(),
    );
    send(root, &["mint", "--chain", &chain, "--to", owner, amount]);
    chain
}

pub fn states(root: &Path, id: &str) -> (String, String) {
    let status = json(root, &["swap", "status", id]);
    let state = |side: &str| status[side]["state"].as_str().unwrap().to_owned();
    (state("maker"), state("taker"))
}

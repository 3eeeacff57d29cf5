//! The crash test: four hosts as OS processes under load; one of them is SIGKILLed at random
//! moments, 20 times, and restarted. After each restart its store opens and holds every
//! commit it acknowledged; at the end, the votes every host recorded from its peers show
//! that no host ever signed two conflicting votes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use myriad_testing::*;
use myriad_types::{ChainId, Hash, SecretKey};
use rand_chacha::rand_core::{RngCore, SeedableRng};

const KILLS: usize = 20;
const CHAINS: usize = 6;

fn spawn(spec: &Spec, config: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(spec.dir.join("host.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_myriad"))
        .args(["host", "run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

fn healthy(spec: &Spec) -> bool {
    let url = format!("http://{}/health", spec.api);
    agent()
        .get(url)
        .config()
        .timeout_global(Some(Duration::from_millis(500)))
        .build()
        .call()
        .is_ok_and(|r| r.status() == 200)
}

/// A committed transaction and the host that acknowledged it.
#[derive(Debug, Clone, Copy)]
struct Ack {
    chain: ChainId,
    height: u64,
    host: usize,
}

#[test]
fn sigkilled_hosts_keep_what_they_acknowledged_and_never_sign_twice() {
    let root = tempfile::tempdir().unwrap();
    let specs = specs(root.path(), 4);
    let configs: Vec<std::path::PathBuf> = (0..4)
        .map(|i| {
            let o = overrides(&specs, i);
            let peers: Vec<String> = o.peers.iter().map(|p| format!("{p:?}")).collect();
            let text = format!(
                "data_dir = {:?}\nlisten = {:?}\napi = {:?}\ntick_ms = 5\nvote_log = {:?}\npeers = [{}]\n",
                specs[i].dir,
                specs[i].p2p.to_string(),
                specs[i].api.to_string(),
                specs[i].dir.join("votes.log"),
                peers.join(", ")
            );
            let path = specs[i].dir.join("host.toml");
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let children: Arc<Mutex<Vec<Child>>> = Arc::new(Mutex::new(
        (0..4).map(|i| spawn(&specs[i], &configs[i])).collect(),
    ));
    for spec in &specs {
        eventually(Duration::from_secs(30), "hosts to start", || healthy(spec));
    }

    // Chains validated by all four hosts with equal power: any three are a quorum.
    let set: Vec<_> = specs.iter().map(|s| (s.host(), 1)).collect();
    let owners: Vec<SecretKey> = (0..CHAINS).map(|i| key(50 + i as u8)).collect();
    let chains: Vec<ChainId> = owners
        .iter()
        .enumerate()
        .map(|(i, owner)| {
            let genesis = genesis_now(owner, &set, i as u64);
            let (status, body) = create_chain(specs[0].api, &genesis);
            assert_eq!(status, 201, "{body}");
            genesis.genesis.chain_id()
        })
        .collect();
    for spec in &specs {
        for chain in &chains {
            eventually(
                Duration::from_secs(20),
                "every host to host the chains",
                || get(spec.api, &format!("/chains/{chain}")).0 == 200,
            );
        }
    }

    // Load: mints with ?wait=true to a random host; a 200 "committed" is an acknowledgement.
    let down = Arc::new(Mutex::new(None::<usize>));
    let stop = Arc::new(AtomicBool::new(false));
    let acks: Arc<Mutex<HashMap<Hash, Ack>>> = Arc::default();
    let load = {
        let (specs, down, stop, acks, chains, owners) = (
            specs.clone(),
            down.clone(),
            stop.clone(),
            acks.clone(),
            chains.clone(),
            owners.clone(),
        );
        std::thread::spawn(move || {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let mut nonces = [1u64; CHAINS];
            while !stop.load(Ordering::Relaxed) {
                let c = rng.next_u32() as usize % CHAINS;
                let host = rng.next_u32() as usize % 4;
                if *down.lock().unwrap() == Some(host) {
                    continue;
                }
                let tx = mint(chains[c], &owners[c], nonces[c], &owners[c], 1);
                let body = serde_json::json!({ "tx": hex_of(&tx) }).to_string();
                let answer = agent()
                    .post(format!("http://{}/transactions?wait=true", specs[host].api))
                    .header("content-type", "application/json")
                    .send(body.as_bytes());
                let committed = answer.ok().and_then(|mut r| {
                    let status = r.status().as_u16();
                    let json: serde_json::Value =
                        serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()?;
                    (status == 200 && json["status"] == "committed")
                        .then(|| json["height"].as_u64())?
                });
                match committed {
                    Some(height) => {
                        acks.lock().unwrap().insert(
                            tx.hash(),
                            Ack {
                                chain: chains[c],
                                height,
                                host,
                            },
                        );
                        nonces[c] += 1;
                    }
                    None => {
                        // Learn the nonce the chain has reached from another host, if it
                        // answers: it may be the one killed, or about to be.
                        std::thread::sleep(Duration::from_millis(200));
                        let other = (host + 1) % 4;
                        let url = format!(
                            "http://{}/chains/{}/accounts/{}",
                            specs[other].api,
                            chains[c],
                            owners[c].address()
                        );
                        let nonce = agent().get(url).call().ok().and_then(|mut r| {
                            let text = r.body_mut().read_to_string().ok()?;
                            let account: serde_json::Value = serde_json::from_str(&text).ok()?;
                            (r.status().as_u16() == 200).then(|| account["nonce"].as_u64())?
                        });
                        if let Some(nonce) = nonce {
                            nonces[c] = nonce + 1;
                        }
                    }
                }
            }
        })
    };

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    for kill in 0..KILLS {
        std::thread::sleep(Duration::from_millis(
            300 + u64::from(rng.next_u32() % 1200),
        ));
        let victim = rng.next_u32() as usize % 4;
        *down.lock().unwrap() = Some(victim);
        {
            let mut children = children.lock().unwrap();
            children[victim].kill().unwrap(); // SIGKILL
            children[victim].wait().unwrap();
        }
        let acked_before: Vec<(Hash, Ack)> = acks
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, a)| a.host == victim)
            .map(|(h, a)| (*h, *a))
            .collect();
        std::thread::sleep(Duration::from_millis(u64::from(rng.next_u32() % 500)));
        children.lock().unwrap()[victim] = spawn(&specs[victim], &configs[victim]);
        eventually(
            Duration::from_secs(30),
            "the killed host's store to open again",
            || healthy(&specs[victim]),
        );
        for (hash, ack) in &acked_before {
            let (status, body) = get(specs[victim].api, &format!("/transactions/{hash}"));
            assert_eq!(
                status, 200,
                "kill {kill}: host {victim} lost acknowledged {hash}: {body}"
            );
            assert_eq!(body["status"], "committed");
            assert_eq!(
                body["height"].as_u64(),
                Some(ack.height),
                "kill {kill}: {hash}"
            );
            assert_eq!(
                body["chain_id"].as_str(),
                Some(ack.chain.to_string().as_str())
            );
        }
        *down.lock().unwrap() = None;
    }
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    for child in children.lock().unwrap().iter_mut() {
        child.kill().unwrap();
        child.wait().unwrap();
    }

    let acked = acks.lock().unwrap().len();
    assert!(
        acked >= 50,
        "only {acked} commits acknowledged under the crashes"
    );

    // Every vote any host received from a peer: one block (or nil) per voter and step.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut votes = 0;
    for spec in &specs {
        let log = std::fs::read_to_string(spec.dir.join("votes.log")).unwrap();
        for line in log.lines() {
            let (step, block) = line.rsplit_once(' ').unwrap();
            votes += 1;
            if let Some(other) = seen.insert(step.to_owned(), block.to_owned()) {
                assert_eq!(other, block, "conflicting votes signed: {step}");
            }
        }
    }
    assert!(votes > 1000, "only {votes} votes recorded");
    println!("{KILLS} kills, {acked} commits acknowledged, {votes} votes checked");
}

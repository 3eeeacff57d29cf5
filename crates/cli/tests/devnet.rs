//! The command line end to end, as a person uses it: `myriad devnet` starts four host
//! processes on free ports; the wallet, chain and transaction commands create a chain, mint,
//! transfer, replace a validator and read balances and histories; a host is killed and comes
//! back in step; bad requests get errors that name the problem; the devnet stops on SIGINT
//! and resumes with everything it had.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use std::time::{Duration, Instant};

use myriad_client::client::Client;
use myriad_client::transaction::SendOptions;
use myriad_testing::eventually;
use myriad_types::{Address, ChainId, EscrowId, Memo, Secret, SecretKey, TxKind};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use common::*;

#[test]
fn a_devnet_serves_the_cli_survives_a_killed_host_and_resumes() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let devnet = Devnet::start(root, &["--chains", "20"]);

    // The demo: four hosts, a funded demo chain, a wallet with four keys, 20 more chains.
    let file = devnet_file(root);
    let hosts = file["hosts"].as_array().unwrap().clone();
    assert_eq!(hosts.len(), 4);
    assert_eq!(file["chains"], 20);
    let demo = file["demo_chain"].as_str().unwrap().to_owned();
    assert_eq!(balance(root, &demo, "alice", None), "1000.00");
    let names: Vec<String> = json(root, &["wallet", "list"])["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["owner", "alice", "bob", "carol"]);
    // Host 0 learns of the chains created through other hosts as their geneses reach it.
    eventually(
        Duration::from_secs(30),
        "host 0 to list the devnet's chains",
        || {
            let listed = json(root, &["chain", "list", "--limit", "1000"]);
            listed["chains"].as_array().unwrap().len() >= 11
        },
    );

    // Alice creates her own currency on every devnet host, mints and pays.
    let created = json(
        root,
        &[
            "chain",
            "create",
            "--owner",
            "alice",
            "--symbol",
            "ALICE",
            "--decimals",
            "2",
            "--max-supply",
            "1000000",
            "--devnet",
        ],
    );
    let chain = created["chain_id"].as_str().unwrap().to_owned();
    eventually(
        Duration::from_secs(60),
        "every host to hold the new chain",
        || {
            hosts.iter().all(|h| {
                let url = format!("http://{}", h["api"].as_str().unwrap());
                myriad(root, &["chain", "info", &chain, "--host", &url])
                    .status
                    .success()
            })
        },
    );
    send(root, &["mint", "--chain", &chain, "--to", "bob", "100.50"]);
    send(
        root,
        &[
            "transfer", "--chain", &chain, "--from", "bob", "--to", "carol", "12.25",
        ],
    );
    assert_eq!(balance(root, &chain, "bob", None), "88.25");
    assert_eq!(balance(root, &chain, "carol", None), "12.25");
    let history = json(root, &["history", "bob", "--chain", &chain]);
    let kinds: Vec<&str> = history["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["tx"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["transfer", "mint"], "newest first");

    // Errors name the problem and the fix.
    let error = fails(
        root,
        &[
            "transfer", "--chain", &chain, "--from", "carol", "--to", "bob", "20",
        ],
        &[],
    );
    assert!(
        error.contains("insufficient balance: carol has 12.25 ALICE")
            && error.contains("needs 20.00 ALICE"),
        "{error}"
    );
    let error = fails(
        root,
        &["mint", "--chain", &chain, "--to", "bob", "1.001"],
        &[],
    );
    assert!(error.contains("more than 2 decimals"), "{error}");
    let error = fails(
        root,
        &[
            "balance",
            "bob",
            "--chain",
            &chain,
            "--host",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert!(
        error.contains("cannot reach the host at http://127.0.0.1:1"),
        "{error}"
    );
    let unknown = myriad_types::ChainId([7; 32]).to_string();
    let error = fails(root, &["balance", "bob", "--chain", &unknown], &[]);
    assert!(
        error.contains(&format!("unknown chain {unknown}")),
        "{error}"
    );
    // Someone else's wallet holds no owner key: minting is refused before signing.
    let other = root.join("other.json");
    let other = other.to_str().unwrap();
    let env = [("MYRIAD_PASSPHRASE", "hunter2")];
    let output = myriad_with(root, &["--wallet", other, "wallet", "new", "mallory"], &env);
    assert!(output.status.success());
    let error = fails(
        root,
        &[
            "--wallet", other, "mint", "--chain", &chain, "--to", "mallory", "1",
        ],
        &env,
    );
    assert!(error.contains("not the owner"), "{error}");
    let error = fails(
        root,
        &["--wallet", other, "wallet", "show", "mallory", "--secret"],
        &[("MYRIAD_PASSPHRASE", "wrong")],
    );
    assert!(error.contains("wrong passphrase"), "{error}");

    // A key moves between wallets only when its secret is asked for explicitly.
    let shown = myriad_with(
        root,
        &["--json", "--wallet", other, "wallet", "show", "mallory"],
        &env,
    );
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert!(shown["secret"].is_null(), "no secret unless asked: {shown}");
    let output = myriad_with(
        root,
        &[
            "--json", "--wallet", other, "wallet", "show", "mallory", "--secret",
        ],
        &env,
    );
    let secret: Value = serde_json::from_slice(&output.stdout).unwrap();
    let secret_file = root.join("mallory.secret");
    std::fs::write(&secret_file, secret["secret"].as_str().unwrap()).unwrap();
    let third = root.join("third.json");
    let third = third.to_str().unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let output = myriad_with(
        root,
        &[
            "--wallet",
            third,
            "wallet",
            "import",
            "m2",
            "--secret-file",
            secret_path,
        ],
        &env,
    );
    assert!(output.status.success());
    let exported = myriad_with(
        root,
        &["--wallet", third, "wallet", "export-public", "m2"],
        &[],
    );
    assert_eq!(
        String::from_utf8_lossy(&exported.stdout).trim(),
        shown["address"].as_str().unwrap()
    );

    // Bob burns some; the transaction's status names its height.
    let burned = json(
        root,
        &["burn", "--chain", &chain, "--from", "bob", "0.50", "--wait"],
    );
    let status = json(root, &["tx", "status", burned["tx"].as_str().unwrap()]);
    assert_eq!(status["status"], "committed");
    assert_eq!(status["height"], burned["height"]);
    let info = json(root, &["chain", "info", &chain]);
    assert_eq!(info["supply"], "10000", "100.50 minted, 0.50 burned");

    // Two sends at once without waiting, through one host: both read the same committed
    // nonce, and whichever comes second steps over the other's pending one.
    let host0 = format!("http://{}", hosts[0]["api"].as_str().unwrap());
    std::thread::scope(|scope| {
        for amount in ["0.10", "0.11"] {
            let (chain, host0) = (&chain, &host0);
            scope.spawn(move || {
                let sent = json(
                    root,
                    &[
                        "transfer", "--chain", chain, "--from", "bob", "--to", "carol", amount,
                        "--host", host0,
                    ],
                );
                assert!(sent["tx"].is_string(), "{sent}");
            });
        }
    });
    eventually(Duration::from_secs(60), "both transfers to commit", || {
        balance(root, &chain, "carol", None) == "12.46"
    });

    // Carol's balance checked trusting only the root's committee, once the root's directory
    // holds the chain; a root chain it was not told of fails loudly.
    let verify = [
        "verify", "account", "carol", "--chain", &chain, "--root", &host0,
    ];
    eventually(
        Duration::from_secs(60),
        "the chain anchored in the root",
        || myriad(root, &verify).status.success(),
    );
    let verified = json(root, &verify);
    assert_eq!(
        (&verified["verified"], &verified["balance"]),
        (&Value::Bool(true), &Value::from("1246"))
    );
    let error = fails(
        root,
        &[&verify[..], &["--root-chain", &chain]].concat(),
        &[],
    );
    assert!(error.contains("does NOT verify"), "{error}");

    // Alice replaces host-3: the chain goes on with three validators.
    send(
        root,
        &[
            "validators",
            "set",
            "--chain",
            &chain,
            "host-0,host-1,host-2:2",
        ],
    );
    let info = json(root, &["chain", "info", &chain]);
    let validators: Vec<&str> = info["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["host"].as_str().unwrap())
        .collect();
    assert_eq!(validators.len(), 3);
    assert!(!validators.contains(&hosts[3]["id"].as_str().unwrap()));
    send(
        root,
        &[
            "transfer", "--chain", &chain, "--from", "carol", "--to", "bob", "0.25",
        ],
    );

    // host-1 is killed; the devnet restarts it, and it catches up with what it missed.
    let pid_file = host_dir(root, "host-1").join("host.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    let mut height = 0;
    for _ in 0..3 {
        height = send(
            root,
            &[
                "transfer", "--chain", &chain, "--from", "bob", "--to", "carol", "1",
            ],
        );
    }
    let host1 = format!("http://{}", hosts[1]["api"].as_str().unwrap());
    eventually(
        Duration::from_secs(60),
        "host-1 to be restarted and caught up",
        || {
            let restarted = std::fs::read_to_string(&pid_file)
                .is_ok_and(|text| text.trim().parse::<i32>().is_ok_and(|p| p != pid));
            restarted && {
                let output = myriad(root, &["--json", "chain", "info", &chain, "--host", &host1]);
                output.status.success()
                    && serde_json::from_slice::<Value>(&output.stdout).unwrap()["height"]
                        .as_u64()
                        .is_some_and(|h| h >= height)
            }
        },
    );
    assert_eq!(balance(root, &chain, "carol", Some(&host1)), "15.21");
    assert_eq!(balance(root, &chain, "bob", Some(&host1)), "84.79");

    // Ctrl-C stops every host; running the devnet again resumes it with its state.
    devnet.stop();
    for name in ["host-0", "host-1", "host-2", "host-3"] {
        assert!(
            !host_dir(root, name).join("host.pid").exists(),
            "{name} was stopped cleanly"
        );
    }
    let devnet = Devnet::start(root, &[]);
    assert_eq!(devnet_file(root)["demo_chain"], demo.as_str());
    assert_eq!(balance(root, &chain, "carol", None), "15.21");
    assert_eq!(balance(root, &demo, "alice", None), "1000.00");
    send(
        root,
        &[
            "transfer", "--chain", &chain, "--from", "carol", "--to", "alice", "5",
        ],
    );
    assert_eq!(balance(root, &chain, "alice", None), "5.00");
    devnet.stop();
}

/// `myriad swap offer` of 10 ALICE on `a` for 5 BOB on `b` from alice to bob; returns the
/// swap's id and offer.
fn offer(root: &Path, a: &str, b: &str, expires: &str) -> (String, String) {
    let offered = json(
        root,
        &[
            "swap",
            "offer",
            "--from",
            "alice",
            "--give",
            "10",
            "--give-chain",
            a,
            "--get",
            "5",
            "--get-chain",
            b,
            "--to",
            "bob",
            "--expires",
            expires,
            "--wait",
        ],
    );
    assert!(offered["watchers"].as_u64().unwrap() >= 1, "{offered}");
    let offer = offered["offer"].as_str().unwrap().to_owned();
    assert!(offer.starts_with("myriad-swap-2:"), "{offered}");
    (offered["id"].as_str().unwrap().to_owned(), offer)
}

#[test]
fn swaps_between_two_chains_with_different_validators_finish_with_or_without_their_parties() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let devnet = Devnet::start(root, &[]);
    let a = chain_of(root, "alice", "ALICE", "host-0,host-1,host-2", "100");
    let b = chain_of(root, "bob", "BOB", "host-1,host-2,host-3", "100");

    // A swap nobody finishes: the watchers refund both sides once they expire (below).
    let (abandoned, offer_abandoned) = offer(root, &a, &b, "3m");
    json(
        root,
        &[
            "swap",
            "accept",
            &offer_abandoned,
            "--from",
            "bob",
            "--wait",
        ],
    );

    // An escrow alice locks by hand for bob, watched by no one, to claim wrongly: with a
    // wrong secret now, with the right one after it expires (below).
    let alice: SecretKey = {
        let shown = json(root, &["wallet", "show", "alice", "--secret"]);
        let seed: [u8; 32] = hex::decode(shown["secret"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        SecretKey::from_seed(seed)
    };
    let bob_address: Address = json(root, &["wallet", "show", "bob"])["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let host_0 = Client::new(&format!(
        "http://{}",
        devnet_file(root)["hosts"][0]["api"].as_str().unwrap()
    ));
    let chain_a: ChainId = a.parse().unwrap();
    let secret = Secret([42; 32]);
    let lock = TxKind::Lock {
        to: bob_address,
        amount: 100,
        hash_lock: secret.hash_lock(),
        expires_at_ms: myriad_client::genesis::now_ms() + 90_000,
        memo: Memo::default(),
    };
    let waited = SendOptions {
        wait: true,
        nonce: None,
    };
    let locked = host_0.send(&chain_a, &alice, lock, waited).unwrap();
    let by_hand = EscrowId::derive(&chain_a, &alice.address(), locked.nonce);
    let claim = |secret| TxKind::Claim {
        escrow: by_hand,
        secret,
    };
    let error = host_0
        .send(&chain_a, &alice, claim(Secret([41; 32])), waited)
        .unwrap_err()
        .to_string();
    assert!(error.contains("is not the escrow's hash lock"), "{error}");

    // A swap done by hand, offer to both claims. What would lose bob money is refused
    // before he signs: an offer for someone else, one that says more than the lock holds.
    let started = Instant::now();
    let (id, offer_text) = offer(root, &a, &b, "6m");
    let error = fails(
        root,
        &["swap", "accept", &offer_text, "--from", "carol"],
        &[],
    );
    assert!(error.contains("the offer is for"), "{error}");
    let mut inflated: myriad_types::SwapOffer = offer_text.parse().unwrap();
    inflated.give += 1;
    let error = fails(
        root,
        &["swap", "accept", &inflated.to_text(), "--from", "bob"],
        &[],
    );
    assert!(
        error.contains("its amount is 1000, the offer says 1001"),
        "{error}"
    );
    let accepted = json(
        root,
        &["swap", "accept", &offer_text, "--from", "bob", "--wait"],
    );
    assert_eq!(accepted["id"], id.as_str());
    assert_eq!(states(root, &id), ("open".into(), "open".into()));
    // Bob cannot claim before alice has revealed the secret.
    let error = fails(root, &["swap", "claim", &offer_text, "--from", "bob"], &[]);
    assert!(error.contains("the secret is not known"), "{error}");
    // Alice claims on B with her secret; bob claims on A with the secret her claim
    // revealed (unless a watcher was quicker: then his claim finds it done).
    json(root, &["swap", "claim", &id, "--from", "alice"]);
    let _ = myriad(root, &["swap", "claim", &offer_text, "--from", "bob"]);
    eventually(Duration::from_secs(30), "both sides claimed", || {
        states(root, &id) == ("claimed".into(), "claimed".into())
    });
    println!(
        "swap offer → both claimed: {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(balance(root, &a, "bob", None), "10.00");
    assert_eq!(balance(root, &b, "alice", None), "5.00");
    // Each escrow closed once: a second claim and a refund are refused with the reason.
    // Alice's own escrow went to bob; the one she claims is bob's, which went to her.
    let alice_address = json(root, &["wallet", "show", "alice"])["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let error = fails(root, &["swap", "claim", &id, "--from", "alice"], &[]);
    assert!(error.contains("is already claimed"), "{error}");
    assert!(
        error.contains(&format!("went to {alice_address}")),
        "{error}"
    );
    let error = fails(root, &["swap", "refund", &id, "--from", "alice"], &[]);
    assert!(error.contains("is already claimed"), "{error}");
    assert!(error.contains(&format!("went to {bob_address}")), "{error}");

    // Bob's client is gone once he has locked: alice claims, and the watchers claim her
    // escrow for him with the secret her claim revealed.
    let (gone, offer_gone) = offer(root, &a, &b, "6m");
    json(
        root,
        &["swap", "accept", &offer_gone, "--from", "bob", "--wait"],
    );
    json(root, &["swap", "claim", &gone, "--from", "alice"]);
    eventually(
        Duration::from_secs(30),
        "a watcher to claim for bob",
        || balance(root, &a, "bob", None) == "20.00",
    );
    assert_eq!(states(root, &gone), ("claimed".into(), "claimed".into()));

    // The abandoned swap: refunded to both by the watchers once each side expires.
    let error = fails(
        root,
        &["swap", "refund", &abandoned, "--from", "alice"],
        &[],
    );
    assert!(error.contains("it can be refunded only then"), "{error}");
    eventually(
        Duration::from_secs(240),
        "the watchers to refund both sides",
        || states(root, &abandoned) == ("refunded".into(), "refunded".into()),
    );
    // Too late for the right secret: the escrow by hand has expired.
    let error = host_0
        .send(&chain_a, &alice, claim(secret), waited)
        .unwrap_err()
        .to_string();
    assert!(error.contains("expired at"), "{error}");
    assert_eq!(balance(root, &a, "alice", None), "79.00");
    assert_eq!(balance(root, &b, "bob", None), "90.00");
    assert_eq!(balance(root, &b, "alice", None), "10.00");
    devnet.stop();
}

#[test]
fn an_allowlist_limits_payments_and_a_channel_pays_off_chain() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let devnet = Devnet::start(root, &[]);
    let demo = devnet_file(root)["demo_chain"].as_str().unwrap().to_owned();
    let chain = ["--chain", demo.as_str()];
    let with_chain = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(chain.iter())
            .map(|a| a.to_string())
            .collect()
    };
    let run = |args: &[&str]| {
        let args = with_chain(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        json(root, &args)
    };
    let refused = |args: &[&str]| {
        let args = with_chain(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(root, &args, &[])
    };

    // Carol lets herself pay bob only; a transfer elsewhere is refused with the reason.
    send(
        root,
        &[
            "transfer", "--from", "alice", "--to", "carol", "100", "--chain", &demo,
        ],
    );
    run(&[
        "allowlist",
        "set",
        "--from",
        "carol",
        "bob",
        "--delay",
        "1d",
    ]);
    let shown = run(&["allowlist", "show", "carol"]);
    assert_eq!(
        shown["allowlist"]["addresses"],
        serde_json::json!(["bob"]),
        "{shown}"
    );
    let error = refused(&[
        "transfer", "--from", "carol", "--to", "alice", "1", "--wait",
    ]);
    assert!(error.contains("allowlist does not let it pay"), "{error}");
    send(
        root,
        &[
            "transfer", "--from", "carol", "--to", "bob", "1", "--chain", &demo,
        ],
    );
    // Clearing it waits a day: until then carol still cannot pay alice.
    run(&["allowlist", "clear", "--from", "carol"]);
    let shown = run(&["allowlist", "show", "carol"]);
    assert_eq!(
        shown["allowlist"]["pending"]["addresses"],
        serde_json::json!([])
    );
    let error = refused(&[
        "transfer", "--from", "carol", "--to", "alice", "1", "--wait",
    ]);
    assert!(error.contains("allowlist does not let it pay"), "{error}");

    // Alice opens a channel to bob, pays him 100 times off-chain, and bob closes it with
    // the last voucher: he gets its amount, alice the rest.
    let opened = run(&[
        "channel",
        "open",
        "--from",
        "alice",
        "--to",
        "bob",
        "50",
        "--expires",
        "1h",
    ]);
    let channel = opened["channel"].as_str().unwrap().to_owned();
    let mut last = String::new();
    for cents in 1..=100 {
        let cumulative = format!("0.{cents:02}");
        let cumulative = if cents == 100 {
            "1.00".to_owned()
        } else {
            cumulative
        };
        let paid = run(&["channel", "pay", &channel, "--from", "alice", &cumulative]);
        last = paid["voucher"].as_str().unwrap().to_owned();
    }
    let checked = run(&["channel", "accept", &last]);
    assert_eq!(checked["cumulative"], "100", "{checked}");
    // A voucher bob signs himself, or one for more than the channel holds, is refused.
    let forged = run(&["channel", "pay", &channel, "--from", "bob", "2"]);
    let error = refused(&["channel", "accept", forged["voucher"].as_str().unwrap()]);
    assert!(error.contains("not signed by the payer"), "{error}");
    let greedy = run(&["channel", "pay", &channel, "--from", "alice", "51"]);
    let error = refused(&["channel", "accept", greedy["voucher"].as_str().unwrap()]);
    assert!(error.contains("more than the channel's"), "{error}");
    let bob_before = balance(root, &demo, "bob", None);
    let alice_before = balance(root, &demo, "alice", None);
    run(&["channel", "close", &channel, "--from", "bob", &last]);
    let status = run(&["channel", "status", &channel]);
    assert_eq!(status["state"], "closed", "{status}");
    assert_eq!(status["paid"], "100", "{status}");
    let cents = |text: String| -> i64 { (text.parse::<f64>().unwrap() * 100.0).round() as i64 };
    assert_eq!(
        cents(balance(root, &demo, "bob", None)) - cents(bob_before),
        100
    );
    assert_eq!(
        cents(balance(root, &demo, "alice", None)) - cents(alice_before),
        4_900
    );
    let error = refused(&["channel", "close", &channel, "--from", "bob", &last]);
    assert!(error.contains("already closed"), "{error}");
    devnet.stop();
}

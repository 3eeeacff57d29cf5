#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every endpoint of the HTTP API of one in-process host, with good and bad input.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::Served;
use myriad_api::ApiLimits;
use myriad_ledger::{verify_account, verify_object, StateProof};
use myriad_testing::*;
use myriad_types::{
    decode, tx_root, Account, Address, Block, BoundedVec, Certificate, ChainId, ChannelId,
    EscrowId, Hash, Height, HostId, Memo, Object, ObjectKey, Secret, SignedGenesis, SignedQuote,
    SignedTransaction, Transaction, TxKind, Validator, ValidatorSet,
};
use serde_json::{json, Value};

/// Asserts an error answer: the exact status, and a JSON object whose `error` string
/// names the problem.
#[track_caller]
fn assert_error(answer: (u16, Value), status: u16, needle: &str) {
    let (got, body) = answer;
    assert_eq!(got, status, "expected {status}, got {got}: {body}");
    assert!(body.is_object(), "error body is not a JSON object: {body}");
    assert!(body["error"].is_string(), "no `error` string in {body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains(needle),
        "error {error:?} does not mention {needle:?}"
    );
}

fn from_hex<T: borsh::BorshDeserialize>(what: &'static str, body: &Value, field: &str) -> T {
    assert!(body[field].is_string(), "no `{field}` string in {body}");
    let text = body[field].as_str().unwrap();
    decode(what, &hex::decode(text).unwrap()).unwrap()
}

/// GET /chains/{chain}/accounts/{who}: the balance and nonce, after checking the proof
/// against the state root the answer names (and that it fails for any other entry).
fn account_checked(api: SocketAddr, chain: &ChainId, who: &Address) -> (u128, u64, Value) {
    let (status, body) = get(api, &format!("/chains/{chain}/accounts/{who}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chain_id"], chain.to_string());
    assert_eq!(body["address"], who.to_string());
    let balance: u128 = body["balance"].as_str().unwrap().parse().unwrap();
    let nonce = body["nonce"].as_u64().unwrap();
    let root: Hash = body["state_root"].as_str().unwrap().parse().unwrap();
    let proof: StateProof = from_hex("proof", &body, "proof");
    let account = Account { balance, nonce };
    assert!(
        verify_account(&root, who, &account, &proof),
        "proof of {who} on {chain}: {body}"
    );
    let richer = Account {
        balance: balance + 1,
        nonce,
    };
    assert!(!verify_account(&root, who, &richer, &proof));
    let later = Account {
        balance,
        nonce: nonce + 1,
    };
    assert!(!verify_account(&root, who, &later, &proof));
    (balance, nonce, body)
}

/// Opens `GET /events{query}` on a raw connection; returns it once the response head
/// (status line and headers) has arrived, with that head. The subscription is live then.
fn open_events(api: SocketAddr, query: &str) -> (TcpStream, String) {
    open_stream(api, &format!("/events{query}"))
}

/// Opens the event stream at `path` on a raw connection, as [`open_events`] does.
fn open_stream(api: SocketAddr, path: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(api).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut head = String::new();
    read_until(&mut stream, &mut head, Duration::from_secs(10), |text| {
        text.contains("\r\n\r\n")
    });
    (stream, head)
}

/// Reads from `stream` into `text` until `done(text)` or `timeout` passes.
fn read_until(
    stream: &mut TcpStream,
    text: &mut String,
    timeout: Duration,
    done: impl Fn(&str) -> bool,
) {
    let start = Instant::now();
    let mut buffer = [0u8; 4096];
    while !done(text) {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?}; read so far:\n{text}"
        );
        let n = match stream.read(&mut buffer) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            read => read.expect("reading the event stream"),
        };
        assert!(n > 0, "the stream closed; read so far:\n{text}");
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
}

/// The value of a sample without labels in Prometheus' text format.
fn metric(text: &str, name: &str) -> f64 {
    let value = text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().unwrap())
    });
    assert!(value.is_some(), "no sample {name} in:\n{text}");
    value.unwrap()
}

#[test]
fn every_endpoint_of_one_host_with_good_and_bad_input() {
    let served = Served::start(ApiLimits::default());
    let api = served.api;
    let host = served.host;
    let validators = [(host, 1)];
    let set = ValidatorSet::new(vec![Validator { host, power: 1 }]).unwrap();
    let other_host: HostId = key(60).host_id();

    let owner = key(50);
    let alice = key(51);
    let bob = key(52);
    let stranger = key(53);
    // A chain never posted here: valid ids that name nothing hosted.
    let unknown_chain = genesis_now(&owner, &validators, 999).genesis.chain_id();
    let unknown_tx = mint(unknown_chain, &owner, 1, &alice, 1);
    let mut committed_txs = 0u64;

    // ---- GET /health, before any chain ----
    let (status, body) = get(api, "/health");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["host"], host.to_string());
    assert_eq!(body["chains"], 0);

    // ---- GET /openapi.json ----
    let (status, body) = get(api, "/openapi.json");
    assert_eq!(status, 200, "{body}");
    assert!(body["openapi"].as_str().unwrap().starts_with('3'), "{body}");
    let paths = body["paths"].as_object().unwrap();
    for path in [
        "/chains",
        "/chains/{chain}",
        "/chains/{chain}/genesis",
        "/chains/{chain}/validators",
        "/chains/{chain}/blocks/{height}",
        "/chains/{chain}/accounts/{address}",
        "/chains/{chain}/accounts/{address}/txs",
        "/chains/{chain}/escrows/{id}",
        "/chains/{chain}/channels/{id}",
        "/chains/{chain}/allowlists/{address}",
        "/swaps/watch",
        "/transactions",
        "/transactions/{hash}",
        "/events",
        "/metrics",
        "/health",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI paths"
        );
    }
    assert!(paths["/chains"]["post"].is_object());
    assert!(paths["/chains"]["get"].is_object());
    assert!(paths["/transactions"]["post"].is_object());
    assert!(paths["/chains/{chain}/accounts/{address}"]["get"].is_object());

    // ---- POST /chains ----
    let genesis_a = genesis_now(&owner, &validators, 1);
    let chain_a = genesis_a.genesis.chain_id();
    let (status, body) = create_chain(api, &genesis_a);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["chain_id"], chain_a.to_string());
    // The same genesis again: nothing new, the same answer.
    let (status, body) = create_chain(api, &genesis_a);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["chain_id"], chain_a.to_string());
    // Chain B holds a transaction with a nonce gap (pending); chain C one that never
    // commits (the wait times out).
    let genesis_b = genesis_now(&owner, &validators, 2);
    let chain_b = genesis_b.genesis.chain_id();
    assert_eq!(create_chain(api, &genesis_b).0, 201);
    let genesis_c = genesis_now(&owner, &validators, 3);
    let chain_c = genesis_c.genesis.chain_id();
    assert_eq!(create_chain(api, &genesis_c).0, 201);
    let chains_created = 3u64;

    // A genesis that does not name this host.
    let elsewhere = genesis_now(&owner, &[(other_host, 1)], 10);
    assert_error(
        create_chain(api, &elsewhere),
        403,
        "not among the genesis validators",
    );
    // Signed by one key, owned by another address.
    let mut forged = genesis_now(&owner, &validators, 11).genesis;
    forged.owner = alice.address();
    let forged = SignedGenesis::sign(forged, &owner);
    assert_error(create_chain(api, &forged), 400, "signature does not verify");
    // Well signed, but breaking the genesis rules.
    let mut too_precise = genesis_now(&owner, &validators, 12).genesis;
    too_precise.decimals = 19;
    let too_precise = SignedGenesis::sign(too_precise, &owner);
    assert_error(create_chain(api, &too_precise), 400, "decimals");
    let powerless = genesis_now(&owner, &[(host, 0)], 13);
    assert_error(create_chain(api, &powerless), 400, "zero voting power");
    // Bodies that are not a request at all.
    assert_error(post_raw(api, "/chains", b"not json"), 400, "request body");
    assert_error(post_raw(api, "/chains", b""), 400, "request body");
    assert_error(
        post(api, "/chains", &json!({ "gen": hex_of(&genesis_a) })),
        400,
        "missing field `genesis`",
    );
    assert_error(
        post(api, "/chains", &json!({ "genesis": 42 })),
        400,
        "request body",
    );
    assert_error(
        post(api, "/chains", &json!({ "genesis": "zz-not-hex" })),
        400,
        "not hex",
    );
    assert_error(
        post(api, "/chains", &json!({ "genesis": "00ff" })),
        400,
        "cannot decode genesis",
    );
    // A genesis with a byte too many is not its canonical encoding.
    assert_error(
        post(
            api,
            "/chains",
            &json!({ "genesis": format!("{}00", hex_of(&genesis_a)) }),
        ),
        400,
        "cannot decode genesis",
    );
    // Over the 64 KiB body limit.
    let huge = format!(
        "{{\"genesis\":\"{}\"}}",
        "0".repeat(myriad_api::BODY_BYTES_MAX)
    );
    assert!(huge.len() > myriad_api::BODY_BYTES_MAX);
    assert_error(
        post_raw(api, "/chains", huge.as_bytes()),
        413,
        "over the limit of 65536 bytes",
    );
    // Nothing refused was created.
    for refused in [&elsewhere, &forged, &too_precise, &powerless] {
        let id = refused.genesis.chain_id();
        assert_eq!(get(api, &format!("/chains/{id}")).0, 404);
    }

    // ---- GET /chains/{chain}, at the genesis ----
    let (status, body) = get(api, &format!("/chains/{chain_a}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chain_id"], chain_a.to_string());
    assert_eq!(body["symbol"], "TEST");
    assert_eq!(body["decimals"], 2);
    assert_eq!(body["owner"], owner.address().to_string());
    assert_eq!(body["height"], 0);
    assert_eq!(body["head_hash"], Hash::ZERO.to_string());
    assert_eq!(body["supply"], "0");
    assert_eq!(body["max_supply"], Value::Null);
    assert_eq!(
        body["validators"],
        json!([{ "host": host.to_string(), "power": 1 }])
    );
    let (_, _, body) = account_checked(api, &chain_a, &owner.address());
    assert_eq!(body["height"], 0);
    assert_error(get(api, "/chains/chain1nope"), 400, "not a valid chain id");
    // An account address is not a chain id.
    assert_error(
        get(api, &format!("/chains/{}", alice.address())),
        400,
        "expected \"chain\"",
    );
    assert_error(
        get(api, &format!("/chains/{unknown_chain}")),
        404,
        "not hosted here",
    );

    // ---- POST /transactions ----
    // Without wait: admitted, pending, under the transaction's hash.
    let mint_a = mint(chain_a, &owner, 1, &alice, 1_000);
    let (status, body) = submit(api, &mint_a, false);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["hash"], mint_a.hash().to_string());
    assert_eq!(body["chain_id"], chain_a.to_string());
    eventually(Duration::from_secs(20), "the mint to commit", || {
        get(api, &format!("/transactions/{}", mint_a.hash())).1["status"] == "committed"
    });
    committed_txs += 1;
    // With wait: answered once committed, with the height.
    let pay = transfer(chain_a, &alice, 1, &bob, 300);
    let (status, body) = submit(api, &pay, true);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "committed", "{body}");
    assert_eq!(body["hash"], pay.hash().to_string());
    assert_eq!(body["chain_id"], chain_a.to_string());
    let pay_height = body["height"].as_u64().unwrap();
    assert!(pay_height >= 2, "{body}");
    committed_txs += 1;
    // The same transactions again, once committed: their nonces are used.
    assert_error(submit(api, &pay, true), 409, "already used");
    assert_error(submit(api, &mint_a, false), 409, "already used");
    // Admission: a sender with nothing, more than is left, a nonce far ahead, the owner's
    // rule; each refused at once with its reason.
    assert_error(
        submit(api, &transfer(chain_a, &stranger, 1, &bob, 5), false),
        422,
        "has no account on this chain",
    );
    assert_error(
        submit(api, &transfer(chain_a, &alice, 2, &bob, 701), false),
        422,
        "holds 700, its 0 pending transactions leave 700, and this one needs 701",
    );
    let far = 2 + myriad_host::NONCE_AHEAD_MAX + 1;
    assert_error(
        submit(api, &transfer(chain_a, &alice, far, &bob, 5), false),
        422,
        &format!("nonce {far} is too far ahead: the sender's next nonce is 2"),
    );
    assert_error(
        submit(api, &mint(chain_a, &alice, 2, &alice, 5), true),
        422,
        "only the chain owner",
    );
    // Signed by another key than its sender's.
    let impostor = SignedTransaction::sign(
        Transaction {
            chain_id: chain_a,
            sender: alice.address(),
            nonce: 2,
            kind: TxKind::Burn { amount: 1 },
        },
        &bob,
    );
    assert_error(
        submit(api, &impostor, false),
        400,
        "signature does not verify",
    );
    assert_error(
        submit(api, &impostor, true),
        400,
        "signature does not verify",
    );
    // Malformed before any signature: nothing to move.
    assert_error(
        submit(api, &transfer(chain_a, &alice, 2, &bob, 0), false),
        400,
        "amount must be greater than zero",
    );
    assert_error(submit(api, &unknown_tx, false), 404, "not hosted here");
    assert_error(submit(api, &unknown_tx, true), 404, "not hosted here");
    assert_error(
        post(api, "/transactions", &json!({ "tx": "garbage!" })),
        400,
        "not hex",
    );
    assert_error(
        post(api, "/transactions", &json!({ "tx": "0badc0de" })),
        400,
        "cannot decode transaction",
    );
    assert_error(
        post(
            api,
            "/transactions",
            &json!({ "tx": format!("{}00", hex_of(&pay)) }),
        ),
        400,
        "cannot decode transaction",
    );
    assert_error(
        post(
            api,
            "/transactions",
            &json!({ "transaction": hex_of(&pay) }),
        ),
        400,
        "expected `tx` (hex of one transaction) or `txs`",
    );
    assert_error(
        post(
            api,
            "/transactions",
            &json!({ "tx": hex_of(&pay), "txs": [hex_of(&pay)] }),
        ),
        400,
        "not both",
    );
    assert_error(post_raw(api, "/transactions", b"{"), 400, "request body");
    // A `wait` that is not a boolean, a path that is not UTF-8 and an unknown endpoint are
    // refused with JSON errors too.
    assert_error(
        post(
            api,
            "/transactions?wait=yes",
            &json!({ "tx": hex_of(&pay) }),
        ),
        400,
        "wait",
    );
    assert_error(get(api, "/chains/%FF"), 400, "UTF-8");
    assert_error(get(api, "/no/such/thing"), 404, "no such endpoint");

    // Pending: a nonce gap on chain B keeps a transaction waiting for its turn.
    let gap = mint(chain_b, &owner, 2, &alice, 20);
    let (status, body) = submit(api, &gap, false);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["hash"], gap.hash().to_string());
    // The same transaction while it is pending.
    assert_error(submit(api, &gap, false), 409, "already pending");
    assert_error(submit(api, &gap, true), 409, "already pending");

    // A wait that outlasts WAIT_MAX: chain C's gap is never filled. Runs alongside the rest.
    let stuck = mint(chain_c, &owner, 2, &alice, 1);
    let stuck_hash = stuck.hash();
    let stuck_wait = std::thread::spawn(move || {
        let started = Instant::now();
        let answer = submit(api, &stuck, true);
        (answer, started.elapsed())
    });

    // ---- GET /transactions/{hash} ----
    let (status, body) = get(api, &format!("/transactions/{}", pay.hash()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hash"], pay.hash().to_string());
    assert_eq!(body["status"], "committed");
    assert_eq!(body["chain_id"], chain_a.to_string());
    assert_eq!(body["height"], pay_height);
    assert_eq!(body["reason"], Value::Null);
    // Hex digits in upper case name the same hash.
    let upper = pay.hash().to_string().to_uppercase();
    let (status, body) = get(api, &format!("/transactions/{upper}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hash"], pay.hash().to_string());
    let (status, body) = get(api, &format!("/transactions/{}", gap.hash()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["chain_id"], chain_b.to_string());
    assert_eq!(body["height"], Value::Null);
    assert_error(get(api, "/transactions/xyz"), 400, "not a valid hash");
    assert_error(
        get(api, &format!("/transactions/{}", "g".repeat(64))),
        400,
        "not a valid hash",
    );
    assert_error(
        get(api, &format!("/transactions/{}", unknown_tx.hash())),
        404,
        "unknown to this host",
    );
    // The gap filled: both commit, in nonce order.
    let fill = mint(chain_b, &owner, 1, &bob, 10);
    let (status, body) = submit(api, &fill, true);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "committed", "{body}");
    let fill_height = body["height"].as_u64().unwrap();
    eventually(
        Duration::from_secs(20),
        "the gap's transaction to commit",
        || get(api, &format!("/transactions/{}", gap.hash())).1["status"] == "committed",
    );
    let (_, body) = get(api, &format!("/transactions/{}", gap.hash()));
    assert!(body["height"].as_u64().unwrap() >= fill_height, "{body}");
    committed_txs += 2;
    assert_eq!(account_checked(api, &chain_b, &owner.address()).1, 2);

    // ---- GET /chains/{chain}, after blocks ----
    let (status, info) = get(api, &format!("/chains/{chain_a}"));
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["height"], pay_height);
    assert_eq!(info["supply"], "1000");
    let head = info["height"].as_u64().unwrap();

    // ---- GET /chains/{chain}/blocks/{height} ----
    let mut prev = Hash::ZERO;
    for height in 1..=head {
        let (status, body) = get(api, &format!("/chains/{chain_a}/blocks/{height}"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["chain_id"], chain_a.to_string());
        assert_eq!(body["height"], height);
        assert_eq!(body["proposer"], host.to_string());
        assert_eq!(body["signers"], json!([host.to_string()]));
        let block: Block = from_hex("block", &body, "block_bytes");
        let certificate: Certificate = from_hex("certificate", &body, "certificate_bytes");
        assert_eq!(body["hash"], block.hash().to_string());
        assert_eq!(body["prev_hash"], prev.to_string());
        assert_eq!(body["state_root"], block.header.state_root.to_string());
        assert_eq!(body["timestamp_ms"], block.header.timestamp_ms);
        assert_eq!(block.header.chain_id, chain_a);
        assert_eq!(block.header.height, Height(height));
        assert_eq!(block.header.prev_hash, prev);
        assert_eq!(block.header.tx_root, tx_root(&block.txs));
        assert_eq!(block.header.validators_hash, set.hash());
        assert_eq!(body["txs"].as_array().unwrap().len(), block.txs.len());
        assert_eq!(body["round"], certificate.round.0);
        assert_eq!(certificate.chain_id, chain_a);
        assert_eq!(certificate.height, Height(height));
        assert_eq!(certificate.block_hash, block.hash());
        certificate.verify(&set).unwrap();
        let strangers = ValidatorSet::new(vec![Validator {
            host: other_host,
            power: 1,
        }])
        .unwrap();
        assert!(certificate.verify(&strangers).is_err());
        prev = block.hash();
    }
    assert_eq!(info["head_hash"], prev.to_string());
    let (_, body) = get(api, &format!("/chains/{chain_a}/blocks/{pay_height}"));
    let listed = body["txs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tx| tx["hash"] == pay.hash().to_string())
        .expect("the transfer is listed in its block");
    assert_eq!(listed["kind"], "transfer");
    assert_eq!(listed["sender"], alice.address().to_string());
    assert_eq!(listed["nonce"], 1);
    assert_eq!(listed["to"], bob.address().to_string());
    assert_eq!(listed["amount"], "300");
    let block: Block = from_hex("block", &body, "block_bytes");
    assert!(block.txs.contains(&pay));
    assert_error(
        get(api, &format!("/chains/{chain_a}/blocks/{}", head + 1)),
        404,
        "no block at height",
    );
    assert_error(
        get(api, &format!("/chains/{chain_a}/blocks/{}", u64::MAX)),
        404,
        "no block at height",
    );
    // Height 0 is the genesis: a state, not a block, answered with the genesis.
    let (status, body) = get(api, &format!("/chains/{chain_a}/blocks/0"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chain_id"], chain_a.to_string());
    assert_eq!(body["genesis"], hex_of(&genesis_a));
    assert_error(
        get(api, &format!("/chains/{chain_a}/blocks/abc")),
        400,
        "height",
    );
    assert_error(
        get(api, &format!("/chains/{chain_a}/blocks/-1")),
        400,
        "height",
    );
    assert_error(
        get(api, "/chains/chain1nope/blocks/1"),
        400,
        "not a valid chain id",
    );
    assert_error(
        get(api, &format!("/chains/{unknown_chain}/blocks/1")),
        404,
        "no block at height",
    );

    // ---- GET /chains/{chain}/accounts/{address} ----
    let (balance, nonce, body) = account_checked(api, &chain_a, &alice.address());
    assert_eq!((balance, nonce), (700, 1));
    assert_eq!(body["height"], head);
    // The proof's root is the chain's state root, the one its head block commits to.
    assert_eq!(body["state_root"], info["state_root"]);
    let (_, head_block) = get(api, &format!("/chains/{chain_a}/blocks/{head}"));
    assert_eq!(body["state_root"], head_block["state_root"]);
    assert_eq!(
        account_checked(api, &chain_a, &bob.address()).0,
        300,
        "bob received 300"
    );
    let (balance, nonce, _) = account_checked(api, &chain_a, &owner.address());
    assert_eq!((balance, nonce), (0, 1), "the owner minted to alice");
    // Never touched: zero, with a proof of absence.
    let (balance, nonce, _) = account_checked(api, &chain_a, &stranger.address());
    assert_eq!((balance, nonce), (0, 0));
    assert_error(
        get(api, &format!("/chains/{chain_a}/accounts/acct1nope")),
        400,
        "not a valid account id",
    );
    // A host id is not an account address.
    assert_error(
        get(api, &format!("/chains/{chain_a}/accounts/{host}")),
        400,
        "expected \"acct\"",
    );
    assert_error(
        get(
            api,
            &format!("/chains/chain1nope/accounts/{}", alice.address()),
        ),
        400,
        "not a valid chain id",
    );
    assert_error(
        get(
            api,
            &format!("/chains/{unknown_chain}/accounts/{}", alice.address()),
        ),
        404,
        "not hosted here",
    );

    // ---- GET /chains/{chain}/accounts/{address}/txs ----
    // Alice received the mint and sent the payment: newest first, with heights and times.
    let (status, body) = get(
        api,
        &format!("/chains/{chain_a}/accounts/{}/txs", alice.address()),
    );
    assert_eq!(status, 200, "{body}");
    let txs = body["txs"].as_array().unwrap();
    let hashes: Vec<&str> = txs
        .iter()
        .map(|e| e["tx"]["hash"].as_str().unwrap())
        .collect();
    let expected = [pay.hash().to_string(), mint_a.hash().to_string()];
    assert_eq!(hashes, expected);
    assert_eq!(txs[0]["height"], pay_height);
    assert_eq!(txs[0]["tx"]["kind"], "transfer");
    assert_eq!(txs[0]["tx"]["to"], bob.address().to_string());
    assert_eq!(txs[0]["tx"]["amount"], "300");
    assert!(txs[0]["timestamp_ms"].as_u64().unwrap() > 0);
    assert!(body["next"].is_null(), "one page holds it all: {body}");
    // A page at a time: the cursor of one page starts the next.
    let (_, first) = get(
        api,
        &format!("/chains/{chain_a}/accounts/{}/txs?limit=1", alice.address()),
    );
    assert_eq!(first["txs"][0]["tx"]["hash"], expected[0].as_str());
    let cursor = first["next"].as_str().unwrap();
    let (_, second) = get(
        api,
        &format!(
            "/chains/{chain_a}/accounts/{}/txs?limit=1&before={cursor}",
            alice.address()
        ),
    );
    assert_eq!(second["txs"][0]["tx"]["hash"], expected[1].as_str());
    let (_, bob_history) = get(
        api,
        &format!("/chains/{chain_a}/accounts/{}/txs", bob.address()),
    );
    assert_eq!(
        bob_history["txs"].as_array().unwrap().len(),
        1,
        "bob only received"
    );
    let (_, none) = get(
        api,
        &format!("/chains/{chain_a}/accounts/{}/txs", stranger.address()),
    );
    assert_eq!(none["txs"], json!([]));
    let history_of_alice = format!("/chains/{chain_a}/accounts/{}/txs", alice.address());
    assert_error(
        get(api, &format!("{history_of_alice}?limit=0")),
        400,
        "out of range",
    );
    assert_error(
        get(api, &format!("{history_of_alice}?limit=1001")),
        400,
        "out of range",
    );
    assert_error(
        get(api, &format!("{history_of_alice}?before=7")),
        400,
        "height-position",
    );
    // A cursor is taken only as the API writes it: no sign, no leading zeros, at most 19
    // and 9 digits (what the document's pattern says).
    for bad in [
        "x-1",
        "%2B1-0",
        "01-0",
        "1-00",
        "10000000000000000000-0",
        "1-1000000000",
    ] {
        assert_error(
            get(api, &format!("{history_of_alice}?before={bad}")),
            400,
            "height-position",
        );
    }
    let (status, body) = get(
        api,
        &format!("{history_of_alice}?before=9999999999999999999-999999999"),
    );
    assert_eq!(status, 200, "the largest cursor of the pattern: {body}");
    assert_error(
        get(
            api,
            &format!("/chains/{unknown_chain}/accounts/{}/txs", alice.address()),
        ),
        404,
        "not hosted here",
    );

    // ---- GET /chains ----
    let (status, body) = get(api, "/chains");
    assert_eq!(status, 200, "{body}");
    // In the order of the ids' bytes (not of their bech32 text).
    let mut sorted = [chain_a, chain_b, chain_c];
    sorted.sort();
    let ids: Vec<String> = sorted.iter().map(ToString::to_string).collect();
    let listed: Vec<&str> = body["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chain_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids, "every chain, in id order");
    assert!(body["next"].is_null());
    let a = body["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain_id"] == chain_a.to_string())
        .unwrap();
    assert_eq!(a["height"], info["height"]);
    let (_, first) = get(api, "/chains?limit=2");
    assert_eq!(first["chains"].as_array().unwrap().len(), 2);
    let after = first["next"].as_str().unwrap();
    assert_eq!(after, ids[1]);
    let (_, rest) = get(api, &format!("/chains?limit=2&after={after}"));
    assert_eq!(rest["chains"][0]["chain_id"], ids[2].as_str());
    assert!(rest["next"].is_null());
    assert_error(get(api, "/chains?limit=0"), 400, "out of range");
    assert_error(get(api, "/chains?after=nope"), 400, "not a valid chain id");

    // ---- GET /events ----
    assert_error(get(api, "/events?chain=nope"), 400, "not a valid chain id");
    assert_error(get(api, "/events?chain="), 400, "chain id");
    let (mut stream, head_text) = open_events(api, &format!("?chain={chain_a}"));
    assert!(head_text.starts_with("HTTP/1.1 200"), "{head_text}");
    assert!(
        head_text.to_lowercase().contains("text/event-stream"),
        "{head_text}"
    );
    // A commit on another chain is filtered out; one on chain A is announced.
    let elsewhere_tx = mint(chain_b, &owner, 3, &bob, 5);
    let (status, body) = submit(api, &elsewhere_tx, true);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "committed", "{body}");
    let watched = transfer(chain_a, &alice, 2, &bob, 1);
    let (status, body) = submit(api, &watched, true);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "committed", "{body}");
    let watched_height = body["height"].as_u64().unwrap();
    committed_txs += 2;
    let mut text = String::new();
    read_until(&mut stream, &mut text, Duration::from_secs(20), |text| {
        text.contains("event: head") && text.contains("event: tx") && text.contains("committed")
    });
    drop(stream);
    assert!(text.contains(&watched.hash().to_string()), "{text}");
    assert!(
        text.contains(&format!("\"height\":{watched_height}")),
        "{text}"
    );
    let data: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .collect();
    assert!(!data.is_empty(), "{text}");
    for line in &data {
        let event: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(event["chain_id"], chain_a.to_string(), "{text}");
    }
    assert!(!text.contains(&elsewhere_tx.hash().to_string()), "{text}");
    // Without a filter: every chain.
    let (stream, head_text) = open_events(api, "");
    assert!(head_text.starts_with("HTTP/1.1 200"), "{head_text}");
    drop(stream);

    // ---- Rejection: refused at admission, or admitted and then rejected by the ledger ----
    // Beyond the sender's balance: refused at once, with the numbers.
    let overdraft = transfer(chain_a, &alice, 3, &bob, 10_000);
    assert_error(submit(api, &overdraft, true), 422, "insufficient balance: ");
    let (balance, nonce, _) = account_checked(api, &chain_a, &alice.address());
    assert_eq!((balance, nonce), (699, 2), "a refusal changes nothing");
    // Admission pays a transaction from what the sender's pending ones of lower nonces leave:
    // the owner's transfer at nonce 4, waiting for nonce 3, is admitted with its balance of
    // 50; nonce 3 then fills the gap with a transfer of the same 50, as a block takes them;
    // nonce 4 is left unpaid, and rejected by the ledger once its turn comes.
    let refill = mint(chain_a, &owner, 2, &owner, 50);
    let (status, body) = submit(api, &refill, true);
    assert_eq!(body["status"], "committed", "{status} {body}");
    let unpaid = transfer(chain_a, &owner, 4, &bob, 50);
    let (status, body) = submit(api, &unpaid, false);
    assert_eq!(status, 202, "{body}");
    let filler = transfer(chain_a, &owner, 3, &bob, 50);
    let (status, body) = submit(api, &filler, true);
    assert_eq!(body["status"], "committed", "{status} {body}");
    eventually(
        Duration::from_secs(20),
        "the unpaid transfer to be rejected",
        || get(api, &format!("/transactions/{}", unpaid.hash())).1["status"] == "rejected",
    );
    let (status, body) = get(api, &format!("/transactions/{}", unpaid.hash()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chain_id"], chain_a.to_string());
    assert_eq!(body["height"], Value::Null);
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("insufficient balance"),
        "{body}"
    );
    let (balance, nonce, _) = account_checked(api, &chain_a, &owner.address());
    assert_eq!((balance, nonce), (0, 3), "a rejection changes nothing");
    committed_txs += 2;

    // ---- GET /metrics ----
    let (status, body) = get(api, "/metrics");
    assert_eq!(status, 200);
    let text = body.as_str().unwrap();
    assert_eq!(metric(text, "myriad_chains_hosted"), chains_created as f64);
    assert_eq!(
        metric(text, "myriad_txs_committed_total"),
        committed_txs as f64
    );
    assert!(metric(text, "myriad_blocks_committed_total") >= head as f64);
    assert!(metric(text, "myriad_signatures_verified_total") >= committed_txs as f64);
    for reason in ["unknown_sender", "nonce_too_far", "would_fail"] {
        let name = format!("myriad_admit_refusals_total{{reason=\"{reason}\",origin=\"client\"}}");
        assert_eq!(metric(text, &name), 1.0, "{reason}");
    }
    let name = "myriad_admit_refusals_total{reason=\"insufficient_balance\",origin=\"client\"}";
    assert_eq!(metric(text, name), 2.0);
    assert!(
        text.contains("# TYPE myriad_txs_committed counter"),
        "{text}"
    );

    // ---- GET /health, with chains ----
    let (status, body) = get(api, "/health");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "status": "ok", "host": host.to_string(), "chains": chains_created })
    );

    // ---- POST /transactions?wait=true past WAIT_MAX: 504, still pending ----
    let (answer, waited) = stuck_wait.join().unwrap();
    assert_error(answer, 504, "still pending");
    assert!(waited >= myriad_api::WAIT_MAX, "answered after {waited:?}");
    let (status, body) = get(api, &format!("/transactions/{stuck_hash}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["chain_id"], chain_c.to_string());

    served.stop();
}

/// GET an object (`escrows`, `channels` or `allowlists`) and check its proof against the
/// state root the answer names, and that the proof fails for anything else.
fn object_checked(api: SocketAddr, chain: &ChainId, path: &str, key: ObjectKey) -> (Object, Value) {
    let (status, body) = get(api, &format!("/chains/{chain}/{path}"));
    assert_eq!(status, 200, "{body}");
    let root: Hash = body["state_root"].as_str().unwrap().parse().unwrap();
    let object: Object = from_hex("object", &body, "object");
    let proof: StateProof = from_hex("proof", &body, "proof");
    assert_eq!(object.key(), key);
    assert!(verify_object(&root, &key, Some(&object), &proof), "{body}");
    assert!(!verify_object(&root, &key, None, &proof));
    (object, body)
}

#[test]
fn escrows_channels_and_allowlists_are_served_with_their_proofs() {
    let served = Served::start(ApiLimits::default());
    let api = served.api;
    let (owner, alice, bob) = (key(50), key(51), key(52));
    let signed = genesis_now(&owner, &[(served.host, 1)], 1);
    let chain = signed.genesis.chain_id();
    assert_eq!(create_chain(api, &signed).0, 201);
    let committed = |tx: &SignedTransaction| {
        let (status, body) = submit(api, tx, true);
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("committed")),
            "{body}"
        );
    };
    committed(&mint(chain, &owner, 1, &alice, 1_000));
    let in_an_hour = myriad_client::genesis::now_ms() + 3_600_000;

    // An escrow, open, then claimed with its secret, which the API shows.
    let secret = Secret([9; 32]);
    let lock = TxKind::Lock {
        to: bob.address(),
        amount: 300,
        hash_lock: secret.hash_lock(),
        expires_at_ms: in_an_hour,
        memo: Memo::new(b"quote 42".to_vec()).unwrap(),
    };
    committed(&tx(chain, &alice, 1, lock));
    let escrow = EscrowId::derive(&chain, &alice.address(), 1);
    let key = ObjectKey::Escrow(escrow);
    let (_, body) = object_checked(api, &chain, &format!("escrows/{escrow}"), key);
    assert_eq!(body["escrow"]["state"], "open");
    assert_eq!(body["escrow"]["amount"], "300");
    assert_eq!(body["escrow"]["to"], bob.address().to_string());
    assert_eq!(body["escrow"]["hash_lock"], secret.hash_lock().to_string());
    assert_eq!(body["escrow"]["memo"], hex::encode(b"quote 42"));
    assert!(body["escrow"]["secret"].is_null());
    committed(&tx(chain, &bob, 1, TxKind::Claim { escrow, secret }));
    let (_, body) = object_checked(api, &chain, &format!("escrows/{escrow}"), key);
    assert_eq!(body["escrow"]["state"], "claimed");
    assert_eq!(body["escrow"]["secret"], secret.to_string());
    // A second claim is refused with the reason.
    let (status, body) = submit(
        api,
        &tx(chain, &bob, 2, TxKind::Claim { escrow, secret }),
        true,
    );
    assert!(
        status == 422 && body["error"].as_str().unwrap().contains("already claimed"),
        "{status} {body}"
    );

    // A channel and an allowlist.
    let open = TxKind::OpenChannel {
        payee: bob.address(),
        amount: 100,
        expires_at_ms: in_an_hour,
    };
    committed(&tx(chain, &alice, 2, open));
    let channel = ChannelId::derive(&chain, &alice.address(), 2);
    let (_, body) = object_checked(
        api,
        &chain,
        &format!("channels/{channel}"),
        ObjectKey::Channel(channel),
    );
    assert_eq!(body["channel"]["payee"], bob.address().to_string());
    assert_eq!(body["channel"]["state"], "open");
    let list = TxKind::SetAllowlist {
        addresses: BoundedVec::new(vec![bob.address()]).unwrap(),
        delay_ms: 60_000,
    };
    committed(&tx(chain, &alice, 3, list));
    let (_, body) = object_checked(
        api,
        &chain,
        &format!("allowlists/{}", alice.address()),
        ObjectKey::Allowlist(alice.address()),
    );
    assert_eq!(
        body["allowlist"]["addresses"],
        json!([bob.address().to_string()])
    );
    assert_eq!(body["allowlist"]["delay_ms"], 60_000);

    // What is not there, and what is not an id.
    let unknown = EscrowId([7; 32]);
    assert_error(
        get(api, &format!("/chains/{chain}/escrows/{unknown}")),
        404,
        "there is no escrow1",
    );
    assert_error(
        get(api, &format!("/chains/{chain}/escrows/{}", alice.address())),
        400,
        "escrow id",
    );
    assert_error(
        get(
            api,
            &format!("/chains/{chain}/allowlists/{}", bob.address()),
        ),
        404,
        "allowlist of",
    );
}

#[test]
fn quotes_are_posted_served_best_first_rated_and_streamed() {
    let served = Served::start(ApiLimits::default());
    let api = served.api;
    let owner = key(60);
    let signed = genesis_now(&owner, &[(served.host, 1)], 2);
    let a = signed.genesis.chain_id();
    assert_eq!(create_chain(api, &signed).0, 201);
    // B is validated elsewhere: a quote needs one chain of its pair hosted here.
    let b = ChainId([61; 32]);
    let expires = myriad_client::genesis::now_ms() + 120_000;
    let (x, y) = (key(62), key(63));
    let post_quote = |quote: &SignedQuote| post(api, "/quotes", &json!({ "quote": hex_of(quote) }));

    let first = quote(&x, (a, b), (10, 20), 1, expires);
    let (status, body) = post_quote(&first);
    assert_eq!(
        (status, &body["admission"]),
        (200, &json!("added")),
        "{body}"
    );
    assert_eq!(body["hash"], first.hash().to_string());
    assert_eq!(post_quote(&quote(&y, (a, b), (10, 25), 1, expires)).0, 200);
    let (status, body) = post_quote(&quote(&x, (a, b), (10, 22), 2, expires));
    assert_eq!(
        (status, &body["admission"]),
        (200, &json!("replaced")),
        "{body}"
    );
    assert_error(post_quote(&first), 422, "not older than 1");
    let mut forged = quote(&x, (a, b), (10, 99), 3, expires);
    forged.quote.rate.get = 98;
    assert_error(post_quote(&forged), 422, "signature does not verify");
    assert_error(
        post_quote(&quote(&x, (b, a), (1, 1), 1, expires - 200_000)),
        422,
        "expired",
    );
    assert_error(
        post_quote(&quote(&x, (b, a), (1, 1), 1, expires + 600_000)),
        422,
        "more than 300000 ms after now",
    );
    assert_error(
        post_quote(&quote(&x, (b, a), (0, 1), 1, expires)),
        422,
        "zero side",
    );
    let elsewhere = ChainId([64; 32]);
    assert_error(
        post_quote(&quote(&x, (b, elsewhere), (1, 1), 1, expires)),
        404,
        "is hosted here",
    );
    assert_error(
        post(api, "/quotes", &json!({ "quote": "zz" })),
        400,
        "not hex",
    );
    assert_error(
        post(api, "/quotes", &json!({ "quote": "00" })),
        400,
        "quote",
    );
    // A body announced over the 1 MiB limit is refused before it is read.
    let mut stream = TcpStream::connect(api).unwrap();
    write!(
        stream,
        "POST /quotes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    read_until(&mut stream, &mut answer, Duration::from_secs(10), |t| {
        t.contains("over the limit")
    });
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Best first, with the depth asked.
    let (status, body) = get(api, &format!("/quotes?give={a}&get={b}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["live"], 2);
    let rates: Vec<&str> = body["quotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["rate"]["price"].as_str().unwrap())
        .collect();
    assert_eq!(rates, ["2.500000000000", "2.200000000000"]);
    assert_eq!(body["quotes"][0]["exchanger"], y.address().to_string());
    let (_, body) = get(api, &format!("/quotes?give={a}&get={b}&depth=1"));
    assert_eq!(
        (
            body["live"].as_u64(),
            body["quotes"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    assert_error(
        get(api, &format!("/quotes?give={a}&get={b}&depth=0")),
        400,
        "depth 0",
    );
    assert_error(
        get(api, &format!("/quotes?give={a}&get=nope")),
        400,
        "chain id",
    );
    let (_, body) = get(api, &format!("/quotes?give={b}&get={a}"));
    assert_eq!(body["live"], 0);
    // The client checks each quote's signature itself.
    let client = myriad_client::client::Client::new(&api.to_string());
    let checked = client.quotes(&a, &b, 10).unwrap();
    assert_eq!(checked[0].quote.exchanger, y.address());
    assert_eq!(checked[1], quote(&x, (a, b), (10, 22), 2, expires));

    // The reference rate: both sides, the volume-weighted median.
    assert_eq!(post_quote(&quote(&x, (b, a), (30, 10), 2, expires)).0, 200);
    let (status, body) = get(api, &format!("/rates/{a}?in={b}"));
    assert_eq!(status, 200, "{body}");
    // Sells of A at 2.2 and 2.5 (1,000,000 each), a buy at 3.0 (333,333): the median is 2.5.
    assert_eq!(body["median"]["price"], "2.500000000000");
    assert_eq!(body["bid"]["price"], "2.500000000000");
    assert_eq!(body["ask"]["price"], "3.000000000000");
    let spread = body["spread_bps"].as_f64().unwrap();
    assert!((spread - 1666.67).abs() < 0.01, "{spread}");
    assert_eq!(body["quotes"].as_array().unwrap().len(), 3);
    assert_error(
        get(api, &format!("/rates/{a}?in={elsewhere}")),
        404,
        "no live quote",
    );
    assert_error(get(api, &format!("/rates/{a}")), 400, "in");

    // A batch: one result per quote, each with the status it would have had alone.
    assert_error(post(api, "/quotes", &json!({ "quotes": [] })), 400, "empty");
    let many = vec![hex_of(&first); 1001];
    assert_error(
        post(api, "/quotes", &json!({ "quotes": many })),
        413,
        "at most 1000",
    );
    let batch = [
        hex_of(&quote(&key(66), (a, elsewhere), (10, 1), 1, expires)),
        hex_of(&forged),
        "zz".to_owned(),
    ];
    let (status, body) = post(api, "/quotes", &json!({ "quotes": batch }));
    assert_eq!(status, 200, "{body}");
    let codes: Vec<u64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [200, 422, 400], "{body}");
    assert_eq!(body["results"][0]["taken"]["admission"], "added");

    // A pair's changes, streamed: its book now, then again when a quote arrives.
    let (mut stream, head) = open_stream(api, &format!("/quotes/events?give={a}&get={b}"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The first event may have come with the head.
    let mut text = head;
    read_until(&mut stream, &mut text, Duration::from_secs(10), |t| {
        t.contains("event: quotes") && t.contains(&y.address().to_string())
    });
    let better = quote(&key(65), (a, b), (10, 30), 1, expires);
    assert_eq!(post_quote(&better).0, 200);
    read_until(&mut stream, &mut text, Duration::from_secs(10), |t| {
        t.contains(&better.hash().to_string())
    });
    let (_, body) = get(api, "/metrics");
    let text = body.as_str().unwrap();
    assert_eq!(metric(text, "myriad_quotes_taken_total"), 6.0);
    for (reason, count) in [
        ("signature", 2.0),
        ("not_newer", 1.0),
        ("expired", 1.0),
        ("invalid", 2.0),
    ] {
        let name = format!("myriad_quote_refusals_total{{reason=\"{reason}\",origin=\"client\"}}");
        assert_eq!(metric(text, &name), count, "{reason}");
    }
}

/// GET /chains/{chain}/validators?height=…, checked: the set's encoding decodes to a set
/// that hashes to the hash given and is the list given.
fn validators_at(api: SocketAddr, chain: &ChainId, height: u64) -> (ValidatorSet, Value) {
    let (status, body) = get(api, &format!("/chains/{chain}/validators?height={height}"));
    assert_eq!(status, 200, "height {height}: {body}");
    assert_eq!(body["chain_id"], chain.to_string());
    assert_eq!(body["height"], height);
    let set: ValidatorSet = from_hex("validator set", &body, "set");
    assert_eq!(body["hash"], set.hash().to_string());
    assert_eq!(body["total_power"], set.total_power());
    let listed: Vec<(String, u64)> = body["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["host"].as_str().unwrap().to_owned(),
                v["power"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = set
        .validators()
        .iter()
        .map(|v| (v.host.to_string(), v.power))
        .collect();
    assert_eq!(listed, expected);
    (set, body)
}

/// What a verifier that did not follow a chain from its start needs: the signed genesis
/// (also as block 0), the validator set in force at every height across a change of
/// validators, with each block's certificate checked against it, and a head whose every
/// metadata field checks against its state root; with the refusals of bad input, and of
/// geneses a host does not take (a cap of zero, a time far from its clock).
#[test]
fn a_verifier_gets_the_genesis_and_the_validators_of_any_height() {
    let served = Served::start(ApiLimits::default());
    let (api, host) = (served.api, served.host);
    let owner = key(50);
    let holder = key(51);
    let signed = genesis_now(&owner, &[(host, 1)], 1);
    let chain = signed.genesis.chain_id();
    assert_eq!(create_chain(api, &signed).0, 201);

    // ---- GET /chains/{chain}/genesis and block 0 ----
    let (status, genesis) = get(api, &format!("/chains/{chain}/genesis"));
    assert_eq!(status, 200, "{genesis}");
    let served_genesis: SignedGenesis = from_hex("genesis", &genesis, "genesis");
    assert_eq!(served_genesis, signed);
    assert_eq!(genesis["chain_id"], chain.to_string());
    assert_eq!(genesis["owner"], owner.address().to_string());
    assert_eq!(genesis["created_at_ms"], signed.genesis.created_at_ms);
    assert_eq!(genesis["salt"], 1);
    assert_eq!(genesis["max_supply"], Value::Null);
    let genesis_set = signed.verify().unwrap();
    assert_eq!(genesis["validators_hash"], genesis_set.hash().to_string());
    let genesis_root = myriad_ledger::ChainState::from_genesis(&signed)
        .unwrap()
        .state_root();
    assert_eq!(genesis["state_root"], genesis_root.to_string());
    let (status, block_zero) = get(api, &format!("/chains/{chain}/blocks/0"));
    assert_eq!(status, 200, "{block_zero}");
    assert_eq!(block_zero, genesis, "block 0 is the genesis");
    let (status, head) = get(api, &format!("/chains/{chain}"));
    assert_eq!(status, 200, "{head}");
    assert_eq!(head["state_root"], genesis_root.to_string());

    // ---- a block, a change of validators, a block signed by the new set ----
    let client = myriad_client::client::Client::new(&api.to_string());
    assert_eq!(client.genesis(&chain).unwrap(), signed);
    let (info, meta) = client.verified_chain(&chain).unwrap();
    assert_eq!((info.height, meta.supply), (0, 0));
    let commit = |tx: &SignedTransaction| {
        let (status, body) = submit(api, tx, true);
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("committed")),
            "{body}"
        );
        body["height"].as_u64().unwrap()
    };
    assert_eq!(commit(&mint(chain, &owner, 1, &holder, 900)), 1);
    let heavier = BoundedVec::new(vec![Validator { host, power: 3 }]).unwrap();
    let change = tx(
        chain,
        &owner,
        2,
        TxKind::SetValidators {
            validators: heavier,
        },
    );
    assert_eq!(commit(&change), 2);
    assert_eq!(commit(&burn(chain, &holder, 1, 100)), 3);
    let new_set = ValidatorSet::new(vec![Validator { host, power: 3 }]).unwrap();

    // ---- GET /chains/{chain}/validators ----
    for height in 0..=2 {
        let (set, body) = validators_at(api, &chain, height);
        assert_eq!(set, genesis_set, "height {height}");
        assert_eq!(
            (body["from_height"].as_u64(), body["until_height"].as_u64()),
            (Some(0), Some(3))
        );
    }
    for height in [3, 4] {
        let (set, body) = validators_at(api, &chain, height);
        assert_eq!(set, new_set, "height {height}");
        assert_eq!(body["from_height"], 3);
        assert_eq!(body["until_height"], Value::Null);
    }
    let (status, next) = get(api, &format!("/chains/{chain}/validators"));
    assert_eq!(status, 200, "{next}");
    assert_eq!(
        (next["height"].as_u64(), next["hash"].as_str()),
        (Some(4), Some(new_set.hash().to_string().as_str()))
    );
    // Each block's certificate verifies against the set in force at its height, which its
    // header names.
    for height in 1..=3 {
        let (status, body) = get(api, &format!("/chains/{chain}/blocks/{height}"));
        assert_eq!(status, 200, "{body}");
        let block: Block = from_hex("block", &body, "block_bytes");
        let certificate: Certificate = from_hex("certificate", &body, "certificate_bytes");
        let (set, _) = validators_at(api, &chain, height);
        assert_eq!(block.header.validators_hash, set.hash(), "block {height}");
        certificate.verify(&set).unwrap();
        let (client_set, _) = client.validators(&chain, Some(height)).unwrap();
        assert_eq!(client_set, set);
    }
    assert_error(
        get(api, &format!("/chains/{chain}/validators?height=5")),
        404,
        "not known yet",
    );
    for bad in ["abc", "-1", "1.5", "18446744073709551616"] {
        assert_error(
            get(api, &format!("/chains/{chain}/validators?height={bad}")),
            400,
            "height",
        );
    }
    let unknown = genesis_now(&owner, &[(host, 1)], 2).genesis.chain_id();
    for path in ["genesis", "validators", "blocks/0"] {
        assert_error(
            get(api, &format!("/chains/{unknown}/{path}")),
            404,
            "not hosted here",
        );
        assert_error(
            get(api, &format!("/chains/chain1nope/{path}")),
            400,
            "chain id",
        );
    }
    assert!(matches!(
        client.genesis(&unknown),
        Err(myriad_client::verify::VerifyError::Client(
            myriad_client::client::ClientError::NotFound { .. }
        ))
    ));

    // ---- GET /chains/{chain}: every field of the metadata, proven by the state root ----
    let (status, head) = get(api, &format!("/chains/{chain}"));
    assert_eq!(status, 200, "{head}");
    for (field, value) in [
        ("height", json!(3)),
        ("supply", json!("800")),
        ("minted", json!("900")),
        ("burned", json!("100")),
    ] {
        assert_eq!(head[field], value, "{field}: {head}");
    }
    assert_eq!(head["validators_hash"], new_set.hash().to_string());
    assert_eq!(head["next_validators"], Value::Null);
    let info: myriad_api_types::ChainInfo = serde_json::from_value(head.clone()).unwrap();
    let meta = myriad_client::verify::check_chain_info(&info).unwrap();
    assert_eq!((meta.minted, meta.burned, meta.supply), (900, 100, 800));
    let (verified, meta) = client.verified_chain(&chain).unwrap();
    assert_eq!((verified.height, meta.supply), (3, 800));
    let mut lying = info;
    lying.supply = "900".into();
    assert!(myriad_client::verify::check_chain_info(&lying).is_err());

    // ---- geneses a host does not take ----
    let capped_at_zero = SignedGenesis::sign(
        myriad_types::Genesis {
            max_supply: Some(0),
            ..genesis_now(&owner, &[(host, 1)], 3).genesis
        },
        &owner,
    );
    assert_error(
        create_chain(api, &capped_at_zero),
        400,
        "caps the supply at 0",
    );
    let stale = SignedGenesis::sign(
        myriad_types::Genesis {
            created_at_ms: now_ms() - 3_600_000,
            ..genesis_now(&owner, &[(host, 1)], 4).genesis
        },
        &owner,
    );
    assert_error(create_chain(api, &stale), 400, "before this host's clock");
    served.stop();
}

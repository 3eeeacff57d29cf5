#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The API under hostile and careless clients: slow and idle connections, bodies that are too
//! large or never come, too many connections, requests it cannot take; and batches of
//! transactions, each answered on its own. The bounds are shortened so nothing waits long.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::Served;
use myriad_api::{ApiLimits, SUBMIT_BATCH_TXS_MAX};
use myriad_host::SENDER_TXS_MAX;
use myriad_testing::*;
use myriad_types::{SignedTransaction, Transaction, TxKind};
use serde_json::{json, Value};

/// Limits whose timeouts a test can wait out.
fn short() -> ApiLimits {
    ApiLimits {
        header_read: Duration::from_millis(600),
        body_read: Duration::from_millis(600),
        idle: Duration::from_millis(1500),
        ..ApiLimits::default()
    }
}

fn connect(api: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(api).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    stream
}

/// Reads what arrives within `wait`; `true` if the server closed the connection by then.
fn read_for(stream: &mut TcpStream, wait: Duration, text: &mut String) -> bool {
    let start = Instant::now();
    let mut buffer = [0u8; 4096];
    while start.elapsed() < wait {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buffer[..n])),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Waits until the server closes `stream`; how long that took, and what it sent before.
fn closed_after(stream: &mut TcpStream, within: Duration) -> (Duration, String) {
    let start = Instant::now();
    let mut text = String::new();
    let closed = read_for(stream, within, &mut text);
    assert!(closed, "not closed within {within:?}; received:\n{text}");
    (start.elapsed(), text)
}

/// The status and JSON body of a raw HTTP answer.
fn parse_answer(text: &str) -> (u16, Value) {
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Sends `request` as is (the caller adds `Connection: close`) and reads the answer to its end.
fn exchange(api: SocketAddr, request: &[u8]) -> (u16, Value) {
    let mut stream = connect(api);
    stream.write_all(request).unwrap();
    let (_, text) = closed_after(&mut stream, Duration::from_secs(10));
    parse_answer(&text)
}

#[track_caller]
fn assert_json_error(answer: (u16, Value), status: u16, needle: &str) {
    let (got, body) = answer;
    assert_eq!(got, status, "expected {status}, got {got}: {body}");
    let error = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no JSON `error` in {body}"));
    assert!(
        error.contains(needle),
        "{error:?} does not mention {needle:?}"
    );
}

/// A request on a kept-alive connection, read until its JSON body has arrived.
fn request_on(stream: &mut TcpStream, path: &str) -> (u16, Value) {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    let start = Instant::now();
    while !(text.contains("\r\n\r\n") && text.ends_with('}')) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no answer: {text}"
        );
        assert!(
            !read_for(stream, Duration::from_millis(100), &mut text),
            "closed; received:\n{text}"
        );
    }
    parse_answer(&text)
}

/// A connection from `local` (any address of the loopback range) to the API.
fn connect_from(served: &Served, local: IpAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    let stream = served
        .runtime
        .block_on(socket.connect(served.api))
        .unwrap()
        .into_std()
        .unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    stream
}

/// The value of a sample without labels in Prometheus' text format; `None` while the API
/// does not answer `/metrics` (its connection refused).
fn metric(api: SocketAddr, name: &str) -> Option<f64> {
    let (status, body) = get(api, "/metrics");
    if status != 200 {
        return None;
    }
    let text = body.as_str().unwrap();
    let value = text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().unwrap())
    });
    assert!(value.is_some(), "no sample {name} in:\n{text}");
    value
}

#[test]
fn a_request_head_sent_a_byte_at_a_time_is_cut_after_the_header_timeout() {
    let limits = short();
    let served = Served::start(limits);
    let mut stream = connect(served.api);
    let start = Instant::now();
    let mut text = String::new();
    let mut closed = false;
    // A byte every 100 ms, never the end of the head: only the head's own bound stops it.
    for byte in b"GET /health HTTP/1.1\r\nX-Slow: "
        .iter()
        .chain([b'a'; 200].iter())
    {
        if stream.write_all(&[*byte]).is_err()
            || read_for(&mut stream, Duration::from_millis(100), &mut text)
        {
            closed = true;
            break;
        }
    }
    let elapsed = start.elapsed();
    assert!(closed, "still open after {elapsed:?}");
    assert!(text.is_empty(), "answered: {text}");
    assert!(elapsed >= limits.header_read, "closed after {elapsed:?}");
    assert!(
        elapsed < limits.header_read + Duration::from_secs(2),
        "closed after {elapsed:?}"
    );
    served.stop();
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout_and_not_before() {
    let limits = short();
    let served = Served::start(limits);
    // Nothing sent at all.
    let mut silent = connect(served.api);
    let (elapsed, _) = closed_after(&mut silent, Duration::from_secs(5));
    assert!(
        elapsed >= limits.idle - Duration::from_millis(100),
        "{elapsed:?}"
    );
    // Kept alive between requests longer than the header timeout, shorter than the idle one.
    let mut kept = connect(served.api);
    assert_eq!(request_on(&mut kept, "/health").0, 200);
    std::thread::sleep(limits.header_read + Duration::from_millis(300));
    assert_eq!(request_on(&mut kept, "/health").0, 200);
    // Then left idle.
    let (elapsed, text) = closed_after(&mut kept, Duration::from_secs(5));
    assert!(text.is_empty(), "{text}");
    // Reading the answer took a little of the idle time; far less than the idle timeout
    // exceeds the header timeout.
    assert!(
        elapsed >= limits.idle - Duration::from_millis(300),
        "{elapsed:?}"
    );
    served.stop();
}

#[test]
fn the_event_stream_outlives_the_idle_and_body_timeouts() {
    let limits = short();
    let served = Served::start(limits);
    let api = served.api;
    let owner = key(50);
    let chain_genesis = genesis_now(&owner, &[(served.host, 1)], 1);
    let chain = chain_genesis.genesis.chain_id();
    assert_eq!(create_chain(api, &chain_genesis).0, 201);
    let mut events = connect(api);
    write!(
        events,
        "GET /events?chain={chain} HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let quiet = limits.idle + limits.header_read + limits.body_read;
    assert!(!read_for(&mut events, quiet, &mut text), "cut: {text}");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let (status, body) = submit(api, &mint(chain, &owner, 1, &key(51), 5), true);
    assert_eq!(status, 200, "{body}");
    let start = Instant::now();
    while !text.contains("event: head") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no head event: {text}"
        );
        assert!(
            !read_for(&mut events, Duration::from_millis(100), &mut text),
            "cut: {text}"
        );
    }
    served.stop();
}

#[test]
fn a_body_announced_over_the_limit_is_refused_at_once() {
    let served = Served::start(ApiLimits::default());
    let mut stream = connect(served.api);
    let start = Instant::now();
    stream
        .write_all(b"POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{\"tx\":\"00")
        .unwrap();
    let (_, text) = closed_after(&mut stream, Duration::from_secs(5));
    assert!(start.elapsed() < myriad_api::BODY_READ_TIMEOUT / 2);
    assert_json_error(
        parse_answer(&text),
        413,
        "10000000000 bytes, over the limit of 1048576 bytes",
    );
    // Without a length announced, the body is read up to the limit.
    let over = myriad_api::BODY_BYTES_MAX + 1;
    let chunked = format!(
        "POST /chains HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{over:x}\r\n{}\r\n0\r\n\r\n",
        "0".repeat(over)
    );
    assert_json_error(
        exchange(served.api, chunked.as_bytes()),
        413,
        "longer, over the limit of 65536 bytes",
    );
    served.stop();
}

#[test]
fn a_body_that_stalls_is_answered_408_and_the_connection_closed() {
    let limits = short();
    let served = Served::start(limits);
    let mut stream = connect(served.api);
    let start = Instant::now();
    stream
        .write_all(b"POST /chains HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"genesis\"")
        .unwrap();
    let (elapsed, text) = closed_after(&mut stream, Duration::from_secs(5));
    assert!(elapsed >= limits.body_read, "{elapsed:?}");
    assert!(start.elapsed() < limits.body_read + Duration::from_secs(2));
    assert_json_error(parse_answer(&text), 408, "did not arrive within");
    // A body announced to an endpoint that refuses the request without reading it: the
    // answer closes the connection rather than wait for the body.
    for head in [
        "POST /health",
        "POST /nothing",
        "POST /transactions?wait=maybe",
    ] {
        let mut stream = connect(served.api);
        write!(stream, "{head} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{").unwrap();
        let (elapsed, text) = closed_after(&mut stream, Duration::from_secs(5));
        assert!(
            elapsed < limits.body_read,
            "{head}: closed after {elapsed:?}"
        );
        let (status, _) = parse_answer(&text);
        assert!([400, 404, 405].contains(&status), "{head}: {text}");
    }
    served.stop();
}

#[test]
fn connections_past_either_bound_are_refused_counted_and_admitted_again_when_freed() {
    let served = Served::start(ApiLimits {
        connections_max: 4,
        connections_per_address_max: 2,
        ..ApiLimits::default()
    });
    let [a, b, c]: [IpAddr; 3] = [[127, 0, 0, 1], [127, 0, 0, 2], [127, 0, 0, 3]].map(Into::into);
    let mut open = Vec::new();
    for from in [a, a, b, b] {
        let mut stream = connect_from(&served, from);
        assert_eq!(request_on(&mut stream, "/health").0, 200);
        open.push(stream);
    }
    // A third from `a` is over its address's bound; one from `c` over the total.
    for from in [a, c] {
        let mut refused = connect_from(&served, from);
        let (_, text) = closed_after(&mut refused, Duration::from_secs(2));
        assert_json_error(parse_answer(&text), 503, "too many connections");
    }
    // A connection closed frees its place.
    drop(open.remove(0));
    eventually(Duration::from_secs(5), "a freed place to be taken", || {
        let mut stream = connect_from(&served, c);
        let mut text = String::new();
        let closed = read_for(&mut stream, Duration::from_millis(100), &mut text);
        if closed {
            return false;
        }
        assert_eq!(request_on(&mut stream, "/health").0, 200);
        open.push(stream);
        true
    });
    // Refusals are counted; `/metrics` needs a place too.
    drop(open.remove(0));
    eventually(Duration::from_secs(5), "the refusals to be counted", || {
        metric(served.api, "myriad_api_connections_refused_total").is_some_and(|n| n >= 2.0)
    });
    drop(open);
    // Only the connection asking is left.
    eventually(Duration::from_secs(5), "the connections to close", || {
        metric(served.api, "myriad_api_connections") == Some(1.0)
    });
    served.stop();
}

#[test]
fn requests_the_api_cannot_take_get_json_errors_that_do_not_echo_them() {
    let served = Served::start(ApiLimits::default());
    let api = served.api;
    let request = |head: &str, body: &str| {
        let text = format!(
            "{head}\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        exchange(api, text.as_bytes())
    };
    assert_json_error(
        request(
            "POST /transactions HTTP/1.1\r\nContent-Type: text/plain",
            "{}",
        ),
        415,
        "Content-Type: application/json",
    );
    assert_json_error(request("POST /chains HTTP/1.1", "{}"), 415, "must be JSON");
    assert_json_error(request("DELETE /health HTTP/1.1", ""), 405, "method DELETE");
    assert_json_error(request("GET /transactions HTTP/1.1", ""), 405, "method GET");
    assert_json_error(
        request("GET /nothing/here HTTP/1.1", ""),
        404,
        "no such endpoint",
    );
    let long_path = format!(
        "GET /chains/{} HTTP/1.1",
        "c".repeat(myriad_api::URI_BYTES_MAX)
    );
    assert_json_error(request(&long_path, ""), 414, "over the limit of 2048");
    let big_header = format!(
        "GET /health HTTP/1.1\r\nX-Big: {}",
        "h".repeat(myriad_api::HEADERS_BYTES_MAX)
    );
    assert_json_error(request(&big_header, ""), 431, "over the limit of 8192");
    // Long input quoted back by the parsers is cut.
    let long = "x".repeat(1500);
    let answers = [
        get(api, &format!("/chains/{long}")),
        get(api, &format!("/chains?after={long}")),
        get(api, &format!("/transactions/{long}")),
        post(api, "/transactions", &json!({ "txs": long })),
    ];
    for (status, body) in answers {
        assert_eq!(status, 400, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.len() < 300, "{error}");
        assert!(!error.contains(&"x".repeat(100)), "{error}");
        assert!(error.contains('…'), "{error}");
    }
    served.stop();
}

#[test]
fn a_batch_is_answered_per_transaction_in_order() {
    let served = Served::start(ApiLimits::default());
    let api = served.api;
    let owner = key(50);
    let alice = key(51);
    let chain_genesis = genesis_now(&owner, &[(served.host, 1)], 1);
    let chain = chain_genesis.genesis.chain_id();
    assert_eq!(create_chain(api, &chain_genesis).0, 201);
    let unknown = genesis_now(&owner, &[(served.host, 1)], 2)
        .genesis
        .chain_id();
    let first = mint(chain, &owner, 1, &alice, 10);
    let second = mint(chain, &owner, 2, &alice, 20);
    let forged = SignedTransaction::sign(
        Transaction {
            chain_id: chain,
            sender: owner.address(),
            nonce: 3,
            kind: TxKind::Mint {
                to: alice.address(),
                amount: 1,
            },
        },
        &alice,
    );
    let batch = json!({ "txs": [
        hex_of(&first),
        "not hex",
        hex_of(&forged),
        hex_of(&second),
        hex_of(&mint(unknown, &owner, 1, &alice, 1)),
        hex_of(&first),
    ]});
    let (status, body) = post(api, "/transactions?wait=true", &batch);
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    let codes: Vec<u64> = results
        .iter()
        .map(|r| r["code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [200, 400, 400, 200, 404, 409], "{body}");
    for (result, tx) in [(&results[0], &first), (&results[3], &second)] {
        assert_eq!(result["tx"]["status"], "committed", "{body}");
        assert_eq!(result["tx"]["hash"], tx.hash().to_string());
        assert!(result["tx"]["height"].as_u64().unwrap() >= 1);
        assert!(result["error"].is_null());
    }
    let errors: Vec<&str> = [1, 2, 4, 5]
        .iter()
        .map(|i| {
            assert!(results[*i]["tx"].is_null(), "{body}");
            results[*i]["error"].as_str().unwrap()
        })
        .collect();
    assert!(errors[0].contains("not hex"), "{errors:?}");
    assert!(
        errors[1].contains("signature does not verify"),
        "{errors:?}"
    );
    assert!(errors[2].contains("not hosted here"), "{errors:?}");
    assert!(
        errors[3].contains("already pending") || errors[3].contains("already used"),
        "{errors:?}"
    );
    // Without waiting: admitted, pending.
    let third = mint(chain, &owner, 3, &alice, 30);
    let (status, body) = post(api, "/transactions", &json!({ "txs": [hex_of(&third)] }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["code"], 202, "{body}");
    assert_eq!(body["results"][0]["tx"]["status"], "pending", "{body}");
    // Too many, or none.
    let too_many = vec![hex_of(&third); SUBMIT_BATCH_TXS_MAX + 1];
    let (status, body) = post(api, "/transactions", &json!({ "txs": too_many }));
    assert_eq!(status, 413, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("at most 1000 transactions and this one has 1001: split it"),
        "{error}"
    );
    let (status, body) = post(api, "/transactions", &json!({ "txs": [] }));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("`txs` is empty"));
    // A full batch fits the body limit.
    let full = vec![hex_of(&third); SUBMIT_BATCH_TXS_MAX];
    let (status, body) = post(api, "/transactions", &json!({ "txs": full }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        SUBMIT_BATCH_TXS_MAX
    );
    served.stop();
}

#[test]
fn the_client_submits_more_than_a_batch_holds_and_reads_each_result_in_order() {
    let served = Served::start(ApiLimits::default());
    let owner = key(50);
    let chain_genesis = genesis_now(&owner, &[(served.host, 1)], 1);
    let chain = chain_genesis.genesis.chain_id();
    assert_eq!(create_chain(served.api, &chain_genesis).0, 201);
    let count = SUBMIT_BATCH_TXS_MAX as u64 + 5;
    let mut txs: Vec<SignedTransaction> = (1..=count)
        .map(|nonce| mint(chain, &owner, nonce, &key(51), 1))
        .collect();
    // The first one again, last: refused, whatever came between.
    txs.push(txs[0].clone());
    let client = myriad_client::client::Client::new(&served.api.to_string());
    let results = client.submit_many(&txs, false).unwrap();
    assert_eq!(results.len(), txs.len());
    // One sender holds at most its share of the pool, and a nonce at most so far past its
    // next: the rest, in both batches, are refused for that, each in its place.
    for (tx, result) in txs.iter().zip(&results).take(SENDER_TXS_MAX) {
        assert_eq!(result.code, 202, "{result:?}");
        let status = result.tx.as_ref().unwrap();
        assert_eq!(status.hash, tx.hash().to_string());
        assert_eq!(status.status, "pending");
    }
    assert_eq!(
        results[SENDER_TXS_MAX].code, 409,
        "{:?}",
        results[SENDER_TXS_MAX]
    );
    for result in &results[SENDER_TXS_MAX + 1..count as usize] {
        assert_eq!(result.code, 422, "{result:?}");
        let error = result.error.as_deref().unwrap();
        assert!(error.contains("too far ahead"), "{error}");
    }
    // By the time it arrives the first may be pending still, or committed already.
    let last = results.last().unwrap();
    assert_eq!(last.code, 409, "{last:?}");
    let error = last.error.as_deref().unwrap();
    assert!(
        error.contains("already pending") || error.contains("nonce 1 is already used"),
        "{last:?}"
    );
    served.stop();
}

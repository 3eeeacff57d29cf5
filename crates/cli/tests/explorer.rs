//! The explorer on a devnet: every host serves it and a search by id or by the start of
//! one; the explorer's own checks (its JavaScript, run by Node as the page runs it in a
//! browser) prove what an honest host shows — a chain's genesis and head, blocks, an account,
//! a channel, the root's anchor — and fail, saying why, on each lie a host could tell.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use myriad_testing::eventually;
use serde_json::{json as value, Value};

use common::*;

/// GETs `path` of `api`: (status, headers by lower-case name, body).
fn get(api: &str, path: &str) -> (u16, Vec<(String, String)>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut response = agent.get(format!("http://{api}{path}")).call().unwrap();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn get_json(api: &str, path: &str) -> Value {
    let (status, _, body) = get(api, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Waits until the root has anchored `chain`'s head as `api` shows it now; that height.
fn anchored(api: &str, chain: &str) -> u64 {
    let head = get_json(api, &format!("/chains/{chain}"))["height"]
        .as_u64()
        .unwrap();
    eventually(
        Duration::from_secs(60),
        "the root to anchor the head",
        || {
            let (status, _, body) = get(api, &format!("/root/anchors/{chain}"));
            status == 200
                && serde_json::from_str::<Value>(&body).unwrap()["height"].as_u64() >= Some(head)
        },
    );
    head
}

/// Runs the explorer's checks of `cases` against `api` with Node.
fn run_checks(root: &Path, api: &str, cases: &Value) -> Vec<Value> {
    let file = root.join("cases.json");
    std::fs::write(&file, cases.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../explorer/tests/check.mjs");
    let output = Command::new("node")
        .arg(script)
        .arg(format!("http://{api}"))
        .arg(&file)
        .output()
        .expect("Node runs the explorer's checks");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn the_explorer_proves_what_an_honest_host_shows_and_catches_each_lie() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let devnet = Devnet::start(root, &["--hosts", "3", "--chains", "1"]);
    let file = devnet_file(root);
    let api = file["hosts"][0]["api"].as_str().unwrap().to_owned();
    let demo = file["demo_chain"].as_str().unwrap().to_owned();
    let alice = json(root, &["wallet", "show", "alice"])["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let nobody = json(root, &["wallet", "new", "nobody"])["address"]
        .as_str()
        .unwrap()
        .to_owned();
    send(
        root,
        &["transfer", "--from", "alice", "--to", "bob", "1.25"],
    );
    let opened = json(
        root,
        &[
            "channel",
            "open",
            "--from",
            "alice",
            "--to",
            "bob",
            "5",
            "--expires",
            "1h",
        ],
    );
    let channel = opened["channel"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(30), "the channel to commit", || {
        get(&api, &format!("/chains/{demo}/channels/{channel}")).0 == 200
    });
    let head = anchored(&api, &demo);

    // Every host serves the explorer, with a policy that keeps its scripts its own.
    let (status, headers, page) = get(&api, "/explorer/");
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(header(&headers, "content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
    assert!(page.contains("app.js"), "{page}");
    let (status, headers, _) = get(&api, "/explorer");
    assert_eq!(
        (status, header(&headers, "location")),
        (308, Some("/explorer/"))
    );
    let (status, headers, script) = get(&api, "/explorer/vendor/noble-hashes/blake3.js");
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.contains("blake3"));
    assert_eq!(get(&api, "/explorer/vendor/noble-ed25519/LICENSE").0, 200);
    assert_eq!(get(&api, "/explorer/nothing.js").0, 404);
    assert_eq!(
        get_json(&api, "/explorer/config.json"),
        value!({"api": null, "root_chain": null})
    );
    // Reads are open to pages from anywhere: the explorer reads other hosts.
    let (_, headers, _) = get(&api, "/health");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));

    // `myriad explorer` serves the same page on its own, reading the host it is given.
    let mut alone = Command::new(env!("CARGO_BIN_EXE_myriad"))
        .args([
            "explorer",
            "--root",
            &format!("http://{api}/"),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(alone.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let served = line
        .strip_prefix("explorer http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let root_chain = get_json(&api, "/root")["chain_id"].clone();
    assert_eq!(
        get_json(&served, "/explorer/config.json"),
        value!({"api": format!("http://{api}"), "root_chain": root_chain})
    );
    assert_eq!(get(&served, "/explorer/").0, 200);
    assert_eq!(get(&served, "/").0, 303);
    assert_eq!(
        get(&served, "/chains").0,
        404,
        "it serves the explorer, not an API"
    );
    alone.kill().unwrap();
    alone.wait().unwrap();

    // A search finds chains by the start of their id, accounts and channels by their id,
    // transactions by the start of their hash.
    let found = get_json(&api, &format!("/search?q={}", &demo[..12]));
    let matches = found["matches"].as_array().unwrap();
    assert!(
        matches
            .iter()
            .any(|m| m["kind"] == "chain" && m["id"] == demo),
        "{found}"
    );
    let found = get_json(&api, &format!("/search?q={alice}"));
    assert!(
        found["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "account" && m["chain_id"] == demo),
        "{found}"
    );
    let found = get_json(&api, &format!("/search?q={channel}"));
    assert_eq!(found["matches"][0]["chain_id"], demo, "{found}");
    let history = get_json(&api, &format!("/chains/{demo}/accounts/{alice}/txs"));
    let tx = history["txs"][0]["tx"]["hash"].as_str().unwrap().to_owned();
    let found = get_json(&api, &format!("/search?q={}", &tx[..10].to_uppercase()));
    assert!(
        found["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "transaction" && m["id"] == tx && m["chain_id"] == demo),
        "{found}"
    );
    let (status, _, body) = get(&api, "/search?q=acct1zz");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is not an id"), "{body}");

    // What an honest host shows, proven.
    let honest = value!([
        {"name": "genesis", "check": "genesis", "chain": demo},
        {"name": "chain head", "check": "chain", "chain": demo},
        {"name": "first block", "check": "block", "chain": demo, "height": 1},
        {"name": "head block", "check": "block", "chain": demo, "height": head},
        {"name": "alice", "check": "account", "chain": demo, "address": alice},
        {"name": "an account that holds nothing", "check": "account", "chain": demo, "address": nobody},
        {"name": "channel", "check": "object", "chain": demo, "kind": "Channel", "id": channel},
        {"name": "anchor", "check": "anchor", "chain": demo},
    ]);
    for result in run_checks(root, &api, &honest) {
        assert_eq!(result["ok"], true, "{result}");
    }

    // Each lie is caught, with what did not hold.
    let blocks = format!("/chains/{demo}/blocks/{head}");
    let lie = |name: &str, check: Value, corrupt: Value| {
        let mut case = check;
        case["name"] = value!(name);
        case["corrupt"] = corrupt;
        case
    };
    let block = value!({"check": "block", "chain": demo, "height": head});
    let account = value!({"check": "account", "chain": demo, "address": alice});
    // Hex digit offsets: the header's state root is at byte 144 of a block.
    let lies = value!([
        lie(
            "header",
            block.clone(),
            value!({"path": blocks, "field": "block_bytes", "flip": 2 * 144 + 1})
        ),
        lie(
            "transactions",
            block.clone(),
            value!({"path": blocks, "field": "block_bytes", "flip": 2 * (208 + 4 + 40)})
        ),
        lie(
            "certificate",
            block.clone(),
            value!({"path": blocks, "field": "certificate_bytes", "flip": 2 * 80})
        ),
        lie(
            "proposer shown",
            block.clone(),
            value!({"path": blocks, "field": "proposer", "value": "host1lie"})
        ),
        lie(
            "validator set",
            block,
            value!({"path": "/validators", "field": "set", "flip": 2 * 4 + 3})
        ),
        lie(
            "balance",
            account.clone(),
            value!({"path": "/accounts/", "field": "balance", "value": "999999"})
        ),
        lie(
            "account proof",
            account.clone(),
            value!({"path": "/accounts/", "field": "proof", "flip": 5})
        ),
        lie(
            "genesis",
            value!({"check": "genesis", "chain": demo}),
            value!({"path": "/genesis", "field": "genesis", "flip": 70})
        ),
        lie(
            "supply",
            value!({"check": "chain", "chain": demo}),
            value!({"path": format!("/chains/{demo}"), "field": "supply", "value": "1"})
        ),
        lie(
            "channel amount",
            value!({"check": "object", "chain": demo, "kind": "Channel", "id": channel}),
            value!({"path": "/channels/", "within": "channel", "field": "amount", "value": "1"})
        ),
        lie(
            "anchor proof",
            value!({"check": "anchor", "chain": demo}),
            value!({"path": "/root/anchors/", "field": "proof", "flip": 9})
        ),
        lie(
            "a block below the anchored one",
            value!({"check": "block", "chain": demo, "height": 1}),
            value!({"path": format!("/chains/{demo}/blocks/1"), "field": "block_bytes", "flip": 2 * 144 + 1})
        ),
        lie(
            "a balance past 128 bits",
            account.clone(),
            value!({"path": "/accounts/", "field": "balance", "value": "340282366920938463463374607431768211461"})
        ),
        lie(
            "a state older than the anchored block",
            account.clone(),
            value!({"path": "/accounts/", "field": "height", "value": 0})
        ),
        lie(
            "another root than the one trusted",
            value!({"check": "anchor", "chain": demo, "root": demo}),
            Value::Null
        ),
    ]);
    let results = run_checks(root, &api, &lies);
    assert_eq!(results.len(), 15);
    for result in results {
        println!("caught: {result}");
        assert_eq!(result["ok"], false, "a lie was not caught: {result}");
        assert!(!result["why"].as_str().unwrap().is_empty(), "{result}");
    }
    devnet.stop();
}

/// A headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`,
/// which `.ci/run` installs), with a fresh profile; stopped when dropped.
struct Browser {
    driver: std::process::Child,
    url: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let port = myriad_testing::free_address().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver runs: install Debian's chromium and chromium-driver (.ci/run does)",
            );
        let url = format!("http://127.0.0.1:{port}");
        let address = url.trim_start_matches("http://").to_owned();
        eventually(Duration::from_secs(30), "chromedriver to be ready", || {
            std::net::TcpStream::connect(&address).is_ok()
                && get_json(&address, "/status")["value"]["ready"] == true
        });
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = value!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let mut browser = Browser {
            driver,
            url,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.call("POST", "/session", Some(capabilities));
        browser.session = created["sessionId"].as_str().unwrap().to_owned();
        browser
    }

    /// A WebDriver command; its `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let mut response = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            (_, body) => agent.post(&url).send_json(body.unwrap_or(value!({}))),
        }
        .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.body_mut().read_json().unwrap();
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer["value"].clone()
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.command("POST", "/url", Some(value!({ "url": url })));
    }

    /// Runs `script` in the page; what it returns.
    fn run(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(value!({"script": script, "args": []})),
        )
    }

    fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            Some(value!({"using": "css selector", "value": css})),
        );
        found
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(value!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let element = self.element(css);
        self.command("POST", &format!("/element/{element}/click"), None);
    }

    /// The page's marks once none is still checking: (verified, text) each.
    fn marks(&self, what: &str) -> Vec<(String, String)> {
        let script = "return [...document.querySelectorAll('.mark')].map(m => [m.dataset.verified, m.textContent])";
        let mut marks = Vec::new();
        eventually(Duration::from_secs(60), what, || {
            marks = self
                .run(script)
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m[0].as_str().unwrap().to_owned(),
                        m[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            !marks.is_empty() && marks.iter().all(|(verified, _)| verified != "pending")
        });
        marks
    }

    /// Saves a screenshot of the page as `name`.png in the directory that
    /// `MYRIAD_EXPLORER_SCREENSHOTS` names, if it names one (how docs/ gets its pictures).
    fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let Ok(dir) = std::env::var("MYRIAD_EXPLORER_SCREENSHOTS") else {
            return;
        };
        let png = self.command("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.command("DELETE", "", None)
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn all_verified(marks: &[(String, String)]) -> bool {
    marks.iter().all(|(verified, _)| verified == "yes")
}

#[test]
fn in_a_browser_the_explorer_finds_shows_live_and_proves_and_marks_a_lying_host_red() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let devnet = Devnet::start(root, &["--hosts", "3"]);
    let file = devnet_file(root);
    let api = file["hosts"][0]["api"].as_str().unwrap().to_owned();
    let demo = file["demo_chain"].as_str().unwrap().to_owned();
    let alice = json(root, &["wallet", "show", "alice"])["address"]
        .as_str()
        .unwrap()
        .to_owned();
    send(
        root,
        &["transfer", "--from", "alice", "--to", "bob", "2.50"],
    );
    anchored(&api, &demo);
    let explorer = format!("http://{api}/explorer/");
    let browser = Browser::start();

    // The search box finds the demo chain by the start of its id.
    browser.go(&explorer);
    eventually(Duration::from_secs(30), "the explorer's home page", || {
        browser.run("return document.querySelector('h1')?.textContent") == "Myriad explorer"
    });
    browser.type_into("input[name=q]", &demo[..14]);
    browser.click("form.search button");
    eventually(
        Duration::from_secs(30),
        "the search to open the chain",
        || browser.run("return location.hash") == value!(format!("#/chain/{demo}")),
    );
    let marks = browser.marks("the chain page's checks");
    assert!(all_verified(&marks), "{marks:?}");
    assert!(
        marks.iter().any(|(_, text)| text.contains("anchored")),
        "{marks:?}"
    );
    browser.screenshot("explorer-chain");

    // A transfer appears on the chain page as it commits, proven.
    let height = send(
        root,
        &["transfer", "--from", "bob", "--to", "carol", "1.00"],
    );
    eventually(Duration::from_secs(30), "the new block to appear", || {
        browser.run(&format!(
            "return !!document.querySelector('tr[data-height=\"{height}\"]')"
        )) == true
    });
    let marks = browser.marks("the new block's check");
    assert!(all_verified(&marks), "{marks:?}");

    // Its block, with the certificate's signers.
    browser.go(&format!("{explorer}#/chain/{demo}/block/{height}"));
    let marks = browser.marks("the block's check");
    assert!(all_verified(&marks), "{marks:?}");
    assert_eq!(
        browser.run("return document.querySelectorAll('table.list tr').length"),
        2,
        "one transaction"
    );
    browser.screenshot("explorer-block");

    // Alice's account: the balance shown is the one its proof proves.
    browser.go(&format!("{explorer}#/chain/{demo}/account/{alice}"));
    let marks = browser.marks("the account's check");
    assert!(all_verified(&marks), "{marks:?}");
    let shown = browser.run("return document.querySelector('.balance').dataset.baseUnits");
    let proven = get_json(&api, &format!("/chains/{demo}/accounts/{alice}"))["balance"].clone();
    assert_eq!(shown, proven);
    browser.screenshot("explorer-account");
    browser.go(&format!("{explorer}#/root"));
    assert!(all_verified(&browser.marks("the root page's checks")));
    browser.screenshot("explorer-root");
    devnet.stop();

    // A host that lies about balances gets the red mark on the same page.
    let lying_root = root.join("lying");
    std::fs::create_dir(&lying_root).unwrap();
    let lying = Devnet::start_with(
        &lying_root,
        &["--hosts", "1"],
        &[("MYRIAD_LIE_IN_ANSWERS", "1")],
    );
    let file = devnet_file(&lying_root);
    let api = file["hosts"][0]["api"].as_str().unwrap().to_owned();
    let demo = file["demo_chain"].as_str().unwrap().to_owned();
    let alice = json(&lying_root, &["wallet", "show", "alice"])["address"]
        .as_str()
        .unwrap()
        .to_owned();
    browser.go(&format!(
        "http://{api}/explorer/#/chain/{demo}/account/{alice}"
    ));
    let marks = browser.marks("the lying host's account check");
    assert!(
        marks
            .iter()
            .any(|(verified, text)| verified == "no" && text.contains("not verified")),
        "{marks:?}"
    );
    browser.screenshot("explorer-lying-host");
    lying.stop();
}

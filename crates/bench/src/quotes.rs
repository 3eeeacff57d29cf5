//! `myriad bench quotes`: the order book at scale — exchangers quoting many currencies
//! against one reference currency, both ways, posted to a host over its API. Measures how
//! fast the host takes quotes in (each signature checked), the memory each live quote costs
//! it, and how long a best-quote query takes: over HTTP, and in the book alone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use myriad_api_types::{QuoteBatchAnswer, QuoteBook, POST_QUOTES_MAX};
use myriad_client::client::{BulkClient, Client};
use myriad_devnet::{create_chains, start_hosts};
use myriad_host::{OrderBook, Pair};
use myriad_types::{encode, ChainId, Quote, Rate, SecretKey, SignedQuote, QUOTE_LIFETIME_MAX_MS};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::{mib, quantile, table, BenchDir, MetricsSample, ProcessSample};

/// How long before the quotes' expiry the measurements must be done.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct QuotesOptions {
    /// Currencies quoted against the reference one.
    pub currencies: u64,
    /// Exchangers quoting every currency, both ways.
    pub exchangers: usize,
    /// Best-quote queries timed.
    pub queries: usize,
    /// Batches of quotes in flight at once.
    pub connections: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuotesResult {
    pub currencies: u64,
    pub exchangers: usize,
    /// Quotes posted: currencies × exchangers × 2.
    pub quotes: u64,
    /// Quotes in the host's book once all were posted.
    pub live: u64,
    pub ingest_seconds: f64,
    pub quotes_per_second: f64,
    /// The host's CPU while it took the quotes in, in percent of one core.
    pub ingest_cpu_percent: f64,
    pub rss_before_bytes: u64,
    pub rss_after_bytes: u64,
    pub rss_bytes_per_quote: f64,
    pub http_query_p50_ms: f64,
    pub http_query_p99_ms: f64,
    pub http_query_max_ms: f64,
    pub book_query_p50_us: f64,
    pub book_query_p99_us: f64,
}

/// The quotes of the run: every exchanger, every currency, both ways, at rates that differ
/// by exchanger so that the book has an order to keep.
fn make_quotes(
    exchangers: &[SecretKey],
    reference: ChainId,
    currencies: &[ChainId],
    expires_at_ms: u64,
) -> Vec<SignedQuote> {
    let sign = |(e, key): (usize, &SecretKey)| -> Vec<SignedQuote> {
        let mut quotes = Vec::with_capacity(currencies.len() * 2);
        for (n, currency) in currencies.iter().enumerate() {
            let base = 1_000 + (n % 997) as u64;
            for (give, get, rate) in [
                (
                    *currency,
                    reference,
                    Rate {
                        give: 1_000,
                        get: base - e as u64,
                    },
                ),
                (
                    reference,
                    *currency,
                    Rate {
                        give: base + e as u64,
                        get: 1_000,
                    },
                ),
            ] {
                let quote = Quote {
                    exchanger: key.address(),
                    give_chain: give,
                    get_chain: get,
                    rate,
                    min_give: 1,
                    max_give: 1_000_000_000,
                    expires_at_ms,
                    give_account: key.address(),
                    get_account: key.address(),
                    sequence: 1,
                };
                quotes.push(SignedQuote::sign(quote, key));
            }
        }
        quotes
    };
    std::thread::scope(|scope| {
        let signing: Vec<_> = exchangers
            .iter()
            .enumerate()
            .map(|exchanger| scope.spawn(move || sign(exchanger)))
            .collect();
        signing
            .into_iter()
            .flat_map(|s| s.join().unwrap_or_default())
            .collect()
    })
}

/// Posts `quotes` to `api` in batches, `connections` at a time; answers how many the host
/// took.
fn post_all(api: &str, quotes: &[SignedQuote], connections: usize) -> Result<u64> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let uri: hyper::Uri = format!("{api}/quotes").parse()?;
    let bodies: Arc<Vec<hyper::body::Bytes>> = Arc::new(
        quotes
            .chunks(POST_QUOTES_MAX)
            .map(|batch| {
                let hex: Vec<String> = batch.iter().map(|q| hex::encode(encode(q))).collect();
                hyper::body::Bytes::from(serde_json::json!({ "quotes": hex }).to_string())
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let client = BulkClient::default();
    runtime.block_on(async {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                let (bodies, next, client, uri) =
                    (bodies.clone(), next.clone(), client.clone(), uri.clone());
                tokio::spawn(async move {
                    let mut taken = 0u64;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(i) else {
                            return Ok::<u64, anyhow::Error>(taken);
                        };
                        let (status, answer) = client
                            .post(&uri, body.clone())
                            .await
                            .map_err(anyhow::Error::msg)?;
                        if status != 200 {
                            bail!(
                                "{uri} answered {status}: {}",
                                String::from_utf8_lossy(&answer)
                            );
                        }
                        let answer: QuoteBatchAnswer = serde_json::from_slice(&answer)?;
                        if let Some(refused) = answer.results.iter().find(|r| r.code != 200) {
                            bail!("a quote was refused: {:?}", refused.error);
                        }
                        taken += answer.results.len() as u64;
                    }
                })
            })
            .collect();
        let mut taken = 0;
        for worker in workers {
            taken += worker.await??;
        }
        Ok(taken)
    })
}

/// Times `queries` best-quote queries of random currencies over HTTP, one at a time; answers
/// their latencies in milliseconds, sorted.
fn http_queries(
    api: &str,
    reference: ChainId,
    currencies: &[ChainId],
    queries: usize,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<f64>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = BulkClient::default();
    let mut latencies = Vec::with_capacity(queries);
    runtime.block_on(async {
        for _ in 0..queries {
            let currency = currencies[rng.next_u64() as usize % currencies.len()];
            let uri: hyper::Uri =
                format!("{api}/quotes?give={currency}&get={reference}&depth=5").parse()?;
            let started = Instant::now();
            let (status, body) = client.get(&uri).await.map_err(anyhow::Error::msg)?;
            latencies.push(started.elapsed().as_secs_f64() * 1e3);
            let book: QuoteBook = serde_json::from_slice(&body)?;
            if status != 200 || book.quotes.is_empty() {
                bail!("{uri} answered {status} with {} quotes", book.quotes.len());
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

/// Times `queries` best-quote queries of random currencies in an order book holding
/// `quotes`, in this process; answers their latencies in microseconds, sorted.
fn book_queries(
    quotes: &[SignedQuote],
    reference: ChainId,
    currencies: &[ChainId],
    queries: usize,
    now_ms: u64,
    rng: &mut ChaCha20Rng,
) -> Result<Vec<f64>> {
    let mut book = OrderBook::new(quotes.len(), quotes.len());
    for quote in quotes {
        book.insert(quote.clone(), now_ms)
            .map_err(|e| anyhow::anyhow!("the book refused a quote: {e}"))?;
    }
    let mut latencies = Vec::with_capacity(queries);
    for _ in 0..queries {
        let currency = currencies[rng.next_u64() as usize % currencies.len()];
        let pair = Pair {
            give: currency,
            get: reference,
        };
        let started = Instant::now();
        let (best, _) = book.best(&pair, now_ms, 5);
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
        if best.is_empty() {
            bail!("no quote for {currency} in the book");
        }
    }
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

/// Posts the quotes of `options` to a one-host devnet and measures it.
pub fn run(dir: &BenchDir, options: &QuotesOptions) -> Result<QuotesResult> {
    let (_lock, mut devnet) = dir.devnet(1)?;
    let hosts = start_hosts(&devnet)?;
    create_chains(&mut devnet, 1)?;
    let host = &devnet.hosts()[0];
    let api = format!("http://{}", host.api);
    let client = Client::new(&api);
    let reference: ChainId = client.chains(None, 1)?.chains[0]
        .chain_id
        .parse()
        .context("the reference chain's id")?;
    let pid = hosts.pid(0);

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let currencies: Vec<ChainId> = (0..options.currencies)
        .map(|_| {
            let mut id = [0u8; 32];
            rng.fill_bytes(&mut id);
            ChainId(id)
        })
        .collect();
    let exchangers: Vec<SecretKey> = (0..options.exchangers)
        .map(|_| SecretKey::generate(&mut rng))
        .collect();
    let now_ms = myriad_client::genesis::now_ms();
    let expires_at_ms = now_ms + QUOTE_LIFETIME_MAX_MS - 10_000;
    let deadline =
        Instant::now() + Duration::from_millis(QUOTE_LIFETIME_MAX_MS - 10_000) - EXPIRY_MARGIN;
    let quotes = make_quotes(&exchangers, reference, &currencies, expires_at_ms);

    let rss_before = ProcessSample::read(pid)?;
    let started = Instant::now();
    let taken = post_all(&api, &quotes, options.connections)?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    let after = ProcessSample::read(pid)?;
    let http = http_queries(&api, reference, &currencies, options.queries, &mut rng)?;
    // The gauges are updated once a second.
    std::thread::sleep(Duration::from_millis(1_500));
    let live = MetricsSample::scrape(&api)?.value("myriad_book_quotes");
    if Instant::now() > deadline {
        bail!("the run took too long: the quotes were about to expire before it was measured");
    }
    if taken != quotes.len() as u64 || live as u64 != taken {
        bail!(
            "{} quotes posted, {taken} taken, {live} in the book",
            quotes.len()
        );
    }
    let book = book_queries(
        &quotes,
        reference,
        &currencies,
        options.queries,
        myriad_client::genesis::now_ms(),
        &mut rng,
    )?;
    Ok(QuotesResult {
        currencies: options.currencies,
        exchangers: options.exchangers,
        quotes: quotes.len() as u64,
        live: live as u64,
        ingest_seconds,
        quotes_per_second: taken as f64 / ingest_seconds,
        ingest_cpu_percent: rss_before.cpu_percent(&after),
        rss_before_bytes: rss_before.rss_bytes,
        rss_after_bytes: after.rss_bytes,
        rss_bytes_per_quote: after.rss_bytes.saturating_sub(rss_before.rss_bytes) as f64
            / taken.max(1) as f64,
        http_query_p50_ms: quantile(&http, 0.50),
        http_query_p99_ms: quantile(&http, 0.99),
        http_query_max_ms: quantile(&http, 1.0),
        book_query_p50_us: quantile(&book, 0.50),
        book_query_p99_us: quantile(&book, 0.99),
    })
}

/// Writes the result and returns the summary table.
pub fn report(dir: &BenchDir, result: &QuotesResult) -> Result<String> {
    let json = dir.write_json("quotes", result)?;
    let rows = [
        (
            "currencies".to_owned(),
            format!(
                "{} against one, {} exchangers, both ways",
                result.currencies, result.exchangers
            ),
        ),
        (
            "quotes".to_owned(),
            format!("{} posted, {} live in the book", result.quotes, result.live),
        ),
        (
            "ingestion".to_owned(),
            format!(
                "{:.0} quotes/s over HTTP, signatures checked ({:.1} s, host CPU {:.0}% of a core)",
                result.quotes_per_second, result.ingest_seconds, result.ingest_cpu_percent
            ),
        ),
        (
            "memory".to_owned(),
            format!(
                "{:.0} bytes of host RSS per live quote ({} → {})",
                result.rss_bytes_per_quote,
                mib(result.rss_before_bytes as f64),
                mib(result.rss_after_bytes as f64)
            ),
        ),
        (
            "best quote over HTTP".to_owned(),
            format!(
                "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                result.http_query_p50_ms, result.http_query_p99_ms, result.http_query_max_ms
            ),
        ),
        (
            "best quote in the book".to_owned(),
            format!(
                "p50 {:.2} µs, p99 {:.2} µs",
                result.book_query_p50_us, result.book_query_p99_us
            ),
        ),
        ("result".to_owned(), json.display().to_string()),
    ];
    Ok(table("myriad bench quotes", &rows))
}

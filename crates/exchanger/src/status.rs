//! The exchanger's status API: `GET /status` (its live quotes, open swaps and inventory, as
//! JSON) and `GET /metrics` (Prometheus text).

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use myriad_types::{EscrowId, SignedQuote, SignedTransaction};
use serde::{Deserialize, Serialize};

use crate::journal::Taken;
use crate::Exchanger;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExchangerStatus {
    /// `acct1…`: it signs its quotes and trades with this account on every chain.
    pub address: String,
    pub quotes: Vec<QuoteStatus>,
    pub swaps: Vec<SwapStatus>,
    pub inventory: Vec<InventoryStatus>,
}

/// A live quote: the newest of its pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuoteStatus {
    pub hash: String,
    pub give_chain: String,
    pub get_chain: String,
    /// Base units of the get chain for one base unit of the give chain.
    pub price: String,
    pub min_give: String,
    pub max_give: String,
    pub expires_at_ms: u64,
    pub sequence: u64,
}

/// A swap in flight.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwapStatus {
    /// The holder's escrow.
    pub escrow: String,
    pub give_chain: String,
    pub get_chain: String,
    pub holder: String,
    pub amount: String,
    pub payout: String,
    /// The exchanger's escrow on the get chain, once its lock is recorded.
    pub counter: Option<String>,
    pub holder_expires_at_ms: u64,
}

/// What a payout chain holds above its reserve, as last seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InventoryStatus {
    pub chain: String,
    pub available: String,
}

pub(crate) fn quote_status(signed: &SignedQuote) -> QuoteStatus {
    let quote = &signed.quote;
    QuoteStatus {
        hash: quote.hash().to_string(),
        give_chain: quote.give_chain.to_string(),
        get_chain: quote.get_chain.to_string(),
        price: quote.rate.to_decimal(12),
        min_give: quote.min_give.to_string(),
        max_give: quote.max_give.to_string(),
        expires_at_ms: quote.expires_at_ms,
        sequence: quote.sequence,
    }
}

pub(crate) fn swap_status(taken: &Taken, lock: Option<&SignedTransaction>) -> SwapStatus {
    SwapStatus {
        escrow: taken.escrow.to_string(),
        give_chain: taken.give_chain.to_string(),
        get_chain: taken.get_chain.to_string(),
        holder: taken.holder.to_string(),
        amount: taken.amount.to_string(),
        payout: taken.payout.to_string(),
        counter: lock
            .map(|tx| EscrowId::derive(&tx.tx.chain_id, &tx.tx.sender, tx.tx.nonce).to_string()),
        holder_expires_at_ms: taken.holder_expires_at_ms,
    }
}

/// The status API of `exchanger`.
pub fn router(exchanger: Exchanger) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(exchanger)
}

async fn status(State(exchanger): State<Exchanger>) -> Json<ExchangerStatus> {
    Json(exchanger.status())
}

async fn metrics(State(exchanger): State<Exchanger>) -> impl IntoResponse {
    let stats = exchanger.stats();
    let status = exchanger.status();
    let mut text = String::new();
    let mut put = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = write!(
            text,
            "# TYPE myriad_exchanger_{name} {kind}\n# HELP myriad_exchanger_{name} {help}\nmyriad_exchanger_{name}{} {value}\n",
            if kind == "counter" { "_total" } else { "" }
        );
    };
    for (name, help, counter) in [
        (
            "quotes_published",
            "Quotes published to the hosts",
            &stats.quotes_published,
        ),
        (
            "quotes_refused",
            "Quotes a host did not take",
            &stats.quotes_refused,
        ),
        (
            "pairs_skipped",
            "Pairs left unquoted in a round: no rate, or inventory spent",
            &stats.pairs_skipped,
        ),
        (
            "swaps_taken",
            "Holders' locks taken at a quote",
            &stats.swaps_taken,
        ),
        (
            "swaps_refused",
            "Holders' locks refused, or swaps given up before locking",
            &stats.swaps_refused,
        ),
        (
            "swaps_done",
            "Swaps over, both escrows closed",
            &stats.swaps_done,
        ),
        (
            "locks",
            "Locks of the exchanger's side committed",
            &stats.locks,
        ),
        ("claims", "Holders' escrows claimed", &stats.claims),
        (
            "refunds",
            "The exchanger's expired locks refunded",
            &stats.refunds,
        ),
        (
            "failures",
            "Steps that failed and were retried",
            &stats.failures,
        ),
    ] {
        put(name, "counter", help, counter.load(Relaxed));
    }
    put(
        "swaps_open",
        "gauge",
        "Swaps in flight",
        status.swaps.len() as u64,
    );
    put(
        "quotes_live",
        "gauge",
        "Pairs with a live quote",
        status.quotes.len() as u64,
    );
    text.push_str("# EOF\n");
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

//! The order book: exchangers post quotes; holders read a pair's best quotes, a reference
//! rate, and a pair's changes as they happen.

use std::sync::PoisonError;

use myriad_client::genesis::now_ms;
use myriad_host::{Admission, BookError, OrderBook, Pair, QuoteRefused};
use myriad_types::{Rate, ReferenceRate, SignedQuote};

use super::*;

/// The quotes of a pair an answer holds when `?depth=` is not given.
pub const QUOTE_DEPTH_DEFAULT: usize = 10;
/// The most quotes of a pair an answer holds.
pub const QUOTE_DEPTH_MAX: usize = 32;

pub(crate) fn rate_body(rate: &Rate) -> RateBody {
    RateBody {
        give: rate.give.to_string(),
        get: rate.get.to_string(),
        price: rate.to_decimal(12),
    }
}

pub(crate) fn quote_info(signed: &SignedQuote) -> QuoteInfo {
    let quote = &signed.quote;
    QuoteInfo {
        hash: quote.hash().to_string(),
        exchanger: quote.exchanger.to_string(),
        give_chain: quote.give_chain.to_string(),
        get_chain: quote.get_chain.to_string(),
        rate: rate_body(&quote.rate),
        min_give: quote.min_give.to_string(),
        max_give: quote.max_give.to_string(),
        expires_at_ms: quote.expires_at_ms,
        give_account: quote.give_account.to_string(),
        get_account: quote.get_account.to_string(),
        sequence: quote.sequence,
        quote: hex::encode(encode(signed)),
    }
}

fn book_of(book: &std::sync::Mutex<OrderBook>, pair: &Pair, depth: usize) -> QuoteBook {
    let (quotes, live) =
        book.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .best(pair, now_ms(), depth);
    QuoteBook {
        give_chain: pair.give.to_string(),
        get_chain: pair.get.to_string(),
        live,
        quotes: quotes.iter().map(quote_info).collect(),
    }
}

/// Puts exchangers' quotes in this host's order book, which gossips them to the peers that
/// share their chains: one (`quote`), answered with its outcome as the HTTP status, or a
/// batch (`quotes`, at most 1000), answered 200 with one result per quote, in order. A newer
/// sequence of the same exchanger and pair replaces the older.
#[utoipa::path(post, path = "/quotes", request_body = PostQuoteRequest,
    responses((status = 200, body = QuoteAnswer, description = "`quote`: taken (`QuoteTaken`); `quotes`: one result per quote, in order (`QuoteBatchAnswer`)"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "neither chain of the pair is hosted here"),
        (status = 408, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "refused: forged, malformed, expired, or not newer"),
        (status = 503, body = ErrorBody, description = "busy, or the book or the exchanger's share of it is full")))]
pub(crate) async fn post_quote(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request: PostQuoteRequest = api.json(&headers, body, SUBMIT_BODY_BYTES_MAX).await?;
    match (request.quote, request.quotes) {
        (Some(quote), None) => {
            let answer = post_all(&api.host, vec![quote]).await.into_iter().next();
            let taken = answer.ok_or_else(|| internal("a quote sent was not answered"))??;
            Ok(Json(taken).into_response())
        }
        (None, Some(quotes)) => {
            if quotes.is_empty() {
                return Err(bad_request("`quotes` is empty: send at least one quote"));
            }
            if quotes.len() > POST_QUOTES_MAX {
                return Err(ApiError(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "a batch holds at most {POST_QUOTES_MAX} quotes and this one has {}: split it",
                        quotes.len()
                    ),
                ));
            }
            let results = post_all(&api.host, quotes)
                .await
                .into_iter()
                .map(|answer| match answer {
                    Ok(taken) => QuoteResult {
                        code: StatusCode::OK.as_u16(),
                        taken: Some(taken),
                        error: None,
                    },
                    Err(ApiError(code, message)) => QuoteResult {
                        code: code.as_u16(),
                        taken: None,
                        error: Some(brief(&message)),
                    },
                })
                .collect();
            Ok(Json(QuoteBatchAnswer { results }).into_response())
        }
        _ => Err(bad_request(
            "request body: expected `quote` (hex of one signed quote) or `quotes` (a list of them), not both",
        )),
    }
}

/// Hands each quote (hex) to the host, then answers each one's outcome, in order.
async fn post_all(handle: &HostHandle, quotes: Vec<String>) -> Vec<Result<QuoteTaken, ApiError>> {
    let sent: Vec<Result<_, ApiError>> = quotes
        .iter()
        .map(|hex| {
            let quote: SignedQuote = from_hex("quote", hex)?;
            let hash = quote.hash();
            let (reply, answer) = oneshot::channel();
            if !handle.send(Command::Quote { quote, reply }) {
                return Err(busy());
            }
            Ok((hash, answer))
        })
        .collect();
    futures::future::join_all(sent.into_iter().map(|sent| async move {
        let (hash, answer) = sent?;
        let refused = match answer.await {
            Ok(Ok(admission)) => {
                let admission = match admission {
                    Admission::Added => "added",
                    Admission::Replaced => "replaced",
                };
                return Ok(QuoteTaken {
                    hash: hash.to_string(),
                    admission: admission.to_owned(),
                });
            }
            Ok(Err(refused)) => refused,
            Err(_) => QuoteRefused::ShuttingDown,
        };
        let code = match &refused {
            QuoteRefused::NotHosted { .. } => StatusCode::NOT_FOUND,
            QuoteRefused::Busy(_)
            | QuoteRefused::ShuttingDown
            | QuoteRefused::Book(BookError::Full(_) | BookError::ExchangerFull(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            QuoteRefused::Book(_) | QuoteRefused::BadSignature => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Err(ApiError(code, format!("quote {hash} refused: {refused}")))
    }))
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct PairQuery {
    give: String,
    get: String,
    depth: Option<usize>,
}

impl PairQuery {
    fn pair(&self) -> Result<(Pair, usize), ApiError> {
        let pair = Pair {
            give: parse("chain id", &self.give)?,
            get: parse("chain id", &self.get)?,
        };
        let depth = self.depth.unwrap_or(QUOTE_DEPTH_DEFAULT);
        if !(1..=QUOTE_DEPTH_MAX).contains(&depth) {
            return Err(bad_request(format!(
                "depth {depth} is out of range: 1 to {QUOTE_DEPTH_MAX}"
            )));
        }
        Ok((pair, depth))
    }
}

/// A pair's live quotes in this host's order book, best first for the holder (the most she
/// gets per unit given): at most `depth` (default 10, at most 32), and how many are live.
#[utoipa::path(get, path = "/quotes",
    params(("give" = String, Query, description = "chain1… the holder gives", pattern = "^chain1[02-9ac-hj-np-z]{58}$"),
        ("get" = String, Query, description = "chain1… the holder gets", pattern = "^chain1[02-9ac-hj-np-z]{58}$"),
        ("depth" = Option<usize>, Query, minimum = 1, maximum = 32, description = "1 to 32, default 10")),
    responses((status = 200, body = QuoteBook), (status = 400, body = ErrorBody)))]
pub(crate) async fn quotes(
    State(handle): State<HostHandle>,
    query: Result<Query<PairQuery>, QueryRejection>,
) -> Result<Json<QuoteBook>, ApiError> {
    let Query(query) = query.map_err(rejected)?;
    let (pair, depth) = query.pair()?;
    Ok(Json(book_of(&handle.book, &pair, depth)))
}

/// Server-sent events of one pair: a `quotes` event with the pair's book (as `GET /quotes`
/// answers it) now, and again each time it changes.
#[utoipa::path(get, path = "/quotes/events",
    params(("give" = String, Query, description = "chain1… the holder gives", pattern = "^chain1[02-9ac-hj-np-z]{58}$"),
        ("get" = String, Query, description = "chain1… the holder gets", pattern = "^chain1[02-9ac-hj-np-z]{58}$"),
        ("depth" = Option<usize>, Query, minimum = 1, maximum = 32, description = "1 to 32, default 10")),
    responses((status = 200, description = "text/event-stream of `quotes` events"), (status = 400, body = ErrorBody)))]
pub(crate) async fn quote_events(
    State(handle): State<HostHandle>,
    query: Result<Query<PairQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(query) = query.map_err(rejected)?;
    let (pair, depth) = query.pair()?;
    let book = handle.book.clone();
    let event = move |book: &std::sync::Mutex<OrderBook>| {
        let body = book_of(book, &pair, depth);
        let data = serde_json::to_string(&body).unwrap_or_default();
        Ok(Event::default().event("quotes").data(data))
    };
    let first = event(&book);
    let changes =
        BroadcastStream::new(handle.quote_changes.subscribe()).filter_map(move |changed| {
            match changed {
                Ok(changed) if changed == pair => Some(event(&book)),
                // A subscriber that fell behind may have missed this pair's change.
                Err(_) => Some(event(&book)),
                Ok(_) => None,
            }
        });
    Ok(Sse::new(tokio_stream::once(first).chain(changes)).keep_alive(KeepAlive::default()))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RateQuery {
    #[serde(rename = "in")]
    in_chain: String,
    exclude: Option<String>,
}

/// A reference rate of `chain`'s currency in another's: the volume-weighted median of the
/// live quotes both ways (each weighed by the most of `chain`'s currency it moves), the best
/// bid and ask, their spread, and the quotes it came from.
#[utoipa::path(get, path = "/rates/{chain}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"),
        ("in" = String, Query, description = "chain1… whose currency the rate is in", pattern = "^chain1[02-9ac-hj-np-z]{58}$"),
        ("exclude" = Option<String>, Query, description = "acct1… of an exchanger whose quotes are left out", pattern = "^acct1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = ReferenceRateInfo), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no live quote between the two")))]
pub(crate) async fn rate(
    State(handle): State<HostHandle>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<RateQuery>, QueryRejection>,
) -> Result<Json<ReferenceRateInfo>, ApiError> {
    let Path(chain) = path.map_err(rejected)?;
    let Query(query) = query.map_err(rejected)?;
    let chain: ChainId = parse("chain id", &chain)?;
    let other: ChainId = parse("chain id", &query.in_chain)?;
    let exclude: Option<Address> = query
        .exclude
        .as_deref()
        .map(|e| parse("exchanger", e))
        .transpose()?;
    let reference = handle
        .book
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .reference_rate(chain, other, now_ms(), exclude);
    let Some(ReferenceRate {
        median,
        bid,
        ask,
        quotes,
    }) = reference
    else {
        return Err(not_found(format!(
            "no live quote between {chain} and {other} here"
        )));
    };
    let spread_bps = bid.zip(ask).map(|(bid, ask)| {
        let price = |r: Rate| r.get as f64 / r.give as f64;
        (price(ask) - price(bid)) / price(ask) * 10_000.0
    });
    Ok(Json(ReferenceRateInfo {
        chain: chain.to_string(),
        in_chain: other.to_string(),
        median: rate_body(&median),
        bid: bid.as_ref().map(rate_body),
        ask: ask.as_ref().map(rate_body),
        spread_bps,
        quotes: quotes.iter().map(quote_info).collect(),
    }))
}

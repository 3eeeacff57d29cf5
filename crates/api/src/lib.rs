//! Myriad's HTTP API: JSON over HTTP for one host, an OpenAPI document at `/openapi.json`,
//! a server-sent event stream of heads and transaction statuses, and Prometheus metrics.
//!
//! Signed objects (geneses, transactions) travel as hex of their canonical encoding: the
//! exact bytes that were signed, with nothing for a JSON layer to reorder.
//!
//! Everything from outside is bounded: connections (in total and per address), the time a
//! request head, a body and an idle connection may take ([`ApiLimits`]), the size of the
//! request target, headers and bodies; every refusal is a JSON [`ErrorBody`].
#![forbid(unsafe_code)]

mod error;
mod explorer;
mod history;
#[cfg(feature = "lying")]
mod lying;
mod objects;
mod quotes;
mod request;
mod root;
mod search;
mod serve;
mod transactions;
mod watch;

use std::convert::Infallible;
use std::str::FromStr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use futures::Stream;
pub use myriad_api_types::{
    AccountHistory, AccountInfo, AllowlistInfo, AnchorProofBody, BlockAnswer, BlockInfo, ChainInfo,
    ChainList, ChainParamsInfo, ChannelInfo, CreateChainRequest, CreatedChain, DirectoryChain,
    DirectoryValidator, ErrorBody, EscrowInfo, GenesisInfo, Health, HistoryEntry, HostInfo,
    HostList, ObjectInfo, OwnerBondInfo, PendingAllowlistInfo, PostQuoteRequest, QuoteAnswer,
    QuoteBatchAnswer, QuoteBook, QuoteInfo, QuoteResult, QuoteTaken, RateBody, ReferenceRateInfo,
    RootInfo, SearchAnswer, SearchMatch, SubmitAnswer, SubmitBatchAnswer, SubmitRequest,
    SubmitResult, TxInfo, TxStatusBody, ValidatorBondInfo, ValidatorInfo, ValidatorSetInfo,
    PAGE_ENTRIES_MAX, POST_QUOTES_MAX, SUBMIT_BATCH_TXS_MAX, SUBMIT_BODY_BYTES_MAX,
};
use myriad_host::{AdmitError, Command, CreateError, HostEvent, HostHandle, SubmitError, TxStatus};
use myriad_ledger::ChainState;
use myriad_store::ChainHead;
use myriad_types::{
    decode, encode, Address, Block, ChainId, ChainParams, Hash, Height, SignedGenesis,
    SignedTransaction, ValidatorSet,
};
use serde::Deserialize;
use tokio::sync::oneshot;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;
use utoipa::OpenApi;

use crate::error::{bad_request, brief, busy, internal, not_found, rejected, ApiError};
pub use crate::error::{ERROR_CHARS_MAX, QUOTED_CHARS_MAX};
pub use crate::explorer::explorer_routes;
pub use crate::quotes::{QUOTE_DEPTH_DEFAULT, QUOTE_DEPTH_MAX};
use crate::request::{bounded_head, json_body, readable_anywhere};
pub use crate::request::{HEADERS_BYTES_MAX, URI_BYTES_MAX};
pub use crate::search::{SEARCH_MATCHES_MAX, SEARCH_QUERY_CHARS_MAX};
pub use crate::serve::{
    serve, serve_explorer, ApiLimits, BODY_READ_TIMEOUT, CONNECTIONS_MAX,
    CONNECTIONS_PER_ADDRESS_MAX, HEADER_READ_TIMEOUT, IDLE_TIMEOUT, SHUTDOWN_DRAIN_TIMEOUT,
};
use crate::transactions::{status_body, submit, tx_status};

/// The largest request body accepted, in bytes, but for `POST /transactions` and
/// `POST /quotes` ([`SUBMIT_BODY_BYTES_MAX`]).
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// The entries a page holds when `?limit=` is not given.
pub const PAGE_ENTRIES_DEFAULT: usize = 100;
/// When a client refused as busy (503) is told to try again, in its `Retry-After` header.
pub const RETRY_AFTER_SECONDS: u64 = 1;
/// How long `?wait=true` waits for a transaction to commit.
pub const WAIT_MAX: Duration = Duration::from_secs(30);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Myriad host API",
        description = "One host's view of the chains it validates."
    ),
    paths(
        create_chain,
        list_chains,
        chain_info,
        history::genesis,
        history::validators,
        block,
        account,
        account_history,
        objects::escrow,
        objects::channel,
        objects::allowlist,
        objects::validator_bond,
        transactions::submit,
        watch::watch,
        quotes::post_quote,
        quotes::quotes,
        quotes::quote_events,
        quotes::rate,
        root::root,
        root::hosts,
        root::host,
        root::directory_chain,
        root::anchor_proof,
        search::search,
        transactions::tx_status,
        events,
        metrics,
        health
    ),
    components(schemas(
        ErrorBody,
        CreateChainRequest,
        CreatedChain,
        ChainInfo,
        ChainParamsInfo,
        ValidatorInfo,
        GenesisInfo,
        ValidatorSetInfo,
        BlockAnswer,
        BlockInfo,
        TxInfo,
        AccountInfo,
        ChainList,
        HistoryEntry,
        AccountHistory,
        SubmitRequest,
        SubmitAnswer,
        SubmitBatchAnswer,
        SubmitResult,
        TxStatusBody,
        Health,
        watch::Watching,
        watch::WatchBody,
        ObjectInfo,
        EscrowInfo,
        ChannelInfo,
        AllowlistInfo,
        PendingAllowlistInfo,
        PostQuoteRequest,
        QuoteAnswer,
        QuoteBatchAnswer,
        QuoteResult,
        QuoteTaken,
        QuoteBook,
        QuoteInfo,
        RateBody,
        ReferenceRateInfo,
        RootInfo,
        HostInfo,
        HostList,
        DirectoryChain,
        DirectoryValidator,
        AnchorProofBody,
        SearchAnswer,
        SearchMatch,
        ValidatorBondInfo,
        OwnerBondInfo
    ))
)]
struct ApiDoc;

fn parse<T: FromStr>(what: &str, text: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| bad_request(format!("{what} `{text}`: {e}")))
}

fn from_hex<T: borsh::BorshDeserialize>(what: &'static str, text: &str) -> Result<T, ApiError> {
    let bytes = hex::decode(text).map_err(|e| bad_request(format!("{what}: not hex: {e}")))?;
    decode(what, &bytes).map_err(|e| bad_request(e.to_string()))
}

/// What handlers read: the host, the bounds requests are read within, and the host's swap
/// watcher if it runs one.
#[derive(Debug, Clone)]
struct Api {
    host: HostHandle,
    limits: ApiLimits,
    watcher: Option<myriad_watcher::Watcher>,
}

impl FromRef<Api> for HostHandle {
    fn from_ref(api: &Api) -> HostHandle {
        api.host.clone()
    }
}

impl Api {
    /// The request's JSON body, within `limit` bytes and the body timeout.
    async fn json<T: for<'de> Deserialize<'de>>(
        &self,
        headers: &HeaderMap,
        body: Body,
        limit: usize,
    ) -> Result<T, ApiError> {
        json_body(headers, body, limit, self.limits.body_read).await
    }
}

/// The API of one host, its requests read within `limits` (the connection bounds are
/// [`serve`]'s).
pub fn router(
    handle: HostHandle,
    limits: ApiLimits,
    watcher: Option<myriad_watcher::Watcher>,
) -> Router {
    Router::new()
        .route("/chains", post(create_chain).get(list_chains))
        .route("/chains/{chain}", get(chain_info))
        .route("/chains/{chain}/genesis", get(history::genesis))
        .route("/chains/{chain}/validators", get(history::validators))
        .route("/chains/{chain}/blocks/{height}", get(block))
        .route("/chains/{chain}/accounts/{address}", get(account))
        .route(
            "/chains/{chain}/accounts/{address}/txs",
            get(account_history),
        )
        .route("/chains/{chain}/escrows/{id}", get(objects::escrow))
        .route("/chains/{chain}/channels/{id}", get(objects::channel))
        .route("/chains/{chain}/bonds/{host}", get(objects::validator_bond))
        .route(
            "/chains/{chain}/allowlists/{address}",
            get(objects::allowlist),
        )
        .route("/swaps/watch", post(watch::watch))
        .route("/quotes", post(quotes::post_quote).get(quotes::quotes))
        .route("/quotes/events", get(quotes::quote_events))
        .route("/rates/{chain}", get(quotes::rate))
        .route("/root", get(root::root))
        .route("/root/hosts", get(root::hosts))
        .route("/root/hosts/{host}", get(root::host))
        .route("/root/chains/{chain}", get(root::directory_chain))
        .route("/root/anchors/{chain}", get(root::anchor_proof))
        .route("/search", get(search::search))
        .route("/transactions", post(submit))
        .route("/transactions/{hash}", get(tx_status))
        .route("/events", get(events))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .merge(explorer_routes(None, None))
        .fallback(|| async { not_found("no such endpoint; see /openapi.json") })
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            ApiError(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "method {method} is not allowed on `{}`; see /openapi.json",
                    uri.path()
                ),
            )
        })
        .layer(middleware::from_fn(readable_anywhere))
        .layer(middleware::from_fn(bounded_head))
        .with_state(Api {
            host: handle,
            limits,
            watcher,
        })
}

/// The API's bounds and the errors they give, for the OpenAPI document.
fn limits_description(limits: &ApiLimits) -> String {
    format!(
        "One host's view of the chains it validates.\n\n\
        Every error is a JSON `ErrorBody`. Besides each endpoint's own: 404 (no such \
        endpoint), 405 (method not allowed), 408 (a request body that did not arrive within \
        {body:?}), 413 (a body over {BODY_BYTES_MAX} bytes; {SUBMIT_BODY_BYTES_MAX} and \
        {SUBMIT_BATCH_TXS_MAX} transactions for `POST /transactions`, {SUBMIT_BODY_BYTES_MAX} and \
        {POST_QUOTES_MAX} quotes for `POST /quotes`), 414 (a request target \
        over {URI_BYTES_MAX} bytes), 415 (a body not sent as `application/json`) and 431 \
        (headers over {HEADERS_BYTES_MAX} bytes). A connection over the bounds ({total} open, \
        {per_address} from one address) is answered 503 and closed; one whose request head \
        takes over {head:?}, or that stays idle {idle:?}, is closed.",
        body = limits.body_read,
        total = limits.connections_max,
        per_address = limits.connections_per_address_max,
        head = limits.header_read,
        idle = limits.idle,
    )
}

/// Lists on every operation the refusals any request can get before it reaches its handler:
/// a request target or headers over their bounds, connections over theirs; and for those
/// with a body, a body too slow, too large or not JSON.
fn document_bounds(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let refusal = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    let any = [
        ("414", "the request target is over its bound"),
        ("431", "the request's headers are over their bound"),
        ("503", "busy, or over the bound of connections; try again"),
    ];
    let with_body = [
        ("408", "the body did not arrive in time"),
        ("413", "the body is over its bound"),
        ("415", "the body is not sent as application/json"),
    ];
    for item in document.paths.paths.values_mut() {
        for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
            let bounds: Vec<_> = match operation.request_body {
                Some(_) => any.iter().chain(&with_body).collect(),
                None => any.iter().collect(),
            };
            for (status, description) in bounds {
                operation
                    .responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| refusal(description).into());
            }
        }
    }
}

async fn openapi(State(api): State<Api>) -> Response {
    let mut document = ApiDoc::openapi();
    document.info.description = Some(limits_description(&api.limits));
    document_bounds(&mut document);
    match document.to_pretty_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => internal(error).into_response(),
    }
}

/// Starts hosting a chain whose genesis names this host. Answers once the genesis is durable.
#[utoipa::path(post, path = "/chains", request_body = CreateChainRequest,
    responses((status = 201, body = CreatedChain), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 408, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn create_chain(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<CreatedChain>), ApiError> {
    let request: CreateChainRequest = api.json(&headers, body, BODY_BYTES_MAX).await?;
    let genesis: SignedGenesis = from_hex("genesis", &request.genesis)?;
    let (reply, answer) = oneshot::channel();
    if !api.host.send(Command::CreateChain { genesis, reply }) {
        return Err(busy());
    }
    match answer.await.map_err(internal)? {
        Ok(chain) => Ok((
            StatusCode::CREATED,
            Json(CreatedChain {
                chain_id: chain.to_string(),
            }),
        )),
        Err(
            error
            @ (CreateError::NotNamed(_) | CreateError::OwnerRefused(_) | CreateError::Full(_)),
        ) => Err(ApiError(StatusCode::FORBIDDEN, error.to_string())),
        Err(error @ CreateError::ShuttingDown) => {
            Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, error.to_string()))
        }
        Err(error) => Err(bad_request(error.to_string())),
    }
}

/// A chain at its head: every field of its metadata (supply, minted, burned, validators…),
/// with what a verifier needs to check them against its state root.
#[utoipa::path(get, path = "/chains/{chain}", params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = ChainInfo), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn chain_info(
    State(handle): State<HostHandle>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ChainInfo>, ApiError> {
    let Path(chain) = path.map_err(rejected)?;
    let chain: ChainId = parse("chain id", &chain)?;
    let head = handle
        .store
        .chain_head(&chain)
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("chain {chain} is not hosted here")))?;
    Ok(Json(chain_info_of(&chain, &head)))
}

fn chain_info_of(chain: &ChainId, head: &ChainHead) -> ChainInfo {
    let meta = &head.meta;
    ChainInfo {
        chain_id: chain.to_string(),
        symbol: meta.symbol.as_str().to_owned(),
        decimals: meta.decimals,
        owner: meta.owner.to_string(),
        height: meta.height.0,
        head_hash: head.block_hash.to_string(),
        state_root: head.state_root().to_string(),
        supply: meta.supply.to_string(),
        max_supply: meta.max_supply.map(|m| m.to_string()),
        minted: meta.minted.to_string(),
        burned: meta.burned.to_string(),
        validators: history::validator_infos(&meta.validators),
        validators_hash: meta.validators.hash().to_string(),
        next_validators: meta
            .next_validators
            .as_deref()
            .map(history::validator_infos),
        time_ms: meta.time_ms,
        params: history::params_info(&meta.params),
        meta: hex::encode(encode(meta)),
        accounts_root: head.accounts_root.to_string(),
        objects_root: head.objects_root.to_string(),
    }
}

/// `?limit=` of a list, within `1..=PAGE_ENTRIES_MAX`.
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(PAGE_ENTRIES_DEFAULT) {
        limit @ 1..=PAGE_ENTRIES_MAX => Ok(limit),
        limit => Err(bad_request(format!(
            "limit {limit} is out of range: ask for 1 to {PAGE_ENTRIES_MAX} entries"
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct ChainsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// The chains this host validates, in chain id order, a page at a time.
#[utoipa::path(get, path = "/chains",
    params(("after" = Option<String>, Query, description = "list chains after this chain id", pattern = "^chain1[02-9ac-hj-np-z]{58}$"),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 1000, description = "1 to 1000; default 100")),
    responses((status = 200, body = ChainList), (status = 400, body = ErrorBody)))]
async fn list_chains(
    State(handle): State<HostHandle>,
    query: Result<Query<ChainsQuery>, QueryRejection>,
) -> Result<Json<ChainList>, ApiError> {
    let Query(query) = query.map_err(rejected)?;
    let after: Option<ChainId> = query
        .after
        .as_deref()
        .map(|c| parse("chain id", c))
        .transpose()?;
    let limit = page_limit(query.limit)?;
    let heads = handle
        .store
        .chains(after.as_ref(), limit)
        .map_err(internal)?;
    let next = (heads.len() == limit)
        .then(|| heads.last().map(|(chain, _)| chain.to_string()))
        .flatten();
    Ok(Json(ChainList {
        chains: heads
            .iter()
            .map(|(chain, head)| chain_info_of(chain, head))
            .collect(),
        next,
    }))
}

fn tx_info(tx: &SignedTransaction) -> TxInfo {
    TxInfo {
        hash: tx.hash().to_string(),
        sender: tx.tx.sender.to_string(),
        nonce: tx.tx.nonce,
        kind: tx.tx.kind.name().to_owned(),
        to: tx.tx.kind.recipient().map(|to| to.to_string()),
        amount: tx.tx.kind.amount().map(|amount| amount.to_string()),
        object: tx.tx.object().map(|object| object.to_string()),
    }
}

/// A committed block with its certificate; at height 0, the chain's genesis.
#[utoipa::path(get, path = "/chains/{chain}/blocks/{height}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"), ("height" = u64, Path, minimum = 0)),
    responses((status = 200, body = BlockAnswer, description = "the block (`BlockInfo`), or at height 0 the genesis (`GenesisInfo`)"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn block(
    State(handle): State<HostHandle>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<BlockAnswer>, ApiError> {
    let Path((chain, height)) = path.map_err(rejected)?;
    let chain: ChainId = parse("chain id", &chain)?;
    let height = Height(parse("height", &height)?);
    if height == Height(0) {
        return history::genesis_info(&handle, &chain)
            .map(|genesis| Json(BlockAnswer::Genesis(genesis)));
    }
    let store = &handle.store;
    let missing = || {
        not_found(format!(
            "chain {chain} has no block at height {height} here"
        ))
    };
    let (block, certificate) = store
        .certified_block(&chain, height)
        .map_err(internal)?
        .ok_or_else(missing)?;
    let header = &block.header;
    Ok(Json(BlockAnswer::Block(BlockInfo {
        chain_id: chain.to_string(),
        height: height.0,
        hash: block.hash().to_string(),
        prev_hash: header.prev_hash.to_string(),
        timestamp_ms: header.timestamp_ms,
        proposer: header.proposer.to_string(),
        state_root: header.state_root.to_string(),
        txs: block.txs.iter().map(tx_info).collect(),
        round: certificate.round.0,
        signers: certificate
            .signatures
            .iter()
            .map(|s| s.host.to_string())
            .collect(),
        block_bytes: hex::encode(encode(&block)),
        certificate_bytes: hex::encode(encode(&certificate)),
    })))
}

/// An account's balance and nonce, with a proof against the chain's state root.
#[utoipa::path(get, path = "/chains/{chain}/accounts/{address}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"), ("address" = String, Path, description = "acct1…", pattern = "^acct1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = AccountInfo), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn account(
    State(handle): State<HostHandle>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<AccountInfo>, ApiError> {
    let Path((chain, address)) = path.map_err(rejected)?;
    let chain: ChainId = parse("chain id", &chain)?;
    let address: Address = parse("address", &address)?;
    let state = hosted_state(&handle, chain).await?;
    let entry = state.account(&address);
    #[cfg(feature = "lying")]
    let entry = lying::account(entry);
    Ok(Json(AccountInfo {
        chain_id: chain.to_string(),
        address: address.to_string(),
        balance: entry.balance.to_string(),
        nonce: entry.nonce,
        height: state.meta().height.0,
        state_root: state.state_root().to_string(),
        proof: hex::encode(encode(&state.prove(&address))),
    }))
}

/// A chain's latest state as this host stored it, read off the async runtime.
async fn hosted_state(handle: &HostHandle, chain: ChainId) -> Result<ChainState, ApiError> {
    let store = handle.store.clone();
    tokio::task::spawn_blocking(move || store.chain_state(&chain))
        .await
        .map_err(internal)?
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("chain {chain} is not hosted here")))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    before: Option<String>,
    limit: Option<usize>,
}

/// The most digits of a history cursor's height and position: heights below 10^19 and
/// positions below 10^9, far past any chain's, so that every cursor of that form parses.
const CURSOR_DIGITS_MAX: (usize, usize) = (19, 9);

/// A history cursor: `height-position` of the last entry of a page, written as the API
/// writes it (no sign, no leading zeros, at most [`CURSOR_DIGITS_MAX`] digits each).
fn parse_cursor(text: &str) -> Result<(Height, u32), ApiError> {
    let invalid = || {
        bad_request(format!(
            "cursor `{text}`: expected height-position as the last page's `next` gave it, e.g. 12-0"
        ))
    };
    let (height, position) = text.split_once('-').ok_or_else(invalid)?;
    if height.len() > CURSOR_DIGITS_MAX.0 || position.len() > CURSOR_DIGITS_MAX.1 {
        return Err(invalid());
    }
    let cursor: (u64, u32) = (
        height.parse().map_err(|_| invalid())?,
        position.parse().map_err(|_| invalid())?,
    );
    if format!("{}-{}", cursor.0, cursor.1) != text {
        return Err(invalid());
    }
    Ok((Height(cursor.0), cursor.1))
}

/// An account's committed transactions on a chain (sent or received), newest first.
#[utoipa::path(get, path = "/chains/{chain}/accounts/{address}/txs",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"), ("address" = String, Path, description = "acct1…", pattern = "^acct1[02-9ac-hj-np-z]{58}$"),
        ("before" = Option<String>, Query, description = "the `next` cursor of the previous page: height-position", pattern = "^(0|[1-9][0-9]{0,18})-(0|[1-9][0-9]{0,8})$"),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 1000, description = "1 to 1000; default 100")),
    responses((status = 200, body = AccountHistory), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn account_history(
    State(handle): State<HostHandle>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<AccountHistory>, ApiError> {
    let Path((chain, address)) = path.map_err(rejected)?;
    let Query(query) = query.map_err(rejected)?;
    let chain: ChainId = parse("chain id", &chain)?;
    let address: Address = parse("address", &address)?;
    let before = query.before.as_deref().map(parse_cursor).transpose()?;
    let limit = page_limit(query.limit)?;
    let store = handle.store.clone();
    let history = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        if store.chain_head(&chain).map_err(internal)?.is_none() {
            return Err(not_found(format!("chain {chain} is not hosted here")));
        }
        let found = store
            .account_txs(&chain, &address, before, limit)
            .map_err(internal)?;
        let mut txs = Vec::with_capacity(found.len());
        let mut block: Option<Block> = None;
        for (height, position, hash) in &found {
            if block.as_ref().is_none_or(|b| b.header.height != *height) {
                block = store.block(&chain, *height).map_err(internal)?;
            }
            let tx = block
                .as_ref()
                .and_then(|b| b.txs.get(*position as usize).map(|tx| (b, tx)))
                .filter(|(_, tx)| tx.hash() == *hash);
            let Some((block, tx)) = tx else {
                return Err(internal(format!(
                    "store: transaction {hash} is indexed at {chain} height {height} but is not there"
                )));
            };
            txs.push(HistoryEntry {
                height: height.0,
                timestamp_ms: block.header.timestamp_ms,
                tx: tx_info(tx),
            });
        }
        let next = (found.len() == limit)
            .then(|| found.last().map(|(h, p, _)| format!("{h}-{p}")))
            .flatten();
        Ok(AccountHistory {
            chain_id: chain.to_string(),
            address: address.to_string(),
            txs,
            next,
        })
    })
    .await
    .map_err(internal)??;
    Ok(Json(history))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    chain: Option<String>,
}

/// Server-sent events: `head` (a chain's new block) and `tx` (a transaction's new status),
/// for every chain or for `?chain=` only.
#[utoipa::path(get, path = "/events", params(("chain" = Option<String>, Query, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, description = "text/event-stream of `head`, `tx` and `evidence` events"), (status = 400, body = ErrorBody)))]
async fn events(
    State(handle): State<HostHandle>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(query) = query.map_err(rejected)?;
    let only: Option<ChainId> = query
        .chain
        .as_deref()
        .map(|c| parse("chain id", c))
        .transpose()?;
    let stream = BroadcastStream::new(handle.events.subscribe()).filter_map(move |event| {
        let event = event.ok()?;
        let (name, chain, data) = match &event {
            HostEvent::Head {
                chain,
                height,
                block_hash,
                txs,
            } => (
                "head",
                *chain,
                serde_json::json!({"chain_id": chain.to_string(), "height": height.0,
                    "hash": block_hash.to_string(), "txs": txs}),
            ),
            HostEvent::Tx { hash, status } => {
                let chain = match status {
                    TxStatus::Pending { chain }
                    | TxStatus::Committed { chain, .. }
                    | TxStatus::Rejected { chain, .. } => *chain,
                };
                (
                    "tx",
                    chain,
                    serde_json::to_value(status_body(*hash, status)).ok()?,
                )
            }
            HostEvent::Evidence { chain, evidence } => {
                let vote = &evidence.first.vote;
                (
                    "evidence",
                    *chain,
                    serde_json::json!({"chain_id": chain.to_string(), "host": evidence.first.voter.to_string(),
                        "height": vote.height.0, "round": vote.round.0}),
                )
            }
        };
        if only.is_some_and(|c| c != chain) {
            return None;
        }
        Some(Ok(Event::default().event(name).data(data.to_string())))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
async fn metrics(State(api): State<Api>) -> Response {
    let mut text = api.host.metrics.render();
    if let Some(watcher) = &api.watcher {
        // Before the exposition's end marker.
        let end = text.rfind("# EOF").unwrap_or(text.len());
        text.insert_str(end, &watch::metrics(watcher));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Whether the host is up, with its id.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
async fn health(State(handle): State<HostHandle>) -> Result<Json<Health>, ApiError> {
    Ok(Json(Health {
        status: "ok".to_owned(),
        host: handle.host.to_string(),
        chains: handle.store.chain_count().map_err(internal)?,
    }))
}

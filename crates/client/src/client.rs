//! A blocking client of one host's HTTP API, whose errors name the host and the problem.

use std::time::Duration;

use myriad_api_types::{
    AccountHistory, AccountInfo, ChainInfo, ChainList, CreatedChain, ErrorBody, Health,
    SubmitBatchAnswer, SubmitResult, TxStatusBody, SUBMIT_BATCH_TXS_MAX, SUBMIT_BODY_BYTES_MAX,
};
use myriad_types::{encode, Address, ChainId, Hash, SignedGenesis, SignedTransaction};
use serde::de::DeserializeOwned;

/// How long one request may take; `?wait=true` waits up to 30 s on the host's side.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);

/// The longest line, and the longest data of one event, read from an event stream, in bytes
/// (a `tx` event's data is a few hundred).
pub const EVENT_BYTES_MAX: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the host at {url}: {reason} (is it running? `myriad devnet` starts a local network)")]
    Unreachable { url: String, reason: String },
    #[error("{message} (host {url})")]
    NotFound { url: String, message: String },
    #[error("host {url} refused the request ({status}): {message}")]
    Refused {
        url: String,
        status: u16,
        message: String,
    },
    #[error("host {url} answered something unreadable: {reason}")]
    Malformed { url: String, reason: String },
}

/// A client for many requests in flight at once (bulk chain creation, benchmarks): HTTP/1.1
/// over kept-alive connections, on the caller's tokio runtime.
#[derive(Debug, Clone)]
pub struct BulkClient {
    inner: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<hyper::body::Bytes>,
    >,
}

impl Default for BulkClient {
    /// Requests are driven by the tokio runtime they are awaited on.
    fn default() -> BulkClient {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let inner =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(4096)
                .build(connector);
        BulkClient { inner }
    }
}

impl BulkClient {
    /// POSTs a JSON body to `uri`; answers the status and the body, or why there is none.
    pub async fn post(
        &self,
        uri: &hyper::Uri,
        body: hyper::body::Bytes,
    ) -> Result<(u16, hyper::body::Bytes), String> {
        let request = hyper::Request::post(uri.clone())
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(body))
            .map_err(|e| e.to_string())?;
        self.answer(uri, request).await
    }

    /// GETs `uri`; answers the status and the body, or why there is none.
    pub async fn get(&self, uri: &hyper::Uri) -> Result<(u16, hyper::body::Bytes), String> {
        let request = hyper::Request::get(uri.clone())
            .body(http_body_util::Full::default())
            .map_err(|e| e.to_string())?;
        self.answer(uri, request).await
    }

    /// Sends `request` to `uri`; answers the status and the whole body.
    async fn answer(
        &self,
        uri: &hyper::Uri,
        request: hyper::Request<http_body_util::Full<hyper::body::Bytes>>,
    ) -> Result<(u16, hyper::body::Bytes), String> {
        use http_body_util::BodyExt;
        let response = self.send(uri, request).await?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, bytes))
    }

    /// Sends `request` to `uri`; an error says which host could not be reached.
    async fn send(
        &self,
        uri: &hyper::Uri,
        request: hyper::Request<http_body_util::Full<hyper::body::Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        self.inner
            .request(request)
            .await
            .map_err(|e| format!("cannot reach {uri}: {e}"))
    }

    /// Opens the server-sent event stream at `uri` (a host's `/events`); answers once the
    /// host has accepted it.
    pub async fn subscribe(&self, uri: &hyper::Uri) -> Result<EventStream, String> {
        let request = hyper::Request::get(uri.clone())
            .header("accept", "text/event-stream")
            .body(http_body_util::Full::default())
            .map_err(|e| e.to_string())?;
        let response = self.send(uri, request).await?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!("{uri} answered {status} to a subscription"));
        }
        Ok(EventStream {
            body: response.into_body(),
            reader: EventReader::default(),
        })
    }
}

/// Splits a server-sent event stream (`GET /events`) into events, as its chunks arrive.
#[derive(Debug, Default)]
pub struct EventReader {
    /// The line read so far.
    line: Vec<u8>,
    /// The event being read: its name, and its data lines joined by `\n`.
    name: String,
    data: String,
}

impl EventReader {
    /// Reads `chunk`; calls `on_event(name, data)` for each event it completes (the name is
    /// `message` when the event gives none). Comments and fields other than `event` and
    /// `data` are skipped. A line or data over [`EVENT_BYTES_MAX`] is an error.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        on_event: &mut impl FnMut(&str, &str),
    ) -> Result<(), String> {
        for byte in chunk {
            if *byte != b'\n' {
                if self.line.len() == EVENT_BYTES_MAX {
                    return Err(format!(
                        "an event stream line is over {EVENT_BYTES_MAX} bytes"
                    ));
                }
                self.line.push(*byte);
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            self.line_done(&String::from_utf8_lossy(line), on_event)?;
        }
        Ok(())
    }

    fn line_done(
        &mut self,
        line: &str,
        on_event: &mut impl FnMut(&str, &str),
    ) -> Result<(), String> {
        if line.is_empty() {
            if !self.data.is_empty() || !self.name.is_empty() {
                let name = if self.name.is_empty() {
                    "message"
                } else {
                    &self.name
                };
                on_event(name, &self.data);
            }
            self.name.clear();
            self.data.clear();
            return Ok(());
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => value.clone_into(&mut self.name),
            "data" => {
                if self.data.len() + value.len() + 1 > EVENT_BYTES_MAX {
                    return Err(format!("an event's data is over {EVENT_BYTES_MAX} bytes"));
                }
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            _ => {}
        }
        Ok(())
    }
}

/// A host's open event stream: the host has subscribed it, so no event after its opening is
/// missed (but for those a lagging reader loses on the host's side).
#[derive(Debug)]
pub struct EventStream {
    body: hyper::body::Incoming,
    reader: EventReader,
}

impl EventStream {
    /// Reads events until the host ends the stream, calling `on_event(name, data)` for each.
    pub async fn for_each(mut self, mut on_event: impl FnMut(&str, &str)) -> Result<(), String> {
        use http_body_util::BodyExt;
        while let Some(frame) = self.body.frame().await {
            let frame = frame.map_err(|e| format!("reading the event stream: {e}"))?;
            if let Some(bytes) = frame.data_ref() {
                self.reader.feed(bytes, &mut on_event)?;
            }
        }
        Ok(())
    }
}

fn submit_path(wait: bool) -> &'static str {
    if wait {
        "/transactions?wait=true"
    } else {
        "/transactions"
    }
}

/// One host's API.
#[derive(Debug, Clone)]
pub struct Client {
    url: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the API at `url` (`http://127.0.0.1:8000`; `http://` may be left out).
    pub fn new(url: &str) -> Client {
        let url = url.trim_end_matches('/');
        let url = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        Client { url, agent }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn answer<T: DeserializeOwned>(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let mut response = response.map_err(|e| ClientError::Unreachable {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| ClientError::Malformed {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| ClientError::Malformed {
                url: self.url.clone(),
                reason: e.to_string(),
            });
        }
        let message = serde_json::from_str::<ErrorBody>(&text)
            .map(|body| body.error)
            .unwrap_or(text);
        Err(if status == 404 {
            ClientError::NotFound {
                url: self.url.clone(),
                message,
            }
        } else {
            ClientError::Refused {
                url: self.url.clone(),
                status,
                message,
            }
        })
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.answer(self.agent.get(format!("{}{path}", self.url)).call())
    }

    pub(crate) fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ClientError> {
        self.answer(
            self.agent
                .post(format!("{}{path}", self.url))
                .header("content-type", "application/json")
                .send(body.to_string().as_bytes()),
        )
    }

    pub fn health(&self) -> Result<Health, ClientError> {
        self.get("/health")
    }

    pub fn chain(&self, chain: &ChainId) -> Result<ChainInfo, ClientError> {
        self.get(&format!("/chains/{chain}"))
    }

    pub fn chains(&self, after: Option<&str>, limit: usize) -> Result<ChainList, ClientError> {
        match after {
            Some(after) => self.get(&format!("/chains?limit={limit}&after={after}")),
            None => self.get(&format!("/chains?limit={limit}")),
        }
    }

    pub fn account(&self, chain: &ChainId, address: &Address) -> Result<AccountInfo, ClientError> {
        self.get(&format!("/chains/{chain}/accounts/{address}"))
    }

    pub fn history(
        &self,
        chain: &ChainId,
        address: &Address,
        before: Option<&str>,
        limit: usize,
    ) -> Result<AccountHistory, ClientError> {
        let path = format!("/chains/{chain}/accounts/{address}/txs?limit={limit}");
        match before {
            Some(before) => self.get(&format!("{path}&before={before}")),
            None => self.get(&path),
        }
    }

    pub fn create_chain(&self, genesis: &SignedGenesis) -> Result<CreatedChain, ClientError> {
        self.post(
            "/chains",
            &serde_json::json!({ "genesis": hex::encode(encode(genesis)) }),
        )
    }

    /// Submits a transaction; with `wait`, the answer comes once it is committed or rejected.
    pub fn submit(&self, tx: &SignedTransaction, wait: bool) -> Result<TxStatusBody, ClientError> {
        self.post(
            submit_path(wait),
            &serde_json::json!({ "tx": hex::encode(encode(tx)) }),
        )
    }

    /// Submits many transactions, in batches within the API's limits (of count and bytes,
    /// sent one after the other); answers one result per transaction, in order: its status,
    /// or why the host refused it. With `wait`, a batch is answered once each of its
    /// transactions is committed or rejected.
    pub fn submit_many(
        &self,
        txs: &[SignedTransaction],
        wait: bool,
    ) -> Result<Vec<SubmitResult>, ClientError> {
        // `{"txs":[` and `]}`, then each transaction's quotes and comma.
        const BODY_OVERHEAD_BYTES: usize = 10;
        const TX_OVERHEAD_BYTES: usize = 3;
        let mut results = Vec::with_capacity(txs.len());
        let mut batch: Vec<String> = Vec::new();
        let mut bytes = BODY_OVERHEAD_BYTES;
        for tx in txs {
            let hex = hex::encode(encode(tx));
            let full = batch.len() == SUBMIT_BATCH_TXS_MAX
                || bytes + hex.len() + TX_OVERHEAD_BYTES > SUBMIT_BODY_BYTES_MAX;
            if full && !batch.is_empty() {
                results.extend(self.submit_batch(std::mem::take(&mut batch), wait)?);
                bytes = BODY_OVERHEAD_BYTES;
            }
            bytes += hex.len() + TX_OVERHEAD_BYTES;
            batch.push(hex);
        }
        if !batch.is_empty() {
            results.extend(self.submit_batch(batch, wait)?);
        }
        Ok(results)
    }

    fn submit_batch(&self, txs: Vec<String>, wait: bool) -> Result<Vec<SubmitResult>, ClientError> {
        let sent = txs.len();
        let answer: SubmitBatchAnswer =
            self.post(submit_path(wait), &serde_json::json!({ "txs": txs }))?;
        if answer.results.len() != sent {
            return Err(ClientError::Malformed {
                url: self.url.clone(),
                reason: format!(
                    "{} results for a batch of {sent} transactions",
                    answer.results.len()
                ),
            });
        }
        Ok(answer.results)
    }

    pub fn tx_status(&self, hash: &Hash) -> Result<TxStatusBody, ClientError> {
        self.get(&format!("/transactions/{hash}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn events(chunks: &[&[u8]]) -> Result<Vec<(String, String)>, String> {
        let mut reader = EventReader::default();
        let mut seen = Vec::new();
        for chunk in chunks {
            reader.feed(chunk, &mut |name, data| {
                seen.push((name.to_owned(), data.to_owned()));
            })?;
        }
        Ok(seen)
    }

    #[test]
    fn event_stream_is_split_into_events_across_chunks() {
        let seen = events(&[
            b": keep-alive\n\nevent: tx\ndata: {\"hash\":",
            b"\"ab\"}\n\r\n",
            b"data: one\r\ndata: two\n\nevent: head\nid: 7\ndata:x\n\n",
        ])
        .unwrap();
        assert_eq!(
            seen,
            [
                ("tx".to_owned(), "{\"hash\":\"ab\"}".to_owned()),
                ("message".to_owned(), "one\ntwo".to_owned()),
                ("head".to_owned(), "x".to_owned()),
            ]
        );
    }

    #[test]
    fn event_stream_lines_and_data_are_bounded() {
        let long = vec![b'a'; EVENT_BYTES_MAX + 1];
        let error = events(&[b"data: ", &long]).unwrap_err();
        assert!(error.contains("line is over"), "{error}");
        let half = format!("data: {}\n", "b".repeat(EVENT_BYTES_MAX / 2));
        let error = events(&[half.as_bytes(), half.as_bytes(), half.as_bytes()]).unwrap_err();
        assert!(error.contains("data is over"), "{error}");
    }
}

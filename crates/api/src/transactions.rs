//! Transactions: submitting one or a batch, and asking where one stands.

use super::*;

pub(crate) fn status_body(hash: Hash, status: &TxStatus) -> TxStatusBody {
    let (name, chain, height, reason) = match status {
        TxStatus::Pending { chain } => ("pending", chain, None, None),
        TxStatus::Committed { chain, height } => ("committed", chain, Some(height.0), None),
        TxStatus::Rejected { chain, reason } => ("rejected", chain, None, Some(reason.clone())),
    };
    TxStatusBody {
        hash: hash.to_string(),
        status: name.to_owned(),
        chain_id: Some(chain.to_string()),
        height,
        reason,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubmitQuery {
    #[serde(default)]
    wait: bool,
}

/// Submits one transaction (`tx`) or a batch (`txs`, at most 1000); answers each once
/// admitted, or with `?wait=true` once committed (durably) or rejected. One transaction is
/// answered with its status, or an error, as the HTTP status; a batch with 200 and one result
/// per transaction, in order, each with the status it would have had alone.
#[utoipa::path(post, path = "/transactions", request_body = SubmitRequest,
    params(("wait" = Option<bool>, Query, description = "wait for the commit (of each)")),
    responses((status = 202, body = TxStatusBody, description = "`tx`: admitted, pending"),
        (status = 200, body = SubmitAnswer, description = "`tx` with `?wait=true`: committed or rejected (`TxStatusBody`); `txs`: one result per transaction, in order (`SubmitBatchAnswer`)"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 408, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody, description = "body over 1 MiB, or over 1000 transactions"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)))]
pub(crate) async fn submit(
    State(api): State<Api>,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(rejected)?;
    let request: SubmitRequest = api.json(&headers, body, SUBMIT_BODY_BYTES_MAX).await?;
    match (request.tx, request.txs) {
        (Some(tx), None) => {
            let answered = submit_all(&api.host, vec![tx], query.wait).await;
            let Some(answer) = answered.into_iter().next() else {
                return Err(internal("a transaction sent was not answered"));
            };
            let (code, status) = answer?;
            Ok((code, Json(status)).into_response())
        }
        (None, Some(txs)) => {
            if txs.is_empty() {
                return Err(bad_request("`txs` is empty: send at least one transaction"));
            }
            if txs.len() > SUBMIT_BATCH_TXS_MAX {
                return Err(ApiError(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "a batch holds at most {SUBMIT_BATCH_TXS_MAX} transactions and this one has {}: split it",
                        txs.len()
                    ),
                ));
            }
            let results = submit_all(&api.host, txs, query.wait)
                .await
                .into_iter()
                .map(|answer| match answer {
                    Ok((code, status)) => SubmitResult {
                        code: code.as_u16(),
                        tx: Some(status),
                        error: None,
                    },
                    Err(ApiError(code, message)) => SubmitResult {
                        code: code.as_u16(),
                        tx: None,
                        error: Some(brief(&message)),
                    },
                })
                .collect();
            Ok(Json(SubmitBatchAnswer { results }).into_response())
        }
        _ => Err(bad_request(
            "request body: expected `tx` (hex of one transaction) or `txs` (a list of them), not both",
        )),
    }
}

/// Hands each transaction (hex) to the host, then answers each one's outcome, in order:
/// once admitted, or with `wait` once committed or rejected, or refused; one still pending
/// after [`WAIT_MAX`] is answered 504.
async fn submit_all(
    handle: &HostHandle,
    txs: Vec<String>,
    wait: bool,
) -> Vec<Result<(StatusCode, TxStatusBody), ApiError>> {
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    let sent: Vec<Result<(Hash, oneshot::Receiver<_>), ApiError>> = txs
        .iter()
        .map(|hex| {
            let tx: SignedTransaction = from_hex("transaction", hex)?;
            let hash = tx.hash();
            let (reply, answer) = oneshot::channel();
            if !handle.send(Command::Submit { tx, wait, reply }) {
                return Err(busy());
            }
            Ok((hash, answer))
        })
        .collect();
    futures::future::join_all(sent.into_iter().map(|sent| async move {
        let (hash, answer) = sent?;
        let answer = tokio::time::timeout_at(deadline, answer)
            .await
            .map_err(|_| {
                ApiError(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "transaction {hash} is not committed after {} s; it is still pending",
                        WAIT_MAX.as_secs()
                    ),
                )
            })?
            .map_err(internal)?;
        outcome(hash, answer)
    }))
    .await
}

/// What the host answered about one transaction, as the API answers it.
fn outcome(
    hash: Hash,
    answer: Result<TxStatus, SubmitError>,
) -> Result<(StatusCode, TxStatusBody), ApiError> {
    match answer {
        Ok(status) => {
            let code = match status {
                TxStatus::Pending { .. } => StatusCode::ACCEPTED,
                _ => StatusCode::OK,
            };
            Ok((code, status_body(hash, &status)))
        }
        Err(error @ SubmitError::UnknownChain(_)) => Err(not_found(error.to_string())),
        Err(SubmitError::Admit(error)) => Err(ApiError(admit_status(&error), error.to_string())),
        Err(error @ SubmitError::ShuttingDown) => {
            Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, error.to_string()))
        }
        Err(error) => Err(bad_request(error.to_string())),
    }
}

/// The status of a refused admission: 503 while the host or chain is busy (retry later), 409
/// when the transaction conflicts with what is committed or pending (its nonce is used or
/// held, it is pending already, its sender's share is full until some commit), 422 when its
/// sender cannot send it as things stand (no account, not enough left after its pending
/// transactions, a nonce too far ahead, a rule of the ledger).
fn admit_status(error: &AdmitError) -> StatusCode {
    match error {
        AdmitError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        AdmitError::Duplicate(_)
        | AdmitError::StaleNonce { .. }
        | AdmitError::NoncePending { .. }
        | AdmitError::SenderShareFull { .. } => StatusCode::CONFLICT,
        AdmitError::NonceTooFar { .. }
        | AdmitError::UnknownSender { .. }
        | AdmitError::InsufficientBalance { .. }
        | AdmitError::WouldFail(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Where a transaction stands: pending, committed at a height, or rejected with the reason.
#[utoipa::path(get, path = "/transactions/{hash}",
    params(("hash" = String, Path, description = "the transaction's hash, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = TxStatusBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn tx_status(
    State(handle): State<HostHandle>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TxStatusBody>, ApiError> {
    let Path(hash) = path.map_err(rejected)?;
    let hash: Hash = parse("transaction hash", &hash)?;
    if let Some((chain, height)) = handle.store.tx_location(&hash).map_err(internal)? {
        return Ok(Json(status_body(
            hash,
            &TxStatus::Committed { chain, height },
        )));
    }
    let statuses = handle
        .statuses
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match statuses.get(&hash) {
        Some(status) => Ok(Json(status_body(hash, status))),
        None => Err(not_found(format!(
            "transaction {hash} is unknown to this host"
        ))),
    }
}

//! What a request must respect before a handler uses it: a head within its bounds, and a
//! JSON body that is announced as JSON, fits its limit and arrives in time.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use crate::error::{bad_request, ApiError};

/// The longest request target (path and query), in bytes; the API's own are under 300.
pub const URI_BYTES_MAX: usize = 2048;
/// The most bytes of request headers (names and values), in bytes. A head too large for the
/// connection's read buffer (64 KiB) is refused by the HTTP layer itself, without a JSON body.
pub const HEADERS_BYTES_MAX: usize = 8 * 1024;

/// Refuses a request whose target or headers are over their bounds (414, 431), before it is
/// routed; closes the connection after an error answer to a request that announced a body,
/// which may be left unread (reading the rest is what such a refusal declines, and hyper
/// would otherwise keep the connection open, waiting for it, with no timer).
pub(crate) async fn bounded_head(request: Request, next: Next) -> Response {
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if uri_bytes > URI_BYTES_MAX {
        let message =
            format!("the request target is {uri_bytes} bytes, over the limit of {URI_BYTES_MAX}");
        return ApiError(StatusCode::URI_TOO_LONG, message).into_response();
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > HEADERS_BYTES_MAX {
        let message = format!(
            "the request headers are {header_bytes} bytes, over the limit of {HEADERS_BYTES_MAX}"
        );
        return ApiError(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message).into_response();
    }
    let headers = request.headers();
    let announces_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    let mut response = next.run(request).await;
    let status = response.status();
    if announces_body && (status.is_client_error() || status.is_server_error()) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Lets pages from anywhere read the API: the explorer, served by one host, reads the hosts
/// of the chains that host does not hold. Answers to `GET` carry
/// `Access-Control-Allow-Origin: *`; no credentials go with such requests (the API has
/// none), and other methods get no such header, so a page elsewhere cannot send
/// transactions through a visitor's browser (its JSON body needs a preflight, which the API
/// does not answer).
pub(crate) async fn readable_anywhere(request: Request, next: Next) -> Response {
    let read = request.method() == Method::GET;
    let mut response = next.run(request).await;
    if read {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// Reads a JSON body sent as `application/json`: refused at once (413) when its announced
/// length is over `limit` bytes, and when it does not arrive within `timeout` (408).
pub(crate) async fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<T, ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|media| media.eq_ignore_ascii_case("application/json")) {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be JSON, sent with `Content-Type: application/json`".to_owned(),
        ));
    }
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let too_large = |length: String| {
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is {length}, over the limit of {limit} bytes"),
        )
    };
    if let Some(length) = announced.filter(|length| *length > limit as u64) {
        return Err(too_large(format!("{length} bytes")));
    }
    let bytes = tokio::time::timeout(timeout, Limited::new(body, limit).collect())
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::REQUEST_TIMEOUT,
                format!("the request body did not arrive within {timeout:?}"),
            )
        })?
        .map_err(|error| {
            if error.is::<LengthLimitError>() {
                too_large("longer".to_owned())
            } else {
                bad_request(format!("cannot read the request body: {error}"))
            }
        })?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| bad_request(format!("request body: {e}")))
}

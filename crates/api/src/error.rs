//! Every error answer: a status and `{"error": "..."}`, which never hands the caller's input
//! back at length.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use myriad_api_types::ErrorBody;

use crate::RETRY_AFTER_SECONDS;

/// The most characters of one quoted piece of the caller's input an error message repeats
/// (a value between quotes or backticks); the rest is cut and marked `…`.
pub const QUOTED_CHARS_MAX: usize = 48;
/// The most characters an error message has in all.
pub const ERROR_CHARS_MAX: usize = 512;

#[derive(Debug)]
pub(crate) struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    /// The error as JSON; "busy" (503) says when to try again.
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            error: brief(&self.1),
        });
        if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            let retry = [(header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string())];
            return (self.0, retry, body).into_response();
        }
        (self.0, body).into_response()
    }
}

pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, message.into())
}

pub(crate) fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

pub(crate) fn busy() -> ApiError {
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy: the host's queue is full, retry later".to_owned(),
    )
}

/// An extractor's refusal, as a JSON error.
pub(crate) fn rejected(rejection: impl IntoResponse + std::fmt::Display) -> ApiError {
    let message = rejection.to_string();
    ApiError(rejection.into_response().status(), message)
}

/// `message` with every quoted piece (between `"…"` or `` `…` ``) cut to
/// [`QUOTED_CHARS_MAX`] characters, and the whole to [`ERROR_CHARS_MAX`]: messages of this
/// API and of the parsers it uses quote what they could not read, and that may be kilobytes.
pub(crate) fn brief(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(ERROR_CHARS_MAX));
    let mut open: Option<char> = None;
    let mut quoted = 0usize;
    let mut written = 0usize;
    for c in message.chars() {
        if written == ERROR_CHARS_MAX {
            out.push('…');
            break;
        }
        let kept = match open {
            Some(quote) if c == quote => {
                open = None;
                Some(c)
            }
            Some(_) => {
                quoted += 1;
                match quoted.cmp(&(QUOTED_CHARS_MAX + 1)) {
                    std::cmp::Ordering::Less => Some(c),
                    std::cmp::Ordering::Equal => Some('…'),
                    std::cmp::Ordering::Greater => None,
                }
            }
            None => {
                if matches!(c, '"' | '`') {
                    open = Some(c);
                    quoted = 0;
                }
                Some(c)
            }
        };
        if let Some(kept) = kept {
            out.push(kept);
            written += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_says_when_to_retry_and_other_errors_do_not() {
        let answer = busy().into_response();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        let retry = answer.headers().get(header::RETRY_AFTER);
        assert_eq!(
            retry.and_then(|v| v.to_str().ok()),
            Some(RETRY_AFTER_SECONDS.to_string().as_str())
        );
        let refused = bad_request("no").into_response();
        assert!(refused.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn quoted_input_is_cut_and_the_rest_kept() {
        let long = "x".repeat(10_000);
        let message = format!("chain id `{long}`: not a valid chain id");
        let short = brief(&message);
        assert_eq!(
            short,
            format!(
                "chain id `{}…`: not a valid chain id",
                "x".repeat(QUOTED_CHARS_MAX)
            )
        );
        let serde = format!("invalid type: string \"{long}\", expected a sequence at line 1");
        assert!(brief(&serde).ends_with("…\", expected a sequence at line 1"));
        // Short quotes, and text without quotes, are unchanged; an apostrophe opens nothing.
        let plain = "unknown field `txx`, expected `tx` or `txs`";
        assert_eq!(brief(plain), plain);
        let owner = format!(
            "this host's policy refuses chains owned by acct1{}",
            "q".repeat(58)
        );
        assert_eq!(brief(&owner), owner);
    }

    #[test]
    fn a_message_is_cut_to_its_maximum() {
        let unquoted = "y".repeat(5 * ERROR_CHARS_MAX);
        let short = brief(&unquoted);
        assert_eq!(short.chars().count(), ERROR_CHARS_MAX + 1);
        assert!(short.ends_with('…'));
    }
}

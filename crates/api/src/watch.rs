//! `POST /swaps/watch`: a swap handed to this host's watcher, which finishes or refunds it
//! for a user who went offline (see `myriad-watcher`).

use myriad_watcher::{WatchError, WatchRequest};

use super::*;

/// What a registration answers: the swap's id and the account the watcher signs with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Watching {
    pub id: String,
    pub watcher: String,
}

/// The body of `POST /swaps/watch` (the watcher's `WatchRequest`), for the API's document.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // Read by the watcher as its own `WatchRequest`; this only describes it.
pub(crate) struct WatchBody {
    /// The maker's swap offer, `myriad-swap-2:<hex>`.
    #[schema(pattern = "^myriad-swap-2:([0-9a-fA-F]{2})+$")]
    offer: String,
    /// The taker's escrow on the other chain, `escrow1…`, once locked.
    #[schema(pattern = "^escrow1[02-9ac-hj-np-z]{58}$")]
    counter: Option<String>,
    /// Hosts' API URLs to read both chains from, besides this host.
    hosts: Option<Vec<String>>,
}

/// Hands a swap to this host's watcher: `{"offer": "myriad-swap-2:…", "counter":
/// "escrow1…"?, "hosts": ["http://…"]?}`. No secret is needed. Answered once recorded
/// durably.
#[utoipa::path(post, path = "/swaps/watch", request_body = WatchBody,
    responses((status = 200, body = Watching), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "this host runs no watcher"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many swaps of one account"),
        (status = 503, body = ErrorBody, description = "the watcher is full")))]
pub(crate) async fn watch(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Watching>, ApiError> {
    let Some(watcher) = api.watcher.clone() else {
        return Err(not_found(
            "this host runs no swap watcher (`[watcher] enabled = true` in its configuration)",
        ));
    };
    let request: WatchRequest = api.json(&headers, body, BODY_BYTES_MAX).await?;
    let address = watcher.address();
    let id = tokio::task::spawn_blocking(move || watcher.register(request))
        .await
        .map_err(internal)?
        .map_err(|error| match error {
            WatchError::Invalid(_) => bad_request(error.to_string()),
            WatchError::AccountFull { .. } => {
                ApiError(StatusCode::TOO_MANY_REQUESTS, error.to_string())
            }
            WatchError::Full(_) => ApiError(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
            WatchError::Io(_) => internal(error),
        })?;
    Ok(Json(Watching {
        id: id.to_string(),
        watcher: address.to_string(),
    }))
}

/// The watcher's counters in the OpenMetrics text format, to add to the host's.
pub(crate) fn metrics(watcher: &myriad_watcher::Watcher) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let stats = watcher.stats();
    let mut text = format!(
        "# TYPE myriad_watcher_swaps gauge\n# HELP myriad_watcher_swaps Swaps the watcher watches.\nmyriad_watcher_swaps {}\n",
        watcher.watching()
    );
    for (name, help, value) in [
        (
            "registered",
            "Swaps registered (or registered again).",
            &stats.registered,
        ),
        (
            "refused",
            "Registrations refused at a limit.",
            &stats.refused,
        ),
        (
            "claims",
            "Claims the watcher committed for a taker.",
            &stats.claims,
        ),
        ("refunds", "Refunds the watcher committed.", &stats.refunds),
        (
            "failures",
            "Looks or sends that failed, tried again next pass.",
            &stats.failures,
        ),
    ] {
        text.push_str(&format!(
            "# TYPE myriad_watcher_{name} counter\n# HELP myriad_watcher_{name} {help}\nmyriad_watcher_{name}_total {}\n",
            value.load(Relaxed)
        ));
    }
    text
}

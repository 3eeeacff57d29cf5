//! The block explorer (`myriad-explorer`), served at `/explorer/`: plain files, the same on
//! every host. The page reads this host's API, and the API of the hosts the root's directory
//! names for chains this host does not hold; `config.json` tells it where the API is when
//! the explorer is served apart from a host (`myriad explorer`), and which root chain it
//! trusts.

use axum::response::Redirect;

use super::*;

/// The explorer's routes. When it is served apart from a host: `api`, the host whose API the
/// page reads, and `root_chain`, the root chain it trusts (else the page trusts the first
/// root a browser saw).
pub fn explorer_routes<S: Clone + Send + Sync + 'static>(
    api: Option<String>,
    root_chain: Option<String>,
) -> Router<S> {
    let config = serde_json::json!({ "api": api, "root_chain": root_chain }).to_string();
    Router::new()
        .route(
            "/explorer",
            get(|| async { Redirect::permanent("/explorer/") }),
        )
        .route("/explorer/", get(|| async { file("") }))
        .route(
            "/explorer/config.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], config) }),
        )
        .route(
            "/explorer/{*path}",
            get(|Path(path): Path<String>| async move { file(&path) }),
        )
}

/// One of the explorer's files, with headers that keep its scripts to what it ships: it
/// loads scripts, styles and images from its own server only, and reads JSON from anywhere.
fn file(path: &str) -> Response {
    match myriad_explorer::asset(path) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; connect-src *; object-src 'none'; base-uri 'none'",
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => not_found(format!("the explorer has no file `{}`", brief(path))).into_response(),
    }
}

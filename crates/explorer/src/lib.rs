//! The block explorer's files, built into the binary: a host serves them at `/explorer/`,
//! and `myriad explorer` on its own. The page is plain ES modules (no build step); it reads
//! hosts' JSON API and checks what they say with its own implementation of the wire format
//! (`web/wire.js`, `web/verify.js`), over the vendored `@noble/hashes` and `@noble/ed25519`
//! (`web/vendor/`, with their licenses).
#![forbid(unsafe_code)]

/// One file of the explorer.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        /// Every file, by its path under the explorer's root.
        pub const ASSETS: &[(&str, &[u8])] = &[
            $(($path, include_bytes!(concat!("../web/", $path)))),*
        ];
    };
}

assets!(
    "index.html",
    "style.css",
    "app.js",
    "api.js",
    "trust.js",
    "shown.js",
    "verify.js",
    "wire.js",
    "vendor/README.md",
    "vendor/noble-ed25519/index.js",
    "vendor/noble-ed25519/LICENSE",
    "vendor/noble-hashes/_blake.js",
    "vendor/noble-hashes/_md.js",
    "vendor/noble-hashes/_u64.js",
    "vendor/noble-hashes/blake2.js",
    "vendor/noble-hashes/blake3.js",
    "vendor/noble-hashes/sha2.js",
    "vendor/noble-hashes/utils.js",
    "vendor/noble-hashes/LICENSE",
);

/// The file at `path` under the explorer's root (`""` is the page itself).
pub fn asset(path: &str) -> Option<Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    let (_, bytes) = ASSETS.iter().find(|(name, _)| *name == path)?;
    let content_type = match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    Some(Asset {
        bytes,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_web_directory_is_served() {
        let mut on_disk = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(relative) = path.strip_prefix(&root) {
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut served: Vec<String> = ASSETS.iter().map(|(name, _)| name.to_string()).collect();
        served.sort();
        assert_eq!(on_disk, served);
        assert_eq!(
            asset("").map(|a| a.content_type),
            Some("text/html; charset=utf-8")
        );
        assert!(asset("app.js").is_some_and(|a| a.content_type.starts_with("text/javascript")));
        assert!(asset("../Cargo.toml").is_none());
    }
}

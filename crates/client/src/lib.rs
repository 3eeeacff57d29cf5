//! A client of Myriad hosts for Rust programs: the HTTP API clients, building geneses, sending
//! signed transactions, and the encrypted wallet — without the host itself.
#![forbid(unsafe_code)]

pub mod client;
pub mod files;
pub mod genesis;
pub mod network;
pub mod objects;
pub mod quotes;
pub mod root;
pub mod swap;
pub mod transaction;
pub mod verify;
pub mod wallet;

//! The `myriad` command's library: the chain and transaction commands, the local devnet, and
//! the benchmarks of the whole system.
#![forbid(unsafe_code)]

pub mod bench;
pub mod commands;
pub mod devnet;

//! The `myriad` command's library: the chain and transaction commands, and the benchmarks of
//! the whole system.
#![forbid(unsafe_code)]

pub mod bench;
pub mod commands;

//! Integration tests: one binary, one module per area.

mod cache;
mod common;
mod deploy;
mod embed;
mod engine;
mod feeds;
mod incremental;
mod inputs;
mod interrupt;
mod kernels;
mod map;
mod neocities;
mod newcomer;
mod remote;
mod serve;
mod servers;
mod site;

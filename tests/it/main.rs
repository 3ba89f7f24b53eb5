//! Integration tests: one binary, one module per area.

mod common;
mod incremental;
mod inputs;
mod interrupt;
mod kernels;
mod site;

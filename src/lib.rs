//! verso: an incremental build system that turns a poetry collection with
//! semantic embeddings into a flat-HTML website.

pub mod check;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod date;
pub mod deploy;
pub mod derive;
mod disjoint;
pub mod embed;
pub mod engine;
pub mod error;
pub mod fixture;
pub mod progress;
pub mod render;
pub mod run;
pub mod serve;
pub mod site;
pub mod text;
pub mod tls;
pub mod vectors;

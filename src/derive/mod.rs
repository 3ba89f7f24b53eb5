//! Pure functions from the corpus and its vectors to the data pages show:
//! rankings, chains, the timeline, colours, the word cloud and the map's
//! layout. Nothing here reads files.

pub mod chain;
pub mod colour;
pub mod map;
pub mod neighbours;
pub mod rank;
pub mod timeline;
pub mod vocabulary;
pub mod words;

pub use neighbours::Neighbours;

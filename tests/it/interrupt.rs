//! Interruption and resume (filled in with the progress issue).

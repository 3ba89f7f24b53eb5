//! The deploy records: per target, what the host confirmed holding, for
//! each path the BLAKE3 of its bytes and, where the host keeps a checksum
//! of its own, that too. A record is written only after the host confirmed
//! the file, and removed only after it confirmed a deletion, so a deploy
//! that stops anywhere leaves records that are true, and the next one sends
//! the rest.

use super::plan::Protect;
use crate::engine::store::{Record, Store};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The checksum a host keeps of each file, which its listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostSum {
    /// Neocities' `sha1_hash`.
    Sha1([u8; 20]),
    /// S3's ETag of a single-part upload.
    Md5([u8; 16]),
}

/// Which checksum a host keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumKind {
    Sha1,
    Md5,
}

impl SumKind {
    pub fn of(self, bytes: &[u8]) -> HostSum {
        use md5::Digest as _;
        match self {
            SumKind::Sha1 => HostSum::Sha1(sha1::Sha1::digest(bytes).into()),
            SumKind::Md5 => HostSum::Md5(md5::Md5::digest(bytes).into()),
        }
    }

    /// The checksum a listing shows as hexadecimal text (an S3 ETag in its
    /// quotes); `None` for another form (a multipart upload's ETag).
    pub fn parse(self, text: &str) -> Option<HostSum> {
        let text = text.trim().trim_matches('"');
        let mut bytes = [0u8; 20];
        let bytes = &mut bytes[..match self {
            SumKind::Sha1 => 20,
            SumKind::Md5 => 16,
        }];
        hex::decode_to_slice(text, bytes).ok()?;
        Some(match self {
            SumKind::Sha1 => HostSum::Sha1(bytes.try_into().ok()?),
            SumKind::Md5 => HostSum::Md5(bytes.try_into().ok()?),
        })
    }
}

/// What a deploy that left the host equal to the site records: the site it
/// sent (its records' digest, with the protected globs), and what its
/// report said. A deploy of the same site to the same target, without
/// `--verify`, has nothing to send or delete: it stops there, reading no
/// deploy record and making no request (as a build's root key stops a
/// no-op build). Any deploy that could change the host forgets it first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synced {
    pub digest: [u8; 32],
    pub up_to_date: usize,
    pub protected: Vec<String>,
}

impl Synced {
    /// The digest of a site's files (path and bytes) and the protected
    /// globs.
    pub fn digest(site: &HashMap<String, Record>, protect: &Protect) -> [u8; 32] {
        let mut files: Vec<(&String, &[u8; 32])> = site.iter().map(|(p, r)| (p, &r.hash)).collect();
        files.sort_unstable();
        let mut h = blake3::Hasher::new();
        for (path, hash) in files {
            h.update(&(path.len() as u64).to_le_bytes());
            h.update(path.as_bytes());
            h.update(hash);
        }
        for glob in protect.globs() {
            h.update(&(glob.len() as u64).to_le_bytes());
            h.update(glob.as_bytes());
        }
        *h.finalize().as_bytes()
    }
}

/// What the host holds at one path, as far as verso knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployed {
    pub hash: [u8; 32],
    pub size: u64,
    pub host_sum: Option<HostSum>,
}

/// One target's records, read whole and written through as the host
/// confirms.
pub struct DeployRecords<'a> {
    store: &'a Store,
    target: String,
    pub held: HashMap<String, Deployed>,
}

impl<'a> DeployRecords<'a> {
    pub fn open(store: &'a Store, target: &str) -> Result<DeployRecords<'a>> {
        Ok(DeployRecords {
            store,
            target: target.to_string(),
            held: store.deployed(target)?,
        })
    }

    /// The host confirmed holding `record` at `path`.
    pub fn confirm(&mut self, path: &str, record: Deployed) -> Result<()> {
        self.store.put_deployed(&self.target, path, &record)?;
        self.held.insert(path.to_string(), record);
        Ok(())
    }

    /// The host confirmed that `path` is gone (or never held it).
    pub fn forget(&mut self, path: &str) -> Result<()> {
        self.store.forget_deployed(&self.target, path)?;
        self.held.remove(path);
        Ok(())
    }

    /// Make what was confirmed durable: a SIGKILL after this loses nothing
    /// confirmed before it.
    pub fn save(&self) -> Result<()> {
        self.store.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_read_back_from_a_listing() {
        let sha1 = SumKind::Sha1.of(b"abc");
        assert_eq!(
            SumKind::Sha1.parse("a9993e364706816aba3e25717850c26c9cd0d89d"),
            Some(sha1)
        );
        let md5 = SumKind::Md5.of(b"abc");
        assert_eq!(
            SumKind::Md5.parse("\"900150983cd24fb0d6963f7d28e17f72\""),
            Some(md5)
        );
        assert_eq!(
            SumKind::Md5.parse("\"900150983cd24fb0d6963f7d28e17f72-2\""),
            None
        );
    }
}

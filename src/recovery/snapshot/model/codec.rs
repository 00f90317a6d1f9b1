//! Purpose: the stored form of a document — zstd of the canonical JSON, SHA-256 checksum
//! verified on every read, size-bounded decompression — and the errors of reading one.

use super::*;

/// Why a stored or imported snapshot cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("the checksum does not match: the data was changed or damaged")]
    Checksum,
    #[error("the payload does not decompress: {0}")]
    Compression(String),
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the document is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// A document ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub payload: Vec<u8>,
    pub checksum: [u8; 32],
    pub content_hash: [u8; 32],
    pub uncompressed_bytes: usize,
    pub roles: usize,
    pub channels: usize,
    pub overwrites: usize,
    pub members: usize,
    /// `None`: the document has no ban list.
    pub bans: Option<usize>,
    pub format_version: u32,
}

/// Compresses and checksums a document (CPU work: run it off the async threads).
pub fn encode(doc: &SnapshotDocument) -> Result<Encoded, CodecError> {
    let json = doc.canonical_json()?;
    let payload = zstd::bulk::compress(&json, ZSTD_LEVEL)
        .map_err(|e| CodecError::Compression(e.to_string()))?;
    Ok(Encoded {
        checksum: Sha256::digest(&payload).into(),
        content_hash: doc.content_hash()?,
        uncompressed_bytes: json.len(),
        roles: doc.roles.len(),
        channels: doc.channels.len(),
        overwrites: doc.overwrite_count(),
        members: doc.members.len(),
        bans: doc.bans.as_ref().map(Vec::len),
        format_version: doc.format_version,
        payload,
    })
}

/// Verifies a stored payload against its checksum, then decompresses (at most `max_bytes`),
/// parses and validates it.
pub fn decode(
    payload: &[u8],
    checksum: &[u8],
    max_bytes: usize,
) -> Result<SnapshotDocument, CodecError> {
    let actual: [u8; 32] = Sha256::digest(payload).into();
    if actual.as_slice() != checksum {
        return Err(CodecError::Checksum);
    }
    let json = zstd::bulk::decompress(payload, max_bytes).map_err(|e| {
        if e.to_string().contains("Destination buffer is too small") {
            CodecError::TooLarge(max_bytes)
        } else {
            CodecError::Compression(e.to_string())
        }
    })?;
    let doc: SnapshotDocument =
        serde_json::from_slice(&json).map_err(|e| CodecError::Json(e.to_string()))?;
    doc.validate()?;
    Ok(doc)
}

//! Purpose: a crafted snapshot — an export file someone uploads with `/backup import`, a
//! document, a stored payload — read, checked, encoded and planned without a panic: an
//! export file is accepted only with its checksum; a document that validates encodes and
//! decodes back to itself, and a restore can be planned from it onto an empty server.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::Digest as _;
use umbra::recovery::snapshot::model::{self, ExportFile, SnapshotDocument};

fuzz_target!(|data: &[u8]| {
    let _ = ExportFile::parse(data);
    // A stored payload (zstd) with a matching checksum: decompression is bounded.
    let checksum: [u8; 32] = sha2::Sha256::digest(data).into();
    let _ = model::decode(data, &checksum, 1 << 20);
    // The document itself, without the export's checksum: deeper paths.
    let Ok(doc) = serde_json::from_slice::<SnapshotDocument>(data) else {
        return;
    };
    if doc.validate().is_err() {
        return;
    }
    let encoded = model::encode(&doc).expect("a valid document encodes");
    let back = model::decode(&encoded.payload, &encoded.checksum, 64 << 20)
        .expect("an encoded document decodes");
    assert_eq!(back, doc, "the codec gives the document back");
    umbra::recovery::restore::planner::fuzz_plan_onto_empty(&doc);
});

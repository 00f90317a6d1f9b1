//! Purpose: the export file people download and import — a document with what a person
//! needs to recognise it and the SHA-256 of its canonical form — and why an import is refused.

use super::*;

/// The export file: a document with what a person needs to recognise it, and the SHA-256 of
/// the document's canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    /// Always [`EXPORT_VERSION`]; also what marks the file as Umbra's.
    pub umbra_snapshot: u32,
    pub format_version: u32,
    pub guild_name: String,
    #[serde(with = "snowflake")]
    pub guild_id: u64,
    pub label: Option<String>,
    pub trigger: String,
    pub created_at: DateTime<Utc>,
    /// Hex SHA-256 of `document` in canonical form.
    pub checksum: String,
    pub document: SnapshotDocument,
}

impl ExportFile {
    pub fn new(
        doc: SnapshotDocument,
        label: Option<String>,
        trigger: &str,
        created_at: DateTime<Utc>,
    ) -> Result<Self, CodecError> {
        let checksum = hex::encode(Sha256::digest(doc.canonical_json()?));
        Ok(Self {
            umbra_snapshot: EXPORT_VERSION,
            format_version: doc.format_version,
            guild_name: doc.settings.name.clone(),
            guild_id: doc.guild_id,
            label,
            trigger: trigger.to_owned(),
            created_at,
            checksum,
            document: doc,
        })
    }

    /// The file's bytes: compact JSON (indentation would double a large guild's file, and
    /// Discord limits uploads).
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        serde_json::to_vec(self).map_err(|e| CodecError::Json(e.to_string()))
    }

    /// Reads and checks an export file: its versions, its shape, its checksum (a changed
    /// document fails it), and the document's structure.
    pub fn parse(bytes: &[u8]) -> Result<Self, ImportError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ImportError::NotJson(e.to_string()))?;
        let Some(object) = value.as_object() else {
            return Err(ImportError::NotJson("the file is not a JSON object".into()));
        };
        let version = |key: &str| object.get(key).and_then(Value::as_u64);
        match (version("umbra_snapshot"), version("format_version")) {
            (Some(v), _) if v != u64::from(EXPORT_VERSION) => return Err(ImportError::Version(v)),
            (_, Some(v))
                if !(u64::from(MIN_FORMAT_VERSION)..=u64::from(FORMAT_VERSION)).contains(&v) =>
            {
                return Err(ImportError::Version(v));
            }
            (None, _) | (_, None) => return Err(ImportError::NotUmbra),
            _ => {}
        }
        let file: ExportFile =
            serde_json::from_value(value).map_err(|e| ImportError::Structure(e.to_string()))?;
        let expected = hex::encode(Sha256::digest(
            file.document
                .canonical_json()
                .map_err(|e| ImportError::Structure(e.to_string()))?,
        ));
        if !expected.eq_ignore_ascii_case(file.checksum.trim()) {
            return Err(ImportError::Checksum);
        }
        if file.document.format_version != file.format_version {
            return Err(ImportError::Structure(
                "format_version differs from the document's".into(),
            ));
        }
        file.document.validate().map_err(|e| match e {
            DocumentError::Version(v) => ImportError::Version(u64::from(v)),
            DocumentError::Invalid(m) => ImportError::Structure(m),
        })?;
        Ok(file)
    }
}

/// Why an imported file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not JSON: {0}")]
    NotJson(String),
    #[error("the file is not an Umbra snapshot export")]
    NotUmbra,
    #[error("version {0} is not supported")]
    Version(u64),
    #[error("the checksum does not match the document")]
    Checksum,
    #[error("{0}")]
    Structure(String),
}

//! Purpose: the two kinds of error a command can end with. A [`UserError`] is the user's to fix:
//! shown to them, translated, ephemeral, nothing logged above debug. Everything else is
//! internal: logged with its context chain and an error id, answered with a generic translated
//! message carrying that id.

use crate::i18n::{ArgValue, Msg, msg};

/// A refusal or bad input, explained to the user in their language.
#[derive(Debug, Clone)]
pub struct UserError {
    pub msg: Msg,
    pub args: Vec<(&'static str, String)>,
}

impl UserError {
    pub fn new(msg: Msg) -> Self {
        Self {
            msg,
            args: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The arguments in the form [`crate::i18n::I18n::text`] takes.
    pub fn fluent_args(&self) -> Vec<(&str, ArgValue)> {
        self.args
            .iter()
            .map(|(k, v)| (*k, ArgValue::from(v.as_str())))
            .collect()
    }
}

/// The error type of every command, check and event handler.
#[derive(Debug)]
pub enum Error {
    User(UserError),
    Internal(anyhow::Error),
}

impl Error {
    pub fn user(msg: Msg) -> Self {
        Error::User(UserError::new(msg))
    }

    pub fn not_owner() -> Self {
        Self::user(msg::ERROR_NOT_OWNER)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::User(e) => write!(f, "user error {}", e.msg.key),
            Error::Internal(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<UserError> for Error {
    fn from(e: UserError) -> Self {
        Error::User(e)
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Internal(e)
    }
}

macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Internal(anyhow::Error::new(e))
            }
        }
    )*};
}

internal_from!(
    sea_orm::DbErr,
    sqlx::Error,
    serenity::Error,
    serde_json::Error
);

/// `.context()` for results on the way to an internal error.
pub trait ResultExt<T> {
    fn ctx(self, context: &'static str) -> Result<T, Error>;
}

impl<T, E> ResultExt<T> for Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn ctx(self, context: &'static str) -> Result<T, Error> {
        self.map_err(|e| Error::Internal(anyhow::Error::new(e).context(context)))
    }
}

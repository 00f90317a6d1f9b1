//! Purpose: poise's glue in one place — [`Data`] (what every command, check and event handler
//! gets: the application's services, [`crate::app::App`]), [`Context`] and [`Error`].

use std::sync::Arc;

use crate::app::App;

pub use crate::error::Error;

/// The context of a command invocation.
pub type Context<'a> = poise::Context<'a, Data, Error>;
/// A command as the framework holds it.
pub type Command = poise::Command<Data, Error>;

/// What the bot's handlers share: the application, cheap to clone. The HTTP server shares the
/// same [`App`].
#[derive(Clone)]
pub struct Data(pub Arc<App>);

impl std::ops::Deref for Data {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

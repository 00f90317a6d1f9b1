//! Purpose: the identity domain's data — what Umbra knows of a Discord user when it meets them
//! ([`UserProfile`]) and a user as stored ([`User`]).

use uuid::Uuid;

/// What Umbra knows of a Discord user when it meets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub discord_id: u64,
    /// `None` when only the id is known (e.g. a large guild's owner not in the member list).
    pub username: Option<String>,
    pub global_name: Option<String>,
    pub is_bot: bool,
}

impl From<&poise::serenity_prelude::User> for UserProfile {
    fn from(user: &poise::serenity_prelude::User) -> Self {
        Self {
            discord_id: user.id.get(),
            username: Some(user.name.clone()),
            global_name: user.global_name.clone(),
            is_bot: user.bot,
        }
    }
}

/// A user as stored in `identity.users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The row id other tables refer to.
    pub id: Uuid,
    pub discord_id: u64,
    pub username: Option<String>,
    pub global_name: Option<String>,
    /// The locale Discord reported at their last web login, if any.
    pub locale: Option<String>,
    pub is_bot: bool,
}

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
    /// Discord's avatar hash, if any (from the last web login).
    pub avatar: Option<String>,
    /// The locale Discord reported at their last web login, if any.
    pub locale: Option<String>,
    pub is_bot: bool,
}

/// What Discord says of a user who logs in on the web (`GET /users/@me`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginProfile {
    pub discord_id: u64,
    pub username: String,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    /// Discord's locale code (`ko`, `en-US`, ...).
    pub locale: Option<String>,
}

/// A logged-in web user: the session and who it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub session_id: Uuid,
    pub user: User,
}

impl WebSession {
    /// The name to show.
    pub fn display_name(&self) -> String {
        self.user
            .global_name
            .clone()
            .or_else(|| self.user.username.clone())
            .unwrap_or_else(|| self.user.discord_id.to_string())
    }
}

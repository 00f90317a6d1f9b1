//! Purpose: Discord-shaped API errors (`{code, message, errors?}` plus the HTTP status).

use serde_json::{Value, json};

/// An error as Discord returns it: HTTP status, JSON error code, message, optional field errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("HTTP {status}, Discord error {code}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Discord's JSON error code (0 for generic HTTP errors).
    pub code: u32,
    /// Human-readable message, worded like Discord's.
    pub message: String,
    /// Field errors for 50035 Invalid Form Body.
    pub errors: Option<Value>,
    /// For 429s: seconds until a retry may succeed.
    pub retry_after: Option<f64>,
    /// For 429s: the `X-RateLimit-Scope` header value.
    pub scope: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            errors: None,
            retry_after: None,
            scope: None,
        }
    }

    /// The JSON body Discord sends.
    pub fn body(&self) -> Value {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        if let Some(retry_after) = self.retry_after {
            body["retry_after"] = json!(retry_after);
            body["global"] = json!(false);
        }
        body
    }

    pub fn unauthorized() -> Self {
        Self::new(401, 0, "401: Unauthorized")
    }
    pub fn not_found() -> Self {
        Self::new(404, 0, "404: Not Found")
    }
    pub fn method_not_allowed() -> Self {
        Self::new(405, 0, "405: Method Not Allowed")
    }
    pub fn unknown_application() -> Self {
        Self::new(404, 10002, "Unknown Application")
    }
    pub fn unknown_channel() -> Self {
        Self::new(404, 10003, "Unknown Channel")
    }
    pub fn unknown_guild() -> Self {
        Self::new(404, 10004, "Unknown Guild")
    }
    pub fn unknown_member() -> Self {
        Self::new(404, 10007, "Unknown Member")
    }
    pub fn unknown_message() -> Self {
        Self::new(404, 10008, "Unknown Message")
    }
    pub fn unknown_overwrite() -> Self {
        Self::new(404, 10009, "Unknown Overwrite")
    }
    pub fn unknown_role() -> Self {
        Self::new(404, 10011, "Unknown Role")
    }
    pub fn unknown_token() -> Self {
        Self::new(404, 10012, "Unknown Token")
    }
    pub fn unknown_user() -> Self {
        Self::new(404, 10013, "Unknown User")
    }
    pub fn unknown_emoji() -> Self {
        Self::new(404, 10014, "Unknown Emoji")
    }
    pub fn unknown_webhook() -> Self {
        Self::new(404, 10015, "Unknown Webhook")
    }
    /// Deleting the rules or public-updates channel of a community guild.
    pub fn community_channel() -> Self {
        Self::new(
            400,
            50074,
            "Cannot delete a channel required for Community Servers",
        )
    }
    pub fn unknown_ban() -> Self {
        Self::new(404, 10026, "Unknown Ban")
    }
    pub fn unknown_interaction() -> Self {
        Self::new(404, 10062, "Unknown interaction")
    }
    pub fn unknown_command() -> Self {
        Self::new(404, 10063, "Unknown application command")
    }
    pub fn bots_cannot_use_endpoint() -> Self {
        Self::new(403, 20001, "Bots cannot use this endpoint")
    }
    pub fn only_bots_can_use_endpoint() -> Self {
        Self::new(403, 20002, "Only bots can use this endpoint")
    }
    pub fn max_guilds() -> Self {
        Self::new(400, 30001, "Maximum number of guilds reached (100)")
    }
    pub fn max_roles(limit: usize) -> Self {
        Self::new(
            400,
            30005,
            format!("Maximum number of guild roles reached ({limit})"),
        )
    }
    pub fn max_webhooks() -> Self {
        Self::new(400, 30007, "Maximum number of webhooks reached (15)")
    }
    pub fn max_emojis() -> Self {
        Self::new(400, 30008, "Maximum number of emojis reached")
    }
    pub fn max_channels(limit: usize) -> Self {
        Self::new(
            400,
            30013,
            format!("Maximum number of guild channels reached ({limit})"),
        )
    }
    pub fn max_bans() -> Self {
        Self::new(
            400,
            30035,
            "Maximum number of bans for non-guild members have been exceeded",
        )
    }
    pub fn missing_access() -> Self {
        Self::new(403, 50001, "Missing Access")
    }
    pub fn cannot_execute_on_dm() -> Self {
        Self::new(403, 50003, "Cannot execute action on a DM channel")
    }
    pub fn cannot_send_to_user() -> Self {
        Self::new(403, 50007, "Cannot send messages to this user")
    }
    pub fn missing_permissions() -> Self {
        Self::new(403, 50013, "Missing Permissions")
    }
    pub fn invalid_oauth_token() -> Self {
        Self::new(403, 50025, "Invalid OAuth2 access token")
    }
    pub fn invalid_role() -> Self {
        Self::new(400, 50028, "Invalid Role")
    }
    pub fn already_acknowledged() -> Self {
        Self::new(400, 40060, "Interaction has already been acknowledged")
    }
    pub fn user_banned() -> Self {
        Self::new(403, 40007, "The user is banned from this guild.")
    }
    pub fn bulk_ban_failed() -> Self {
        Self::new(500, 500_000, "Failed to ban users")
    }
    pub fn owner_only() -> Self {
        Self::new(
            403,
            20018,
            "Only the owner of this account can perform this action",
        )
    }

    /// 400 50035 Invalid Form Body with one field error.
    pub fn invalid_form(field: &str, code: &str, message: impl Into<String>) -> Self {
        let mut err = Self::new(400, 50035, "Invalid Form Body");
        err.errors =
            Some(json!({ field: { "_errors": [{ "code": code, "message": message.into() }] } }));
        err
    }

    /// 400 50109 "The request body contains invalid JSON."
    pub fn invalid_json() -> Self {
        Self::new(400, 50109, "The request body contains invalid JSON.")
    }

    /// A 429 from a budget enforced inside the state (role creation, channel renames).
    pub fn rate_limited(retry_after: f64, scope: &'static str) -> Self {
        let mut err = Self::new(429, 0, "You are being rate limited.");
        err.retry_after = Some((retry_after * 1000.0).ceil() / 1000.0);
        err.scope = Some(scope);
        err
    }
}

//! Purpose: secrets — a type that never prints its value, and the ones Umbra reads from the
//! environment only.

use std::fmt;

/// A value that must never be printed or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself; call only where it is used, never to log or display.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Secrets, read only from the environment.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// `DISCORD_TOKEN`: the bot token.
    pub discord_token: Option<Secret<String>>,
    /// `UMBRA_SECRET_KEY`: key material for encryption at rest (see `crypto`).
    pub secret_key: Option<Secret<String>>,
    /// `DISCORD_CLIENT_SECRET`: the OAuth2 client secret (the web login); none = no login.
    pub client_secret: Option<Secret<String>>,
    /// `TOSS_SECRET_KEY`: Toss Payments' secret key (`billing.provider = "toss"`).
    pub toss_secret_key: Option<Secret<String>>,
    /// `TOSS_SECURITY_KEY`: Toss's webhook security key, for the deliveries Toss signs
    /// (`payout.changed`, `seller.changed`); without it, signed deliveries are refused.
    pub toss_security_key: Option<Secret<String>>,
}

/// Names of the secret environment variables, with what each is for.
pub const SECRET_VARIABLES: [(&str, &str); 5] = [
    (
        "DISCORD_TOKEN",
        "the bot token (Discord developer portal -> your application -> Bot)",
    ),
    (
        "UMBRA_SECRET_KEY",
        "32 random bytes, base64, for encryption at rest (`openssl rand -base64 32`)",
    ),
    (
        "DISCORD_CLIENT_SECRET",
        "the OAuth2 client secret for the web login (developer portal -> your application -> OAuth2)",
    ),
    (
        "TOSS_SECRET_KEY",
        "Toss Payments' secret key (test_sk_... or live_sk_...) for billing.provider = \"toss\"",
    ),
    (
        "TOSS_SECURITY_KEY",
        "Toss Payments' webhook security key (optional: verifies the webhooks Toss signs)",
    ),
];

impl Secrets {
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| Secret::new(v.trim().to_owned()))
        };
        Self {
            discord_token: var("DISCORD_TOKEN"),
            secret_key: var("UMBRA_SECRET_KEY"),
            client_secret: var("DISCORD_CLIENT_SECRET"),
            toss_secret_key: var("TOSS_SECRET_KEY"),
            toss_security_key: var("TOSS_SECURITY_KEY"),
        }
    }
}

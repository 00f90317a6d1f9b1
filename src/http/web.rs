//! Purpose: the web surface's own configuration, checked once at start-up — the login's OAuth2
//! client (none without `DISCORD_CLIENT_SECRET`: the bot runs and the pages say login is not
//! configured), the public origin (links, redirects and the CSRF origin check), whether cookies
//! are `Secure` (always, except for a plain-http public URL on loopback), and the session
//! lifetimes. A half-filled web config refuses to start and names the key.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::{Config, Secrets};
use crate::db::crypto::Keyring;
use crate::discord::oauth::OAuthClient;

/// What the web pages need besides the services.
#[derive(Debug)]
pub struct Web {
    /// The login's client; `None` when no client secret is configured.
    pub oauth: Option<Arc<OAuthClient>>,
    /// `discord.client_id` (0: the bot's application id, learned at start-up).
    pub client_id: u64,
    /// Seals the short-lived login cookie (state + PKCE verifier).
    pub keyring: Option<Arc<Keyring>>,
    /// `scheme://host[:port]` of `http.public_url`.
    pub origin: String,
    /// `http.public_url` without a trailing slash.
    pub public_url: String,
    pub secure_cookies: bool,
    pub session_lifetime: Duration,
    pub session_idle: Duration,
}

impl Web {
    /// Checks and builds the web configuration. Errors name the key and the fix.
    pub fn new(
        config: &Config,
        secrets: &Secrets,
        keyring: Option<Arc<Keyring>>,
    ) -> anyhow::Result<Self> {
        let public_url = config.http.public_url.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&public_url).map_err(|e| {
            anyhow::anyhow!(
                "`http.public_url` (`{public_url}`) is not a URL ({e}): set it to the address people \
                 open Umbra at, e.g. https://umbra.example.com"
            )
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| anyhow::anyhow!("`http.public_url` (`{public_url}`) has no host"))?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            anyhow::bail!(
                "`http.public_url` (`{public_url}`) must be an origin without a path, e.g. \
                 https://umbra.example.com (Umbra's pages live at its root)"
            );
        }
        let origin = url.origin().ascii_serialization();
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1");
        let secure_cookies = !(url.scheme() == "http" && loopback);
        if url.scheme() == "http" && !loopback && secrets.client_secret.is_some() {
            anyhow::bail!(
                "`http.public_url` (`{public_url}`) is plain http on a public host: login cookies \
                 would travel unencrypted. Put Umbra behind HTTPS and set an https:// URL"
            );
        }
        let oauth = match &secrets.client_secret {
            None => None,
            Some(secret) => {
                if keyring.is_none() {
                    anyhow::bail!(
                        "DISCORD_CLIENT_SECRET is set but UMBRA_SECRET_KEY is not: the web login \
                         seals its state with Umbra's key. Set UMBRA_SECRET_KEY (see README), or \
                         unset DISCORD_CLIENT_SECRET to run without the web login"
                    );
                }
                if config.discord.authorize_url.trim().is_empty() {
                    anyhow::bail!(
                        "`discord.authorize_url` is empty: remove it from config.toml to use \
                         Discord's (https://discord.com/oauth2/authorize)"
                    );
                }
                let http = crate::discord::client::reqwest_client(config)
                    .context("building the OAuth2 client")?;
                Some(Arc::new(OAuthClient::new(
                    http,
                    secret.clone(),
                    format!("{public_url}/auth/callback"),
                    config.discord.authorize_url.clone(),
                )))
            }
        };
        let hours = |h: u32| Duration::from_secs(u64::from(h.max(1)) * 3600);
        Ok(Self {
            oauth,
            client_id: config.discord.client_id,
            keyring,
            origin,
            public_url,
            secure_cookies,
            session_lifetime: hours(config.http.session_hours),
            session_idle: hours(config.http.session_idle_hours),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn secrets(client: bool, key: bool) -> Secrets {
        Secrets {
            toss_security_key: None,
            discord_token: None,
            secret_key: key
                .then(|| Secret::new("dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktMzJieXQ=".into())),
            client_secret: client.then(|| Secret::new("s".into())),
            toss_secret_key: None,
        }
    }

    fn keyring() -> Option<Arc<Keyring>> {
        Keyring::parse(&Secret::new(
            "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktMzJieXQ=".into(),
        ))
        .ok()
        .map(Arc::new)
    }

    #[test]
    fn a_client_secret_without_the_secret_key_refuses_to_start_and_names_both() {
        let e = Web::new(&Config::default(), &secrets(true, false), None)
            .expect_err("half-filled")
            .to_string();
        assert!(
            e.contains("DISCORD_CLIENT_SECRET") && e.contains("UMBRA_SECRET_KEY"),
            "{e}"
        );
    }

    #[test]
    fn without_a_client_secret_the_web_runs_without_login() {
        let web = Web::new(&Config::default(), &secrets(false, false), None).expect("starts");
        assert!(web.oauth.is_none());
    }

    #[test]
    fn cookies_are_secure_except_on_plain_http_loopback() {
        let mut config = Config::default();
        let web = Web::new(&config, &secrets(true, true), keyring()).expect("loopback");
        assert!(!web.secure_cookies);
        assert_eq!(web.origin, "http://127.0.0.1:8080");
        config.http.public_url = "https://umbra.example.com/".into();
        let web = Web::new(&config, &secrets(true, true), keyring()).expect("https");
        assert!(web.secure_cookies);
        assert_eq!(web.public_url, "https://umbra.example.com");
    }

    #[test]
    fn a_public_url_with_a_path_or_plain_http_on_a_public_host_is_refused() {
        let mut config = Config::default();
        config.http.public_url = "https://umbra.example.com/app".into();
        let e = Web::new(&config, &secrets(false, false), None).expect_err("path");
        assert!(e.to_string().contains("http.public_url"));
        config.http.public_url = "http://umbra.example.com".into();
        let e = Web::new(&config, &secrets(true, true), keyring()).expect_err("plain http");
        assert!(e.to_string().contains("HTTPS"));
    }
}

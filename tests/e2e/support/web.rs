//! Purpose: `WebClient` — a cookie-keeping HTTP client for Umbra's pages that follows no
//! redirects (tests look at each hop), and `login`, which goes through the real OAuth2 flow:
//! Umbra's `/auth/login`, the emulator's authorize page (approving as a chosen user), and
//! Umbra's callback.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::support::world::TestWorld;

/// One answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Answer {
    /// The page's CSRF token (the first `csrf` field of a form).
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no CSRF field in:\n{}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("end of the value");
        self.body[start..start + end].to_owned()
    }
}

pub struct WebClient {
    http: reqwest::Client,
    pub base: String,
    cookies: Mutex<HashMap<String, String>>,
}

impl WebClient {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
            cookies: Mutex::new(HashMap::new()),
        }
    }

    /// The cookie `name`, if the client holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request
            .header("Cookie", self.cookie_header())
            .header("Accept-Language", "en-US")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_owned(), v.to_owned());
            }
        }
        let body = response.text().await.unwrap_or_default();
        Answer {
            status,
            location,
            set_cookies,
            body,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(self.url(path))).await
    }

    /// A form POST as a same-origin page would send it (`Sec-Fetch-Site: same-origin`).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(
            self.http
                .post(self.url(path))
                .header("Sec-Fetch-Site", "same-origin")
                .form(form),
        )
        .await
    }

    /// A form POST with any headers (for the CSRF tests).
    pub async fn post_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.post(self.url(path)).form(form);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request).await
    }
}

/// Starts a login: Umbra's `/auth/login` (the state cookie) and the emulator's answer when
/// `user` approves. Returns the client and the callback URL the emulator redirects to.
pub async fn start_login(world: &TestWorld, user: u64) -> (WebClient, String) {
    let client = WebClient::new(&world.web_base());
    let start = client.get("/auth/login").await;
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.location.expect("a redirect to Discord");
    assert!(
        authorize.contains("code_challenge_method=S256") && authorize.contains("state="),
        "{authorize}"
    );
    let consent = client
        .get(&format!("{authorize}&emulator_user={user}"))
        .await;
    assert_eq!(
        consent.status, 302,
        "the emulator approves: {}",
        consent.body
    );
    (client, consent.location.expect("back to Umbra"))
}

/// A client logged in as `user` through the emulator's OAuth2.
pub async fn login(world: &TestWorld, user: u64) -> WebClient {
    let (client, callback) = start_login(world, user).await;
    let done = client.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/guilds"));
    assert!(client.cookie("umbra_session").is_some(), "a session cookie");
    client
}

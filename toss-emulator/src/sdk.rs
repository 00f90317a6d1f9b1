//! Purpose: the browser side of card registration — a stand-in for Toss's JS SDK v2
//! (`/v2/standard`: `TossPayments(clientKey).payment({customerKey}).requestBillingAuth({method:
//! "CARD", successUrl, failUrl})`) that sends the browser to the emulator's card page
//! (`/billing-auth`), where a person types a card number and registers it (back to
//! `successUrl?customerKey=..&authKey=..`) or cancels (back to `failUrl?code=..&message=..`).
//! Card numbers script what later charges do (`model::CARD_*`).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::TossEmulator;

pub fn routes() -> Router<TossEmulator> {
    Router::new()
        .route("/v2/standard", get(script))
        .route("/billing-auth", get(page).post(submit))
}

async fn script(State(emu): State<TossEmulator>) -> Response {
    let base = emu.base_url();
    let js = format!(
        r#"// Toss Payments SDK v2 stand-in (toss-emulator): requestBillingAuth only.
(function () {{
  "use strict";
  window.TossPayments = function (clientKey) {{
    return {{
      payment: function (options) {{
        var customerKey = (options || {{}}).customerKey;
        return {{
          requestBillingAuth: function (request) {{
            if (!request || request.method !== "CARD") {{
              return Promise.reject(new Error("toss-emulator: only method CARD is supported"));
            }}
            var q = new URLSearchParams({{
              clientKey: clientKey, customerKey: customerKey || "",
              successUrl: request.successUrl || "", failUrl: request.failUrl || ""
            }});
            window.location.href = "{base}/billing-auth?" + q.toString();
            return new Promise(function () {{}});
          }}
        }};
      }}
    }};
  }};
}})();
"#
    );
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        js,
    )
        .into_response()
}

#[derive(Deserialize)]
struct Request {
    #[serde(rename = "clientKey", default)]
    client_key: String,
    #[serde(rename = "customerKey", default)]
    customer_key: String,
    #[serde(rename = "successUrl", default)]
    success_url: String,
    #[serde(rename = "failUrl", default)]
    fail_url: String,
    #[serde(rename = "cardNumber", default)]
    card_number: String,
    #[serde(default)]
    action: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn page(Query(r): Query<Request>) -> Response {
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    };
    Html(format!(
        "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\"><title>카드 등록 (toss-emulator)</title></head>\
         <body><h1>카드 등록</h1><form method=\"post\" action=\"/billing-auth\" id=\"card-form\">{}{}{}{}\
         <label>카드 번호 <input name=\"cardNumber\" id=\"card-number\" value=\"4330123412341234\"></label>\
         <button type=\"submit\" name=\"action\" value=\"register\" id=\"register\">등록</button>\
         <button type=\"submit\" name=\"action\" value=\"cancel\" id=\"cancel\">취소</button></form></body></html>",
        hidden("clientKey", &r.client_key),
        hidden("customerKey", &r.customer_key),
        hidden("successUrl", &r.success_url),
        hidden("failUrl", &r.fail_url),
    ))
    .into_response()
}

fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = url.to_owned();
    for (i, (k, v)) in pairs.iter().enumerate() {
        let sep = if i == 0 && !url.contains('?') {
            '?'
        } else {
            '&'
        };
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn submit(State(emu): State<TossEmulator>, axum::Form(r): axum::Form<Request>) -> Response {
    if r.fail_url.is_empty() || r.success_url.is_empty() {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "successUrl and failUrl are required",
        )
            .into_response();
    }
    if r.client_key != emu.client_key() {
        return Redirect::to(&with_query(
            &r.fail_url,
            &[
                ("code", "INVALID_CLIENT_KEY"),
                ("message", "클라이언트 키가 올바르지 않습니다."),
            ],
        ))
        .into_response();
    }
    if r.action == "cancel" {
        return Redirect::to(&with_query(
            &r.fail_url,
            &[
                ("code", "PAY_PROCESS_CANCELED"),
                ("message", "사용자에 의해 결제가 취소되었습니다."),
            ],
        ))
        .into_response();
    }
    let digits: String = r.card_number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 16 || r.customer_key.len() < 2 || r.customer_key.len() > 300 {
        return Redirect::to(&with_query(
            &r.fail_url,
            &[
                ("code", "INVALID_CARD_NUMBER"),
                ("message", "카드번호를 다시 확인해주세요."),
            ],
        ))
        .into_response();
    }
    let auth_key = emu.issue_auth_key(&r.customer_key, &digits);
    Redirect::to(&with_query(
        &r.success_url,
        &[("customerKey", &r.customer_key), ("authKey", &auth_key)],
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_queries_are_appended_and_encoded() {
        assert_eq!(
            with_query("http://h/ok", &[("a", "1 2"), ("b", "x")]),
            "http://h/ok?a=1%202&b=x"
        );
        assert_eq!(
            with_query("http://h/ok?t=1", &[("a", "b")]),
            "http://h/ok?t=1&a=b"
        );
    }
}

//! Purpose: validates REST responses against Discord's OpenAPI 3.1 spec (bundled copy of
//! `discord-openapi.json`): path-template matching, status lookup (`200`, `4XX`, `default`)
//! and a validator for the JSON Schema subset the spec uses.

use std::sync::OnceLock;

use anyhow::Context as _;
use serde_json::{Map, Value};

use crate::server::RecordedResponse;

/// One validation failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// JSON pointer into the validated value (`/roles/0/id`).
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.pointer.is_empty() {
                "/"
            } else {
                &self.pointer
            },
            self.message
        )
    }
}

fn err(pointer: &str, message: impl Into<String>) -> SpecError {
    SpecError {
        pointer: pointer.to_string(),
        message: message.into(),
    }
}

/// Discord's OpenAPI document plus its path templates.
pub struct SpecValidator {
    doc: Value,
    templates: Vec<(String, Vec<String>)>,
}

static BUNDLED: OnceLock<SpecValidator> = OnceLock::new();

/// Corrections applied to the spec where it contradicts what Discord sends and what
/// serenity parses (each one is listed in the crate README).
pub const KNOWN_SPEC_CORRECTIONS: &[&str] = &[
    "InnerErrors._errors[].code: the spec says integer (the `Error` schema); Discord sends \
     strings such as \"BASE_TYPE_REQUIRED\" and serenity's error parser requires strings",
];

fn apply_corrections(doc: &mut Value) {
    let field_error = serde_json::json!({
        "type": "object",
        "properties": { "code": { "type": "string" }, "message": { "type": "string" } },
        "required": ["code", "message"]
    });
    if let Some(items) = doc.pointer_mut("/components/schemas/InnerErrors/properties/_errors/items")
    {
        *items = field_error;
    }
}

const BUNDLED_SPEC: &str = include_str!("../spec/discord-openapi.json");

impl SpecValidator {
    /// The bundled copy of Discord's spec (parsed once per process).
    pub fn bundled() -> &'static SpecValidator {
        BUNDLED.get_or_init(|| {
            Self::from_json(BUNDLED_SPEC).expect("the bundled OpenAPI spec is valid JSON")
        })
    }

    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let mut doc: Value = serde_json::from_str(text).context("parsing the OpenAPI document")?;
        apply_corrections(&mut doc);
        let templates = doc["paths"]
            .as_object()
            .map(|p| {
                p.keys()
                    .map(|k| (k.clone(), k.split('/').map(str::to_string).collect()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self { doc, templates })
    }

    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        Self::from_json(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
    }

    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The spec template for a concrete path or a template (`/api/v10` prefix and query
    /// string allowed). Static segments win over parameters.
    pub fn match_path(&self, path: &str) -> Option<&str> {
        let path = path.split('?').next().unwrap_or(path);
        let path = crate::server::api_route(path);
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let mut best: Option<(&str, usize)> = None;
        for (t, tsegs) in &self.templates {
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut statics = 0;
            let ok = tsegs.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') {
                    !s.is_empty()
                } else if t == s {
                    statics += 1;
                    true
                } else {
                    false
                }
            });
            if ok && best.is_none_or(|(_, n)| statics > n) {
                best = Some((t.as_str(), statics));
            }
        }
        best.map(|(t, _)| t)
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        let mut cur = v;
        for _ in 0..16 {
            match cur.get("$ref").and_then(Value::as_str) {
                Some(r) => match self.pointer(r) {
                    Some(t) => cur = t,
                    None => return cur,
                },
                None => return cur,
            }
        }
        cur
    }

    fn pointer(&self, r: &str) -> Option<&Value> {
        let p = r.strip_prefix('#')?;
        let decoded = p
            .split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect::<Vec<_>>()
            .join("/");
        // serde_json's pointer does not unescape; rebuild with escaped segments.
        let mut cur = &self.doc;
        for seg in decoded.split('/').skip(1) {
            cur = cur.get(seg)?;
        }
        Some(cur)
    }

    /// The response object for (method, path, status), following `$ref`s.
    pub fn response_object(
        &self,
        method: &str,
        path: &str,
        status: u16,
    ) -> Result<&Value, SpecError> {
        let template = self
            .match_path(path)
            .ok_or_else(|| err("", format!("{path} is not a path of the spec")))?;
        let op = self.doc["paths"][template]
            .get(method.to_lowercase())
            .ok_or_else(|| {
                err(
                    "",
                    format!("{method} {template} is not an operation of the spec"),
                )
            })?;
        let responses = &op["responses"];
        let s = status.to_string();
        let class = format!("{}XX", status / 100);
        let resp = responses
            .get(&s)
            .or_else(|| responses.get(&class))
            .or_else(|| responses.get("default"))
            .ok_or_else(|| {
                err(
                    "",
                    format!("status {status} is not documented for {method} {template}"),
                )
            })?;
        Ok(self.resolve(resp))
    }

    /// Validates one response. `body` None = no body was sent.
    pub fn validate_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Result<(), Vec<SpecError>> {
        let resp = self
            .response_object(method, path, status)
            .map_err(|e| vec![e])?;
        let schema = resp
            .get("content")
            .and_then(|c| c.get("application/json"))
            .and_then(|c| c.get("schema"));
        match (schema, body) {
            (None, None) => Ok(()),
            (None, Some(Value::Null)) => Ok(()),
            (None, Some(_)) => Err(vec![err(
                "",
                format!("status {status} has no body in the spec, but one was sent"),
            )]),
            (Some(_), None) => Err(vec![err(
                "",
                format!("status {status} must have a JSON body"),
            )]),
            (Some(schema), Some(v)) => {
                let errors = self.validate(schema, v);
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(errors)
                }
            }
        }
    }

    /// Validates a value against a schema of the spec.
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<SpecError> {
        let mut out = Vec::new();
        self.check(schema, value, "", &mut out, 0);
        out
    }

    /// Validates a value against `#/components/schemas/{name}`.
    pub fn validate_named(&self, name: &str, value: &Value) -> Vec<SpecError> {
        match self.doc["components"]["schemas"].get(name) {
            Some(s) => self.validate(s, value),
            None => vec![err("", format!("no schema named {name}"))],
        }
    }

    /// Validates recorded responses; returns the failures (routes outside the spec are
    /// failures too — filter them first if expected).
    pub fn validate_recorded<'a>(
        &self,
        responses: &'a [RecordedResponse],
    ) -> Vec<(&'a RecordedResponse, Vec<SpecError>)> {
        responses
            .iter()
            .filter_map(|r| {
                self.validate_response(&r.method, &r.route, r.status, r.body.as_ref())
                    .err()
                    .map(|e| (r, e))
            })
            .collect()
    }

    fn check(&self, schema: &Value, v: &Value, ptr: &str, out: &mut Vec<SpecError>, depth: usize) {
        if depth > 64 {
            out.push(err(ptr, "schema nesting too deep"));
            return;
        }
        let Some(s) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                out.push(err(ptr, "no value is allowed here"));
            }
            return;
        };
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match self.pointer(r) {
                Some(target) => self.check(target, v, ptr, out, depth + 1),
                None => out.push(err(ptr, format!("unresolvable $ref {r}"))),
            }
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(x) => vec![x.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.is_empty() && !types.iter().any(|t| type_matches(t, v)) {
                out.push(err(
                    ptr,
                    format!("expected {}, got {}", types.join(" or "), kind(v)),
                ));
                return;
            }
        }
        if let Some(c) = s.get("const")
            && !json_eq(c, v)
        {
            out.push(err(ptr, format!("expected the constant {c}, got {v}")));
        }
        if let Some(Value::Array(e)) = s.get("enum")
            && !e.iter().any(|x| json_eq(x, v))
        {
            out.push(err(
                ptr,
                format!("{v} is not one of {}", Value::Array(e.clone())),
            ));
        }
        if let Some(Value::Array(all)) = s.get("allOf") {
            for sub in all {
                self.check(sub, v, ptr, out, depth + 1);
            }
        }
        if let Some(Value::Array(any)) = s.get("anyOf") {
            let attempts: Vec<Vec<SpecError>> =
                any.iter().map(|sub| self.sub(sub, v, ptr, depth)).collect();
            if !attempts.iter().any(Vec::is_empty) {
                out.push(err(
                    ptr,
                    format!("matches none of anyOf ({})", summary(&attempts)),
                ));
            }
        }
        if let Some(Value::Array(one)) = s.get("oneOf") {
            let attempts: Vec<Vec<SpecError>> =
                one.iter().map(|sub| self.sub(sub, v, ptr, depth)).collect();
            let ok = attempts.iter().filter(|a| a.is_empty()).count();
            if ok == 0 {
                out.push(err(
                    ptr,
                    format!("matches none of oneOf ({})", summary(&attempts)),
                ));
            } else if ok > 1 {
                out.push(err(
                    ptr,
                    format!("matches {ok} branches of oneOf (exactly one allowed)"),
                ));
            }
        }
        match v {
            Value::String(x) => self.check_string(s, x, ptr, out),
            Value::Number(_) => check_number(s, v, ptr, out),
            Value::Array(a) => {
                if let Some(items) = s.get("items") {
                    for (i, item) in a.iter().enumerate() {
                        self.check(items, item, &format!("{ptr}/{i}"), out, depth + 1);
                    }
                }
                if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                    && (a.len() as u64) < min
                {
                    out.push(err(ptr, format!("fewer than {min} items")));
                }
                if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                    && a.len() as u64 > max
                {
                    out.push(err(ptr, format!("more than {max} items")));
                }
                if s.get("uniqueItems") == Some(&Value::Bool(true)) {
                    for (i, x) in a.iter().enumerate() {
                        if a[..i].contains(x) {
                            out.push(err(ptr, "items are not unique"));
                            break;
                        }
                    }
                }
            }
            Value::Object(o) => self.check_object(s, o, ptr, out, depth),
            _ => {}
        }
    }

    fn sub(&self, schema: &Value, v: &Value, ptr: &str, depth: usize) -> Vec<SpecError> {
        let mut e = Vec::new();
        self.check(schema, v, ptr, &mut e, depth + 1);
        e
    }

    fn check_string(&self, s: &Map<String, Value>, x: &str, ptr: &str, out: &mut Vec<SpecError>) {
        let n = x.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && n < min
        {
            out.push(err(ptr, format!("shorter than {min} characters")));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && n > max
        {
            out.push(err(ptr, format!("longer than {max} characters")));
        }
        if let Some(p) = s.get("pattern").and_then(Value::as_str) {
            let ok = match p {
                "^(0|[1-9][0-9]*)$" => {
                    x == "0"
                        || (!x.is_empty()
                            && !x.starts_with('0')
                            && x.bytes().all(|b| b.is_ascii_digit()))
                }
                "^#(([0-9a-fA-F]{2}){3}|([0-9a-fA-F]){3})$" => {
                    x.strip_prefix('#').is_some_and(|h| {
                        (h.len() == 6 || h.len() == 3) && h.bytes().all(|b| b.is_ascii_hexdigit())
                    })
                }
                _ => true,
            };
            if !ok {
                out.push(err(ptr, format!("{x:?} does not match {p}")));
            }
        }
        match s.get("format").and_then(Value::as_str) {
            Some("snowflake") if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) => {
                out.push(err(ptr, format!("{x:?} is not a snowflake")));
            }
            Some("date-time") if chrono::DateTime::parse_from_rfc3339(x).is_err() => {
                out.push(err(ptr, format!("{x:?} is not an RFC 3339 date-time")));
            }
            Some("uri")
                if !x.split_once(':').is_some_and(|(scheme, _)| {
                    !scheme.is_empty()
                        && scheme
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                }) =>
            {
                out.push(err(ptr, format!("{x:?} is not a URI")));
            }
            Some("int64") if x.parse::<i64>().is_err() => {
                out.push(err(ptr, format!("{x:?} is not an int64")))
            }
            _ => {}
        }
    }

    fn check_object(
        &self,
        s: &Map<String, Value>,
        o: &Map<String, Value>,
        ptr: &str,
        out: &mut Vec<SpecError>,
        depth: usize,
    ) {
        if let Some(Value::Array(req)) = s.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !o.contains_key(r) {
                    out.push(err(ptr, format!("missing required property {r:?}")));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, val) in o {
            let child = format!("{ptr}/{k}");
            match props.and_then(|p| p.get(k)) {
                Some(ps) => self.check(ps, val, &child, out, depth + 1),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        out.push(err(&child, "additional property not allowed"))
                    }
                    Some(ap @ Value::Object(_)) => self.check(ap, val, &child, out, depth + 1),
                    _ => {}
                },
            }
        }
        if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
            && o.len() as u64 > max
        {
            out.push(err(ptr, format!("more than {max} properties")));
        }
        if let Some(min) = s.get("minProperties").and_then(Value::as_u64)
            && (o.len() as u64) < min
        {
            out.push(err(ptr, format!("fewer than {min} properties")));
        }
    }
}

fn check_number(s: &Map<String, Value>, v: &Value, ptr: &str, out: &mut Vec<SpecError>) {
    let Some(x) = v.as_f64() else { return };
    if let Some(min) = s.get("minimum").and_then(Value::as_f64)
        && x < min
    {
        out.push(err(ptr, format!("{v} is below the minimum {min}")));
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64)
        && x > max
    {
        out.push(err(ptr, format!("{v} is above the maximum {max}")));
    }
    if s.get("format").and_then(Value::as_str) == Some("int32")
        && v.is_i64()
        && !(i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&v.as_i64().unwrap_or(0))
    {
        out.push(err(ptr, format!("{v} does not fit int32")));
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => true,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn summary(attempts: &[Vec<SpecError>]) -> String {
    attempts
        .iter()
        .min_by_key(|a| a.len())
        .and_then(|a| a.first())
        .map(|e| format!("closest: {e}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v() -> &'static SpecValidator {
        SpecValidator::bundled()
    }

    #[test]
    fn paths_match_templates_and_static_segments_win() {
        assert_eq!(
            v().match_path("/api/v10/guilds/1/roles/2"),
            Some("/guilds/{guild_id}/roles/{role_id}")
        );
        assert_eq!(v().match_path("/users/@me"), Some("/users/@me"));
        assert_eq!(v().match_path("/users/123"), Some("/users/{user_id}"));
        assert_eq!(
            v().match_path("/guilds/{guild_id}/members/{user_id}"),
            Some("/guilds/{guild_id}/members/{user_id}")
        );
        assert_eq!(v().match_path("/nope"), None);
    }

    #[test]
    fn a_valid_role_passes_and_a_broken_one_fails_with_pointers() {
        let role = json!({
            "id": "1", "name": "r", "permissions": "0", "position": 1, "color": 0,
            "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
            "hoist": false, "managed": false, "mentionable": false, "icon": null, "unicode_emoji": null, "flags": 0
        });
        assert!(v().validate_named("GuildRoleResponse", &role).is_empty());
        let mut bad = role.clone();
        bad["id"] = json!(1);
        bad.as_object_mut().map(|o| o.remove("hoist"));
        let errors = v().validate_named("GuildRoleResponse", &bad);
        assert!(errors.iter().any(|e| e.pointer == "/id"), "{errors:?}");
        assert!(
            errors.iter().any(|e| e.message.contains("hoist")),
            "{errors:?}"
        );
    }

    #[test]
    fn statuses_resolve_exactly_then_by_class() {
        assert!(
            v().validate_response("DELETE", "/guilds/1/roles/2", 204, None)
                .is_ok()
        );
        assert!(
            v().validate_response("DELETE", "/guilds/1/roles/2", 200, Some(&json!({})))
                .is_err()
        );
        let e = json!({ "code": 10011, "message": "Unknown Role" });
        assert!(
            v().validate_response("DELETE", "/guilds/1/roles/2", 404, Some(&e))
                .is_ok()
        );
        let rl = json!({ "code": 0, "message": "You are being rate limited.", "retry_after": 1.5, "global": false });
        assert!(
            v().validate_response("POST", "/guilds/1/roles", 429, Some(&rl))
                .is_ok()
        );
        assert!(
            v().validate_response("POST", "/guilds/1/roles", 429, Some(&e))
                .is_err()
        );
    }

    #[test]
    fn one_of_requires_exactly_one_branch_and_nullable_types_accept_null() {
        let schema = json!({ "oneOf": [{ "type": "integer" }, { "type": "number" }] });
        assert_eq!(
            v().validate(&schema, &json!(1)).len(),
            1,
            "1 is both an integer and a number"
        );
        assert!(v().validate(&schema, &json!(1.5)).is_empty());
        assert!(
            v().validate(&json!({ "type": ["string", "null"] }), &Value::Null)
                .is_empty()
        );
    }

    #[test]
    fn formats_are_checked() {
        assert!(
            !v().validate(
                &json!({ "type": "string", "format": "date-time" }),
                &json!("yesterday")
            )
            .is_empty()
        );
        assert!(
            v().validate(
                &json!({ "type": "string", "format": "date-time" }),
                &json!("2024-01-01T00:00:00.000000+00:00")
            )
            .is_empty()
        );
        assert!(
            !v().validate(
                &json!({ "$ref": "#/components/schemas/SnowflakeType" }),
                &json!("012")
            )
            .is_empty()
        );
    }
}

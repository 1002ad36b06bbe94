//! Request extractors that answer bad input with problem documents naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::Problem;

/// The largest JSON body accepted (imports use multipart, not this).
const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// Where a serde error happened, as a field path (`criteria[1].label`), falling back to the
/// field a "missing/unknown field" message names.
fn field_of(path: &serde_path_to_error::Path, message: &str) -> Option<String> {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| {
            message
                .split(prefix)
                .nth(1)
                .and_then(|rest| rest.split('`').next())
        });
    match (out.is_empty(), named) {
        (_, Some(name))
            if message.starts_with("unknown field") || message.starts_with("missing field") =>
        {
            let already_named = out == name
                || out.ends_with(&format!(".{name}"))
                || out.ends_with(&format!("]{name}"));
            Some(if out.is_empty() {
                name.to_string()
            } else if already_named {
                out
            } else {
                format!("{out}.{name}")
            })
        }
        (false, _) => Some(out),
        (true, _) => None,
    }
}

/// A readable message without serde's position suffix.
fn clean_message(message: &str) -> String {
    let base = message.split(" at line ").next().unwrap_or(message);
    base.replace("invalid type: ", "wrong type: ")
}

pub fn json_problem(err: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let inner = err.inner();
    let message = inner.to_string();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => Problem::new(
            StatusCode::BAD_REQUEST,
            "/problems/malformed-json",
            "Malformed JSON",
            format!("the body is not valid JSON: {message}"),
        ),
        _ => {
            let field = field_of(err.path(), &message).unwrap_or_else(|| "body".into());
            let clean = clean_message(&message);
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/validation",
                "Invalid input",
                format!("{field}: {clean}"),
            )
            .with_field(field, clean)
        }
    }
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "/problems/too-large",
        "Body too large",
        "the JSON body is larger than 2 MiB",
    )
}

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application"
                    && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "/problems/unsupported-media-type",
                "JSON expected",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            // axum's own body limit (also 2 MiB) answers first for large bodies.
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "/problems/unreadable-body",
                    "Unreadable body",
                    e.body_text(),
                )
            }
        })?;
        if bytes.len() > JSON_LIMIT {
            return Err(too_large());
        }
        // Serde would fill a struct from an array in field order; the API speaks objects only.
        if bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'[')
        {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/validation",
                "Invalid input",
                "body: must be a JSON object, not an array",
            )
            .with_field("body", "must be a JSON object"));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(json_problem)?;
        de.end().map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "/problems/malformed-json",
                "Malformed JSON",
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        Ok(ApiJson(value))
    }
}

/// A JSON body that may be left out entirely (`POST /deals/{id}/won` with no body).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Whatever the headers say (`curl -X POST -H 'Content-Type: application/json'` sends
        // no Content-Length), an empty body is a body left out.
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, JSON_LIMIT).await.map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "/problems/unreadable-body",
                "Unreadable body",
                "the body could not be read",
            )
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        ApiJson::from_request(req, state)
            .await
            .map(|ApiJson(v)| OptionalJson(v))
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|err| {
                let message = err.inner().to_string();
                let field = field_of(err.path(), &message).unwrap_or_else(|| "query".into());
                let clean = clean_message(&message);
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/problems/validation",
                    "Invalid input",
                    format!("{field}: {clean}"),
                )
                .with_field(field, clean)
            })
    }
}

/// A typed id from the path. An id that cannot exist is reported like one that does not.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|_| {
                // The full path as requested: a nested router sees it without its prefix.
                let path = parts
                    .extensions
                    .get::<axum::extract::OriginalUri>()
                    .map_or(parts.uri.path(), |o| o.0.path());
                Problem::not_found(format!("nothing is at {path}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        value: i64,
    }

    fn problem_for(text: &str) -> Problem {
        let mut de = serde_json::Deserializer::from_str(text);
        json_problem(serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err())
    }

    #[test]
    fn wrong_types_name_their_path() {
        let p = problem_for(r#"{"name":"x","items":[{"value":1},{"value":"lots"}]}"#);
        assert_eq!(p.status, 422);
        assert_eq!(p.field.as_deref(), Some("items[1].value"));
        assert!(p.detail.contains("wrong type"), "{}", p.detail);
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        assert_eq!(
            problem_for(r#"{"items":[]}"#).field.as_deref(),
            Some("name")
        );
        assert_eq!(
            problem_for(r#"{"name":"x","items":[],"colour":1}"#)
                .field
                .as_deref(),
            Some("colour")
        );
        assert_eq!(
            problem_for(r#"{"name":"x","items":[{"value":1,"v":2}]}"#)
                .field
                .as_deref(),
            Some("items[0].v")
        );
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        let p = problem_for(r#"{"name": "#);
        assert_eq!(p.status, 400);
        assert_eq!(p.kind, "/problems/malformed-json");
    }
}

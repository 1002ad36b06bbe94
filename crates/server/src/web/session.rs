//! Signing in to the web UI: session cookies, the signed-in user of a page, and CSRF checks
//! on every form that changes something.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use throughline_core::Actor;
use throughline_core::user::User;
use throughline_store::{Ctx, sessions, users};

use super::error::PageError;
use crate::AppState;

pub const COOKIE: &str = "tl_session";

/// The signed-in user of a page, with the CSRF token its forms must carry.
#[derive(Debug, Clone)]
pub struct PageUser {
    pub user: User,
    pub csrf: String,
}

impl PageUser {
    pub fn actor(&self) -> Actor {
        Actor::user(self.user.id, self.user.role)
    }

    pub fn ctx(&self) -> Ctx {
        Ctx::now(self.actor())
    }
}

/// The user behind the request's session cookie, if any.
pub async fn from_cookie(
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Option<PageUser>, PageError> {
    let jar = CookieJar::from_headers(headers);
    let Some(secret) = jar.get(COOKIE).map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    let mut tx = state.store.read().await?;
    let found = sessions::lookup(&mut tx, &secret, jiff::Timestamp::now()).await?;
    Ok(found.map(|(user, csrf)| PageUser { user, csrf }))
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<PageUser>() {
            return Ok(user.clone());
        }
        match from_cookie(&parts.headers, state).await {
            Ok(Some(user)) => {
                parts.extensions.insert(user.clone());
                Ok(user)
            }
            Ok(None) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                Err(Redirect::to(&target).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Equal-time comparison: how long a mismatch takes must not reveal how much matched.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A urlencoded form whose `_csrf` field matched the session's token.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = PageUser::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, 1024 * 1024)
            .await
            .map_err(|_| PageError::bad_request("The form could not be read.").into_response())?;
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| PageError::bad_request("The form could not be read.").into_response())?;
        let token = pairs
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if !same_secret(&token, &user.csrf) {
            return Err(PageError::forbidden(
                "This form has expired. Reload the page and try again.",
            )
            .into_response());
        }
        pairs.retain(|(k, _)| k != "_csrf");
        let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        serde_urlencoded::from_str(&encoded)
            .map(CsrfForm)
            .map_err(|e| {
                PageError::bad_request(format!("The form is incomplete: {e}.")).into_response()
            })
    }
}

fn session_cookie(secret: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, secret))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time_duration(sessions::SESSION_DAYS))
        .build()
}

fn time_duration(days: i64) -> time::Duration {
    time::Duration::days(days)
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    pub hint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
}

/// Only local paths: a login link must not send people elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/board".to_string(),
    }
}

async fn needs_setup(state: &AppState) -> Result<bool, PageError> {
    let mut tx = state.store.read().await?;
    Ok(users::count_with_login(&mut tx).await? == 0)
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    if let Ok(Some(_)) = from_cookie(&headers, &state).await {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    match needs_setup(&state).await {
        Ok(true) => return Redirect::to("/setup").into_response(),
        Ok(false) => {}
        Err(e) => return e.into_response(),
    }
    LoginPage {
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
        hint: state.config.login_hint.clone(),
    }
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref());
    let mut tx = state.store.write().await?;
    let Some(user) = users::verify_password(&mut tx, &form.email, &form.password).await? else {
        drop(tx);
        let page = LoginPage {
            email: form.email,
            next,
            error: Some("That e-mail and password do not match an account.".into()),
            hint: state.config.login_hint.clone(),
        };
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let session =
        sessions::create(&mut tx, &Ctx::now(Actor::user(user.id, user.role)), user.id).await?;
    tx.commit().await?;
    let jar = jar.add(session_cookie(session.secret, state.config.secure_cookies));
    Ok((jar, Redirect::to(&next)).into_response())
}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    if let Some(secret) = jar.get(COOKIE).map(|c| c.value().to_string()) {
        let mut tx = state.store.write().await?;
        sessions::delete(&mut tx, &secret).await?;
        tx.commit().await?;
    }
    let jar = jar.remove(Cookie::build(COOKIE).path("/").build());
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub struct SetupPage {
    pub name: String,
    pub email: String,
    pub errors: Vec<throughline_core::FieldError>,
}

/// First run: create the first admin from the browser. Only while nobody can sign in.
pub async fn setup_page(State(state): State<AppState>) -> Result<Response, PageError> {
    if !needs_setup(&state).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(SetupPage {
        name: String::new(),
        email: String::new(),
        errors: vec![],
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    name: String,
    email: String,
    password: String,
}

pub async fn setup(
    State(state): State<AppState>,
    jar: CookieJar,
    axum::Form(form): axum::Form<SetupForm>,
) -> Result<Response, PageError> {
    let mut tx = state.store.write().await?;
    if users::count_with_login(&mut tx).await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    let ctx = Ctx::now(Actor::SYSTEM);
    let new = users::NewUser {
        email: form.email.clone(),
        name: form.name.clone(),
        role: throughline_core::Role::Admin,
        team_id: None,
        password: Some(form.password),
    };
    let user = match users::create(&mut tx, &ctx, new).await {
        Ok(user) => user,
        Err(throughline_store::StoreError::Invalid(invalid)) => {
            let page = SetupPage {
                name: form.name,
                email: form.email,
                errors: invalid.errors,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let session = sessions::create(&mut tx, &ctx, user.id).await?;
    tx.commit().await?;
    let jar = jar.add(session_cookie(session.secret, state.config.secure_cookies));
    Ok((jar, Redirect::to("/board")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/deals/1")), "/deals/1");
        assert_eq!(safe_next(Some("//evil.example")), "/board");
        assert_eq!(safe_next(Some("https://evil.example")), "/board");
        assert_eq!(safe_next(None), "/board");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}

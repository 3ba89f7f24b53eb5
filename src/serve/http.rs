//! The HTTP side of `verso serve` (axum): the last good site's files, and
//! `/__verso/events`, a server-sent event stream per open page that says
//! `reload` when a build changed that page (or fixed a failure the page
//! shows) and `failed` with the error when a build failed.

use super::files::{content_type, is_html, page_of, resolve, with_reload_script};
use super::{Change, Live};
use crate::error::{Error, Result};
use axum::extract::{Query, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Serve `live` on `listener` until the returned task is aborted.
pub fn start(listener: std::net::TcpListener, live: Arc<Live>) -> Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| Error::Failed(format!("cannot serve: {e}")))?;
    let app = Router::new()
        .route("/__verso/events", get(events))
        .fallback(file)
        .with_state(live);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("error: the HTTP server stopped: {e}");
        }
    }))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn file(State(live): State<Arc<Live>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let root = live.root.read().expect("root lock").clone();
    let Some(path) = page_of(uri.path()).and_then(|page| resolve(&root, &page)) else {
        return not_found();
    };
    let Ok(mut body) = tokio::fs::read(&path).await else {
        return not_found();
    };
    if is_html(&path) {
        body = with_reload_script(body);
    }
    (
        [
            (header::CONTENT_TYPE, content_type(&path)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct Watching {
    page: String,
}

/// One open page's stream.
struct Listener {
    changes: tokio::sync::broadcast::Receiver<Change>,
    page: String,
    /// The page shows a failure: the next good build reloads it.
    failed: bool,
    first: Option<Event>,
}

async fn events(
    State(live): State<Arc<Live>>,
    Query(watching): Query<Watching>,
) -> Sse<impl Stream<Item = std::result::Result<Event, Infallible>>> {
    let changes = live.changes.subscribe();
    let failure = live.failure.read().expect("failure lock").clone();
    let listener = Listener {
        changes,
        page: page_of(&watching.page).unwrap_or_default(),
        failed: failure.is_some(),
        first: failure.map(|text| Event::default().event("failed").data(&*text)),
    };
    // Browsers drop an event without data, so `reload` carries a word.
    let stream = stream::unfold(listener, |mut l| async move {
        if let Some(first) = l.first.take() {
            return Some((Ok(first), l));
        }
        loop {
            let event = match l.changes.recv().await {
                Ok(Change::Failed(text)) => {
                    l.failed = true;
                    Event::default().event("failed").data(&*text)
                }
                Ok(Change::Built(paths)) if l.failed || paths.contains(&l.page) => {
                    l.failed = false;
                    Event::default().event("reload").data("changed")
                }
                Ok(Change::Built(_)) => continue,
                // Missed changes may have touched this page.
                Err(RecvError::Lagged(_)) => Event::default().event("reload").data("changed"),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(event), l));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

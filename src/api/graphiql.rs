//! GraphiQL at `GET /graphql`, its page and assets (React, ReactDOM, GraphiQL's published
//! builds; `src/api/graphiql/README.md` says which) served from the binary, so it loads with no
//! network beyond plusflow itself.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "src/api/graphiql/"]
#[include = "*.js"]
#[include = "*.css"]
#[include = "page.html"]
struct Assets;

/// `GET /graphql`: the GraphiQL page.
pub async fn page() -> Response {
    match Assets::get("page.html") {
        Some(file) => Html(file.data).into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "GraphiQL is not built in").into_response(),
    }
}

/// `GET /graphql/assets/{name}`: one of its scripts or stylesheets, cached by browsers for a day
/// (the names change with the binary's GraphiQL version only).
pub async fn asset(Path(name): Path<String>) -> Response {
    let content_type = if name.ends_with(".js") {
        "text/javascript; charset=utf-8"
    } else if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match Assets::get(&name) {
        Some(file) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            file.data,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

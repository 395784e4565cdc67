//! Subscriptions' plumbing: an object now, then again after each change of its instance, until
//! it is final (what every kind's `<kind>Updated` subscription returns).

use async_graphql::{Context, ID, Result};
use futures::Stream;
use uuid::Uuid;

use super::context::{engine, graphql_error, parse_id, principal};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use crate::store::entity::instance;

/// What `get` (a use case reading one thing the caller may see) says of `id` now, then again
/// after each change of its instance, until it is final.
pub async fn watch<V, Fut>(
    ctx: &Context<'_>,
    id: &ID,
    get: fn(Engine, Principal, Uuid) -> Fut,
    instance_of: fn(&V) -> &instance::Model,
) -> Result<impl Stream<Item = V> + use<V, Fut>>
where
    V: Send + 'static,
    Fut: Future<Output = Result<V, AppError>> + Send + 'static,
{
    let principal = principal(ctx)?.clone();
    let engine = engine(ctx).clone();
    let id = parse_id(id)?;
    let updates = engine.updates();
    let first = get(engine.clone(), principal.clone(), id)
        .await
        .map_err(graphql_error)?;
    let load = move || {
        let read = get(engine.clone(), principal.clone(), id);
        async move { read.await.ok() }
    };
    Ok(follow(id, updates, first, instance_of, load))
}

/// `first`, then a fresh `load()` each time instance `id` changes (version or needs-attention),
/// until it is terminal.
fn follow<T, Load, Fut>(
    id: Uuid,
    mut updates: tokio::sync::broadcast::Receiver<crate::app::Update>,
    first: T,
    instance_of: fn(&T) -> &instance::Model,
    load: Load,
) -> impl Stream<Item = T>
where
    T: Send + 'static,
    Load: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Option<T>> + Send,
{
    use tokio::sync::broadcast::error::RecvError;
    async_stream::stream! {
        let state = |instance: &instance::Model| (instance.version, instance.needs_attention);
        let mut seen = state(instance_of(&first));
        let mut done = instance_of(&first).terminal;
        yield first;
        while !done {
            match updates.recv().await {
                Ok(update) if update.instance_id != id => continue,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
            let Some(view) = load().await else { continue };
            if state(instance_of(&view)) != seen {
                seen = state(instance_of(&view));
                done = instance_of(&view).terminal;
                yield view;
            }
        }
    }
}

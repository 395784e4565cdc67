//! What one GraphQL request may cost: depth, complexity (every field counts, aliases included)
//! and an explicit alias cap, so a request cannot ask for the same expensive field hundreds of
//! times under different names. Batches (a JSON array of requests) are not accepted at all:
//! the HTTP layer extracts a single request. Sized so every query a merchant needs passes (the
//! deepest, `payments { edges { node { refunds { payment { refunds { id } } } } } }`, is 7 levels).

use std::sync::Arc;

use async_graphql::ValidationResult;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// Deepest selection accepted.
pub const MAX_DEPTH: usize = 12;
/// Most fields (aliases included) in one request.
pub const MAX_COMPLEXITY: usize = 500;
/// Most aliased fields in one request.
pub const MAX_ALIASES: usize = 30;

/// Refuses a document with more than [`MAX_ALIASES`] aliased fields before it is validated or
/// run, and gives every refused document an `extensions.code`: `QUERY_TOO_COMPLEX` for the
/// limits, `GRAPHQL_VALIDATION_FAILED` for the rest (an unknown field, a wrong argument).
pub struct RequestLimits;

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimitsExtension)
    }
}

struct RequestLimitsExtension;

fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let mut extensions = error.extensions.take().unwrap_or_default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

#[async_trait::async_trait]
impl Extension for RequestLimitsExtension {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| {
                    let code = if error.message.contains("too complex") || error.message.contains("too deep")
                    {
                        "QUERY_TOO_COMPLEX"
                    } else {
                        "GRAPHQL_VALIDATION_FAILED"
                    };
                    with_code(error, code)
                })
                .collect()
        })
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let operations: Vec<&SelectionSet> = match &document.operations {
            DocumentOperations::Single(operation) => vec![&operation.node.selection_set.node],
            DocumentOperations::Multiple(operations) => operations
                .values()
                .map(|operation| &operation.node.selection_set.node)
                .collect(),
        };
        let fragments = document
            .fragments
            .values()
            .map(|fragment| &fragment.node.selection_set.node);
        let aliases: usize = operations.into_iter().chain(fragments).map(aliases_in).sum();
        if aliases > MAX_ALIASES {
            let error = ServerError::new(
                format!("the query has {aliases} aliased fields; at most {MAX_ALIASES} are accepted"),
                None,
            );
            return Err(with_code(error, "QUERY_TOO_COMPLEX"));
        }
        Ok(document)
    }
}

fn aliases_in(selection_set: &SelectionSet) -> usize {
    selection_set
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + aliases_in(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => aliases_in(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

//! What GraphQL work costs: per request, depth, complexity (every field counts, aliases
//! included, a page's fields once per row it may hold: [`page_cost`]) and an explicit alias cap,
//! so a request cannot ask for the same expensive field hundreds of times under different names;
//! per caller, a budget of complexity a minute ([`ComplexityBudget`]), so one merchant's heavy
//! reads cannot slow everyone else's. Batches (a JSON array of requests) are not accepted at
//! all: the HTTP layer extracts a single request. Sized so every query a merchant needs passes
//! (the deepest, `payments { edges { node { refunds { payment { refunds { id } } } } } }`, is 7
//! levels; a full page of 50 payments with 40 fields each is 2,000).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::ValidationResult;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

use crate::app::auth::Principal;
use crate::app::console::Operator;

/// Deepest selection accepted.
pub const MAX_DEPTH: usize = 12;
/// Most complexity in one request: fields, aliases included, a page's once per row.
pub const MAX_COMPLEXITY: usize = 5000;
/// The most rows a merchant's page (`payments`, `disputes`) holds.
pub const MAX_MERCHANT_PAGE: i32 = 50;

/// The complexity of a page of `first` rows (20 when not given) whose row selection costs
/// `per_row`: every row may be there.
pub fn page_cost(first: Option<i32>, per_row: usize) -> usize {
    usize::try_from(first.unwrap_or(20).max(1))
        .unwrap_or(1)
        .saturating_mul(per_row)
}

/// The complexity each caller (a merchant, whatever its key; an operator) may spend a minute, in
/// this process; past it, requests are refused `RATE_LIMITED` with `retryAfterSeconds` until
/// the minute is over.
pub struct ComplexityBudget {
    per_minute: usize,
    spent: Mutex<HashMap<String, (Instant, usize)>>,
}

impl ComplexityBudget {
    const WINDOW: Duration = Duration::from_secs(60);
    /// Callers remembered at most; past it, those whose minute is over are forgotten.
    const CALLERS: usize = 100_000;

    pub fn new(per_minute: usize) -> Self {
        Self {
            per_minute,
            spent: Mutex::default(),
        }
    }

    /// Charges `cost` to `caller`, or says in how many seconds it may spend again.
    fn charge(&self, caller: String, cost: usize) -> Result<(), u64> {
        let mut spent = self.spent.lock().expect("never poisoned");
        if spent.len() >= Self::CALLERS {
            spent.retain(|_, (since, _)| since.elapsed() < Self::WINDOW);
        }
        let entry = spent.entry(caller).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Self::WINDOW {
            *entry = (Instant::now(), 0);
        }
        if entry.1.saturating_add(cost) > self.per_minute {
            let left = Self::WINDOW.saturating_sub(entry.0.elapsed());
            return Err(left.as_secs().max(1));
        }
        entry.1 += cost;
        Ok(())
    }
}

/// Who pays for a request: its merchant, or its operator; nobody for an anonymous one (it is
/// refused anyway).
fn payer(ctx: &ExtensionContext<'_>) -> Option<String> {
    match ctx.data_opt::<Principal>()? {
        Principal::Merchant(merchant) => Some(format!("merchant:{}", merchant.id)),
        Principal::Admin => Some(format!("operator:{}", ctx.data_opt::<Operator>()?.name)),
    }
}
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
        let result = next.run(ctx).await.map_err(|errors| {
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
                .collect::<Vec<_>>()
        })?;
        if let (Some(budget), Some(payer)) = (ctx.data_opt::<ComplexityBudget>(), payer(ctx))
            && let Err(seconds) = budget.charge(payer, result.complexity)
        {
            let mut error = with_code(
                ServerError::new(
                    "this caller's GraphQL budget for the minute is spent; try again later",
                    None,
                ),
                "RATE_LIMITED",
            );
            if let Some(extensions) = error.extensions.as_mut() {
                extensions.set("retryAfterSeconds", seconds);
            }
            return Err(vec![error]);
        }
        Ok(result)
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

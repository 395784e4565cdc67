//! What every list answer shares: a Relay page of rows ([`page`]), and a merchant's list
//! arguments ([`merchant_page_args`], [`one_status`]).

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge, EmptyFields};
use uuid::Uuid;

use super::limits::MAX_MERCHANT_PAGE;
use crate::app::errors::{AppError, invalid};

/// `rows` as a Relay page, each made an edge (cursor, node) by `edge`; `after_given`: the page
/// was asked for after a cursor; `more`: rows follow it.
pub fn page<R, N: OutputType>(
    rows: Vec<R>,
    more: bool,
    after_given: bool,
    edge: impl Fn(R) -> (String, N),
) -> Connection<String, N, EmptyFields, EmptyFields> {
    let mut connection = Connection::new(after_given, more);
    connection.edges.extend(rows.into_iter().map(|row| {
        let (cursor, node) = edge(row);
        Edge::new(cursor, node)
    }));
    connection
}

/// `first` (default 20, 1 to [`MAX_MERCHANT_PAGE`]) and the `after` cursor (a row id) of a
/// merchant's list, or VALIDATION naming the argument.
pub fn merchant_page_args(first: Option<i32>, after: Option<&str>) -> Result<(u64, Option<Uuid>), AppError> {
    let first = first.unwrap_or(20);
    if !(1..=MAX_MERCHANT_PAGE).contains(&first) {
        return Err(invalid(
            "first",
            format!("must be between 1 and {MAX_MERCHANT_PAGE}"),
        ));
    }
    let after = match after {
        Some(cursor) => {
            Some(Uuid::parse_str(cursor).map_err(|_| invalid("after", "is not a cursor from this API"))?)
        }
        None => None,
    };
    Ok((first as u64, after))
}

/// The status a list keeps: the `status` argument (kept from round 2) or `filter.status`, which
/// must agree when both are given (VALIDATION otherwise).
pub fn one_status<S: PartialEq>(status: Option<S>, filtered: Option<S>) -> Result<Option<S>, AppError> {
    match (status, filtered) {
        (Some(a), Some(b)) if a != b => Err(invalid("status", "differs from filter.status")),
        (status, filtered) => Ok(status.or(filtered)),
    }
}

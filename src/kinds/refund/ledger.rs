//! What a refund books (`store::ledger`): when it succeeds, the merchant owes back what the
//! customer gets, and Alipay+ owes the acquirer that much less, in the payment's currency. A
//! refund an accepted dispute escalation made (`disputes.refund_id`) is a dispute refund.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};

use crate::store::StoreError;
use crate::store::entity::refund;
use crate::store::feed::Change;
use crate::store::ledger::{Account, Journal, Line, Source};

/// The state whose entry is the money event.
pub const BOOKED_STATE: &str = "succeeded";

/// The journal of the refund of `change` succeeding, read in the change's transaction.
pub(super) async fn book(change: Change<'_>) -> Result<Option<Journal>, StoreError> {
    let Some(refund) = change.row::<refund::Entity>().await? else {
        return Ok(None);
    };
    // The disputes table is the dispute kind's: asked by name, not through its folder.
    let of_a_dispute = Query::select()
        .expr(Expr::val(1))
        .from(Alias::new("disputes"))
        .and_where(Expr::col(Alias::new("refund_id")).eq(refund.id))
        .to_owned();
    let of_a_dispute = change.txn.query_one(&of_a_dispute).await?.is_some();
    Ok(Some(journal(&refund, of_a_dispute, change.instance.updated_at)))
}

/// The lines of `refund` succeeding at `at`.
pub fn journal(refund: &refund::Model, of_a_dispute: bool, at: chrono::DateTime<chrono::Utc>) -> Journal {
    let currency = refund.currency.as_str();
    Journal {
        source: if of_a_dispute {
            Source::DisputeRefundSucceeded
        } else {
            Source::RefundSucceeded
        },
        merchant_id: refund.merchant_id,
        object_id: refund.id,
        at,
        lines: vec![
            Line::debit(Account::MerchantPayable, currency, refund.amount),
            Line::credit(Account::AlipayplusReceivable, currency, refund.amount),
        ],
    }
}

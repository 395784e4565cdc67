//! The customs declaration kind: a paid order declared to customs (AlipayCN `declare`,
//! `inquireDeclarationRequests`).

pub mod effects;
pub mod entity;
pub mod graphql;
pub mod names;
pub mod rows;
pub mod simulator;
pub mod test_helpers;
pub mod use_cases;

use crate::app::kind::ContextField;
use crate::app::kind::Kind;

/// An order declared to customs.
pub struct CustomsDeclaration;

impl Kind for CustomsDeclaration {
    crate::kind_folder!(name: "customs_declaration", statuses: graphql::CustomsDeclarationStatus, simulator: simulator::CustomsDeclarations);

    /// Its payment, customs, amount and customsDeclarationRequestId (never the buyer's
    /// identity).
    fn context<'a>(
        &'a self,
        of: crate::app::kind::InstanceIn<'a>,
    ) -> futures::future::BoxFuture<'a, Result<Vec<ContextField>, crate::app::errors::AppError>> {
        Box::pin(async move {
            let Some((declaration, _)) =
                rows::declaration_with_instance(&of.engine.db, of.instance.id).await?
            else {
                return Ok(Vec::new());
            };
            Ok(vec![
                crate::app::merchants::context_line(of.engine, declaration.merchant_id).await?,
                ContextField::workflow("payment", declaration.payment_id),
                ContextField::text("customs", &declaration.customs_code),
                ContextField::text(
                    "amount",
                    crate::domain::format_money(&declaration.currency, declaration.amount),
                ),
                ContextField::text(
                    "customsDeclarationRequestId",
                    &declaration.customs_declaration_request_id,
                ),
            ])
        })
    }
}

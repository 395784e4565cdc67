//! GraphQL of customs declarations: the `CustomsDeclaration` object, its query and
//! `declareCustoms`.

use crate::api::graphql::context::{engine, graphql_error, parse_id, principal};
use crate::api::graphql::watch::watch;
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use async_graphql::Subscription;
use futures::{Stream, StreamExt};
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::api::graphql::context::status_as;
use crate::api::graphql::reads::AnswerReads;
use crate::api::graphql::shared::{Money, MoneyInput, Payment, Workflow};
use crate::kinds::customs_declaration::use_cases::{
    self as customs, DeclarationView, NewDeclaration, Redeclaration,
};

#[derive(Enum, Copy, Clone, Eq, PartialEq, strum::EnumString, strum::IntoStaticStr, strum::VariantNames)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomsDeclarationStatus {
    Pending,
    Submitted,
    Processing,
    Accepted,
    Rejected,
}

#[derive(InputObject)]
pub struct DeclareCustomsInput {
    pub payment_id: ID,
    /// The customs office (district) declared to.
    pub customs_code: String,
    /// The merchant's registration with customs.
    pub merchant_customs_code: String,
    pub merchant_customs_name: String,
    /// In CNY.
    pub amount: MoneyInput,
    /// One of several declarations of the payment (split orders, several districts, or part of
    /// it); then `subOrderId` names the order declared.
    pub split: Option<bool>,
    pub sub_order_id: Option<String>,
    /// The buyer's identity, passed to customs.
    pub buyer_name: Option<String>,
    pub buyer_id_number: Option<String>,
    /// What `buyerIdNumber` is: a Chinese resident ID card (the default) or a passport.
    pub buyer_id_type: Option<BuyerIdType>,
}

/// The buyer certificates Alipay+ takes.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum BuyerIdType {
    IdCard,
    Passport,
}

impl BuyerIdType {
    fn wire(self) -> &'static str {
        match self {
            BuyerIdType::IdCard => "ID_CARD",
            BuyerIdType::Passport => "PASSPORT",
        }
    }
}

#[derive(InputObject)]
pub struct RedeclareCustomsInput {
    pub declaration_id: ID,
    pub customs_code: Option<String>,
    pub merchant_customs_code: Option<String>,
    pub merchant_customs_name: Option<String>,
    /// In CNY, at most the amount declared before.
    pub amount: Option<MoneyInput>,
    pub sub_order_id: Option<String>,
}

/// A declaration of (part of) an AlipayCN payment to Chinese customs.
pub struct CustomsDeclaration(pub DeclarationView, Arc<AnswerReads>);

impl From<DeclarationView> for CustomsDeclaration {
    fn from(view: DeclarationView) -> Self {
        CustomsDeclaration(view, Arc::default())
    }
}

impl CustomsDeclaration {
    /// A declaration met inside an answer that has read `reads` so far.
    pub(crate) fn within(view: DeclarationView, reads: Arc<AnswerReads>) -> Self {
        CustomsDeclaration(view, reads)
    }
}

#[Object]
impl CustomsDeclaration {
    async fn id(&self) -> ID {
        ID(self.0.declaration.id.to_string())
    }
    async fn customs_declaration_request_id(&self) -> &str {
        &self.0.declaration.customs_declaration_request_id
    }
    async fn payment(&self, ctx: &Context<'_>) -> Result<Payment> {
        let view = self
            .1
            .payment(engine(ctx), self.0.declaration.payment_id)
            .await
            .map_err(graphql_error)?;
        Ok(Payment::within(view, self.1.clone()))
    }
    async fn customs_code(&self) -> &str {
        &self.0.declaration.customs_code
    }
    async fn amount(&self) -> Money {
        Money {
            currency: self.0.declaration.currency.clone(),
            value: self.0.declaration.amount.to_string(),
        }
    }
    async fn split(&self) -> bool {
        self.0.declaration.split
    }
    async fn sub_order_id(&self) -> Option<&str> {
        self.0.declaration.sub_order_id.as_deref()
    }
    async fn status(&self, ctx: &Context<'_>) -> Result<CustomsDeclarationStatus> {
        status_as(ctx, &self.0.instance)
    }
    /// The buyer's name as given, all but its first character masked; null when none was
    /// given, or once it is erased (`retention.customs_identity` after customs decided).
    async fn masked_buyer_name(&self) -> Option<&str> {
        self.0.declaration.buyer_name_masked.as_deref()
    }
    /// The buyer's ID number, all but its last 4 characters masked; null as `maskedBuyerName`.
    async fn masked_buyer_id_number(&self) -> Option<&str> {
        self.0.declaration.buyer_id_number_masked.as_deref()
    }
    /// Customs' result code, verbatim (or Alipay+'s, when it refused the declaration).
    async fn customs_result_code(&self) -> Option<String> {
        self.0.customs_result_code()
    }
    async fn customs_result_description(&self) -> Option<String> {
        self.0.customs_result_description()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.declaration.created_at
    }
    async fn workflow(&self) -> Workflow {
        Workflow::of(self.0.instance.clone())
    }
}

/// The merchant's customs query (merged into `Query`).
#[derive(Default)]
pub struct CustomsQueries;

#[Object]
impl CustomsQueries {
    /// A declaration of yours; null for any other id.
    async fn customs_declaration(&self, ctx: &Context<'_>, id: ID) -> Result<Option<CustomsDeclaration>> {
        let principal = principal(ctx)?;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        match customs::get_declaration(engine(ctx), principal, id).await {
            Ok(view) => Ok(Some(CustomsDeclaration::from(view))),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(graphql_error(e)),
        }
    }
}

/// The merchant's declarations (merged into `Mutation`).
#[derive(Default)]
pub struct CustomsMutations;

#[Object]
impl CustomsMutations {
    /// Declares (part of) a succeeded AlipayCN payment to customs; sent to Alipay+ and followed
    /// until customs decides. Refused with PAYMENT_NOT_DECLARABLE (not paid, or not with
    /// AlipayCN), DECLARATION_EXCEEDS_DECLARABLE (over what is left to declare) or VALIDATION
    /// (not CNY, split rules), with nothing sent.
    async fn declare_customs(
        &self,
        ctx: &Context<'_>,
        input: DeclareCustomsInput,
        idempotency_key: String,
    ) -> Result<CustomsDeclaration> {
        let new = NewDeclaration {
            payment_id: parse_id(&input.payment_id)?,
            customs_code: input.customs_code,
            merchant_customs_code: input.merchant_customs_code,
            merchant_customs_name: input.merchant_customs_name,
            currency: input.amount.currency,
            amount: input.amount.value,
            split: input.split.unwrap_or(false),
            sub_order_id: input.sub_order_id,
            buyer_name: input.buyer_name,
            buyer_id_number: input.buyer_id_number,
            buyer_id_type: input.buyer_id_type.map(|kind| kind.wire().to_string()),
        };
        let view = customs::declare(engine(ctx), principal(ctx)?, new, &idempotency_key)
            .await
            .map_err(graphql_error)?;
        Ok(CustomsDeclaration::from(view))
    }

    /// Test mode only (`alipayplus.mode = "simulator"`; else NOT_IN_TEST_MODE): customs decides
    /// the declaration now, accepting it or not, instead of in its own time; the status follows
    /// once plusflow next inquires (seconds). One not at customs yet, or decided, is
    /// INVALID_TRANSITION.
    async fn simulate_customs_decision(
        &self,
        ctx: &Context<'_>,
        declaration_id: ID,
        accept: bool,
    ) -> Result<CustomsDeclaration> {
        crate::api::graphql::console::operators_need(ctx, crate::app::roles::AdminRole::Operator)?;
        let test_mode = ctx.data::<crate::app::test_mode::TestMode>()?;
        let id = parse_id(&declaration_id)?;
        super::test_helpers::simulate_decision(engine(ctx), test_mode, principal(ctx)?, id, accept)
            .await
            .map(CustomsDeclaration::from)
            .map_err(graphql_error)
    }

    /// Declares a declaration again with changed fields (Alipay+'s update, the same request
    /// id): only while customs has not decided (SUBMITTED, PROCESSING), at least 5 minutes
    /// after it was made, never for more (REDECLARATION_NOT_ALLOWED, VALIDATION).
    async fn redeclare_customs(
        &self,
        ctx: &Context<'_>,
        input: RedeclareCustomsInput,
        idempotency_key: String,
    ) -> Result<CustomsDeclaration> {
        let (currency, amount) = input.amount.map(|a| (a.currency, a.value)).unzip();
        let change = Redeclaration {
            declaration_id: parse_id(&input.declaration_id)?,
            customs_code: input.customs_code,
            merchant_customs_code: input.merchant_customs_code,
            merchant_customs_name: input.merchant_customs_name,
            currency,
            amount,
            sub_order_id: input.sub_order_id,
        };
        let view = customs::redeclare(engine(ctx), principal(ctx)?, change, &idempotency_key)
            .await
            .map_err(graphql_error)?;
        Ok(CustomsDeclaration::from(view))
    }
}

#[derive(Default)]
pub struct CustomsSubscription;

#[Subscription]
impl CustomsSubscription {
    /// The customs declaration now, then every change, until customs decided.
    async fn customs_declaration_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = CustomsDeclaration>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            crate::kinds::customs_declaration::use_cases::get_declaration(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(CustomsDeclaration::from))
    }
}

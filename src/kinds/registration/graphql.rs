//! GraphQL of merchant registrations: the `MerchantRegistration` object, its queries (a merchant
//! sees its own, an operator any) and the operators' `registerMerchant`.

use crate::api::graphql::context::{engine, graphql_error, parse_id, principal};
use crate::api::graphql::watch::watch;
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use async_graphql::Subscription;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use uuid::Uuid;

use crate::api::graphql::console::operator;
use crate::api::graphql::context::status_as;
use crate::api::graphql::shared::Workflow;
use crate::kinds::registration::use_cases::{
    self as registrations, NewRegistration, NewWebsite, RegistrationView,
};

#[derive(Enum, Copy, Clone, Eq, PartialEq, strum::EnumString, strum::IntoStaticStr, strum::VariantNames)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum RegistrationStatus {
    /// Being sent to Alipay+.
    Pending,
    /// Alipay+ has it; no wallet has answered yet.
    Submitted,
    /// Some wallets have answered.
    InReview,
    /// Every wallet answered and at least one approved.
    Completed,
    /// Alipay+ refused it, or every wallet rejected it.
    Rejected,
}

#[derive(InputObject)]
pub struct WebsiteInput {
    pub url: String,
    pub name: Option<String>,
    /// WEB or APP.
    pub website_type: Option<String>,
}

#[derive(InputObject)]
pub struct RegistrationInput {
    /// CASHIER_PAYMENT, AGREEMENT_PAYMENT, IN_STORE_PAYMENT.
    pub product_codes: Vec<String>,
    /// What customers see; required for CASHIER_PAYMENT and AGREEMENT_PAYMENT.
    pub merchant_display_name: Option<String>,
    #[graphql(name = "merchantMCC")]
    pub merchant_mcc: Option<String>,
    pub logo_url: Option<String>,
    /// Where the wallets review the merchant's business.
    pub websites: Option<Vec<WebsiteInput>>,
    /// ISO 3166 two letters.
    pub region: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub legal_name: Option<String>,
    pub registration_type: Option<String>,
    pub registration_no: Option<String>,
    /// ENTERPRISE or INDIVIDUAL.
    pub business_type: Option<String>,
}

/// One wallet's answer.
#[derive(SimpleObject)]
pub struct WalletRegistration {
    /// The wallet (MPP), e.g. ALIPAY_HK.
    pub psp_name: String,
    /// The products this answer is about (each product is its own registration; empty when
    /// Alipay+ named none).
    pub product_codes: Vec<String>,
    /// APPROVED, REJECTED or PENDING, as Alipay+ reports it.
    pub status: String,
    pub rejection_reason: Option<String>,
    /// A reporting-mode wallet: it sent no answer of its own and counts as approved since
    /// Alipay+ completed the registration.
    pub accepted_on_delivery: bool,
}

/// A registration of a merchant with Alipay+ and its wallets.
pub struct MerchantRegistration(pub RegistrationView);

#[Object]
impl MerchantRegistration {
    async fn id(&self) -> ID {
        ID(self.0.registration.id.to_string())
    }
    async fn registration_request_id(&self) -> &str {
        &self.0.registration.registration_request_id
    }
    async fn merchant_id(&self) -> ID {
        ID(self.0.registration.merchant_id.to_string())
    }
    async fn product_codes(&self) -> Vec<String> {
        self.0.product_codes()
    }
    async fn status(&self, ctx: &Context<'_>) -> Result<RegistrationStatus> {
        status_as(ctx, &self.0.instance)
    }
    /// Each wallet's answer so far, by wallet name.
    async fn wallets(&self) -> Vec<WalletRegistration> {
        self.0
            .wallets()
            .into_iter()
            .map(|answer| WalletRegistration {
                psp_name: answer.psp_name,
                product_codes: answer.product_codes,
                status: answer.status,
                rejection_reason: answer.rejection_reason,
                accepted_on_delivery: answer.accepted_on_delivery,
            })
            .collect()
    }
    /// Alipay+'s code when it refused the registration itself.
    async fn result_code(&self) -> Option<String> {
        self.0.result_code()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.registration.created_at
    }
    async fn workflow(&self) -> Workflow {
        Workflow::of(self.0.instance.clone())
    }
}

/// The registration queries (merged into `Query`).
#[derive(Default)]
pub struct RegistrationQueries;

#[Object]
impl RegistrationQueries {
    /// A registration: a merchant's own, or any for an operator; null for any other id.
    async fn registration(&self, ctx: &Context<'_>, id: ID) -> Result<Option<MerchantRegistration>> {
        let principal = principal(ctx)?;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        match registrations::get_registration(engine(ctx), principal, id).await {
            Ok(view) => Ok(Some(MerchantRegistration(view))),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(graphql_error(e)),
        }
    }

    /// A merchant's registrations, newest first: a merchant's own (`merchantId` omitted or its
    /// own), any merchant's for an operator.
    async fn registrations(
        &self,
        ctx: &Context<'_>,
        merchant_id: Option<ID>,
    ) -> Result<Vec<MerchantRegistration>> {
        let principal = principal(ctx)?;
        let merchant_id = match (merchant_id, principal) {
            (Some(id), _) => parse_id(&id)?,
            (None, Principal::Merchant(merchant)) => merchant.id,
            (None, Principal::Admin) => {
                return Err(graphql_error(AppError::Validation {
                    field: "merchantId".into(),
                    message: "is required for an operator".into(),
                }));
            }
        };
        let views = registrations::registrations_of(engine(ctx), principal, merchant_id)
            .await
            .map_err(graphql_error)?;
        Ok(views.into_iter().map(MerchantRegistration).collect())
    }
}

/// The operators' registration mutation (merged into `Mutation`).
#[derive(Default)]
pub struct RegistrationMutations;

#[Object]
impl RegistrationMutations {
    /// Registers a merchant with Alipay+ and its wallets (operators only); followed until every
    /// wallet answered. Refused with REGISTRATION_TOO_SOON within 30 minutes of the merchant's
    /// previous registration (Alipay+'s update rule), VALIDATION for bad input, with nothing sent.
    async fn register_merchant(
        &self,
        ctx: &Context<'_>,
        merchant_id: ID,
        input: RegistrationInput,
        idempotency_key: String,
    ) -> Result<MerchantRegistration> {
        let actor = operator(ctx, crate::app::roles::AdminRole::Admin)?.actor();
        let new = NewRegistration {
            product_codes: input.product_codes,
            merchant_display_name: input.merchant_display_name,
            merchant_mcc: input.merchant_mcc,
            logo_url: input.logo_url,
            websites: input
                .websites
                .unwrap_or_default()
                .into_iter()
                .map(|website| NewWebsite {
                    url: website.url,
                    name: website.name,
                    website_type: website.website_type,
                })
                .collect(),
            region: input.region,
            city: input.city,
            address: input.address,
            legal_name: input.legal_name,
            registration_type: input.registration_type,
            registration_no: input.registration_no,
            business_type: input.business_type,
        };
        let view = registrations::register(
            engine(ctx),
            principal(ctx)?,
            &actor,
            parse_id(&merchant_id)?,
            new,
            &idempotency_key,
        )
        .await
        .map_err(graphql_error)?;
        Ok(MerchantRegistration(view))
    }
}

#[derive(Default)]
pub struct RegistrationSubscription;

#[Subscription]
impl RegistrationSubscription {
    /// The registration now, then every change (each wallet's answer), until it is final.
    async fn registration_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = MerchantRegistration>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            crate::kinds::registration::use_cases::get_registration(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(MerchantRegistration))
    }
}

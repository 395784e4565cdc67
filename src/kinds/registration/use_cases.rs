//! Merchant registrations with Alipay+ and each wallet (ALIPAYPLUS.md 4): an operator registers
//! a merchant (`registerMerchant`, `plusflow merchant register`); each registration is a
//! `registration` workflow, followed until every wallet answered.
//!
//! Rules: one merchant per registration, `merchantDisplayName` for the cashier and agreement
//! products, and Alipay+'s update rule: a new registration of a merchant only when its previous
//! one is more than [`UPDATE_GAP_MINUTES`] old or has been processed (refused, or final), as
//! Alipay+'s page says (REGISTRATION_TOO_SOON otherwise), checked in the transaction that
//! records it.
//!
//! The wallets' answers (notifyRegistrationStatus, inquiryRegistrationStatus) are merged into
//! what the registration holds, one answer per wallet and product (each product of a request is
//! its own registration at Alipay+, so one product's answer never overwrites another's): a final
//! answer (APPROVED, REJECTED with its reason) is never taken back by a late PENDING, and the same
//! answers again change nothing. The registration is final when Alipay+'s collective status is
//! COMPLETED (every wallet answered): a wallet still PENDING then is in reporting mode (it
//! accepts on delivery and sends no answer of its own) and counts as approved
//! (`acceptedOnDelivery`); COMPLETED here if at least one wallet approved (or none is named),
//! REJECTED if every one rejected. UNCONFIRMED: a collective CANCELLED is read as REJECTED (the
//! merchant is not registered), the conservative reading.

use super::names;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::alipayplus::wire::{
    Address, Logo, MerchantRegistrationInfo, NotifyRegistrationStatusRequest, RegistrationDetail, Website,
};
use crate::app::auth::Principal;
use crate::app::errors::{AppError, check_length, earlier_resource, invalid};
use crate::app::merchant_profile::check_region;
use crate::app::{Engine, status_of};
use crate::kinds::registration::answers::{WalletAnswer, completed, merged, wallet_answers};
use crate::kinds::registration::entity as registration;
use crate::kinds::registration::rows::{self as rows, Answers, RegistrationCreation};
use crate::store::entity::{inbound, instance};
use crate::store::idempotency::{IdempotencyKey, request_hash};
use crate::store::inbound::InboundCall;
use crate::store::{EventInput, Note, StoreError};

/// Alipay+ takes a new registration of a merchant only this long after its previous one.
pub const UPDATE_GAP_MINUTES: i64 = 30;
/// The products a merchant may be registered for.
pub const PRODUCT_CODES: [&str; 3] = ["CASHIER_PAYMENT", "AGREEMENT_PAYMENT", "IN_STORE_PAYMENT"];
/// The instance-data keys of the wallets' answers and of the next inquiry.
pub const WALLETS_KEY: &str = "wallets";
pub const NEXT_INQUIRY_KEY: &str = "nextInquiryAt";

/// A website of the merchant, as the operator wrote it.
#[derive(Debug, Clone, Serialize)]
pub struct NewWebsite {
    pub url: String,
    pub name: Option<String>,
    /// `WEB` or `APP`.
    pub website_type: Option<String>,
}

/// registerMerchant's input, as the operator wrote it.
#[derive(Debug, Clone, Serialize)]
pub struct NewRegistration {
    pub product_codes: Vec<String>,
    pub merchant_display_name: Option<String>,
    pub merchant_mcc: Option<String>,
    pub logo_url: Option<String>,
    pub websites: Vec<NewWebsite>,
    /// Two letters (ISO 3166), with `city` and `address`.
    pub region: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub legal_name: Option<String>,
    /// `ENTERPRISE_REGISTRATION_NO`, `US_FEDERAL_EIN`, `INDEPENDENT_CONTRACTOR_LICENSE_NO`,
    /// `OTHER_IDENTIFICATION_NO`.
    pub registration_type: Option<String>,
    pub registration_no: Option<String>,
    /// `ENTERPRISE` or `INDIVIDUAL`.
    pub business_type: Option<String>,
}

fn one_of(field: &str, value: &Option<String>, allowed: &[&str]) -> Result<(), AppError> {
    match value {
        Some(value) if !allowed.contains(&value.as_str()) => {
            Err(invalid(field, format!("must be one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

fn optional_length(field: &str, value: &Option<String>, max: usize) -> Result<(), AppError> {
    value
        .as_deref()
        .map_or(Ok(()), |value| check_length(field, value, max))
}

impl NewRegistration {
    /// Every check of the input alone: `merchantInfo` as it is sent to Alipay+.
    fn merchant_info(&self, reference_merchant_id: &str) -> Result<MerchantRegistrationInfo, AppError> {
        if self.product_codes.is_empty() {
            return Err(invalid("productCodes", "name at least one product"));
        }
        for (index, code) in self.product_codes.iter().enumerate() {
            if !PRODUCT_CODES.contains(&code.as_str()) {
                return Err(invalid(
                    &format!("productCodes[{index}]"),
                    format!("must be one of {}", PRODUCT_CODES.join(", ")),
                ));
            }
            if self.product_codes[..index].contains(code) {
                return Err(invalid(&format!("productCodes[{index}]"), "is named twice"));
            }
        }
        let display_needed = self
            .product_codes
            .iter()
            .any(|code| code == "CASHIER_PAYMENT" || code == "AGREEMENT_PAYMENT");
        match &self.merchant_display_name {
            Some(name) => check_length("merchantDisplayName", name, 256)?,
            None if display_needed => {
                return Err(invalid(
                    "merchantDisplayName",
                    "is required for CASHIER_PAYMENT and AGREEMENT_PAYMENT",
                ));
            }
            None => {}
        }
        if let Some(mcc) = &self.merchant_mcc
            && (mcc.len() != 4 || !mcc.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(invalid("merchantMCC", "must be 4 digits"));
        }
        optional_length("logoUrl", &self.logo_url, 2048)?;
        for (index, website) in self.websites.iter().enumerate() {
            let field = format!("websites[{index}]");
            check_length(&format!("{field}.url"), &website.url, 2048)?;
            if url::Url::parse(&website.url).is_err() {
                return Err(invalid(&format!("{field}.url"), "is not a URL"));
            }
            optional_length(&format!("{field}.name"), &website.name, 256)?;
            one_of(
                &format!("{field}.websiteType"),
                &website.website_type,
                &["WEB", "APP"],
            )?;
        }
        if let Some(region) = &self.region {
            check_region("region", region)?;
        }
        optional_length("city", &self.city, 128)?;
        optional_length("address", &self.address, 256)?;
        optional_length("legalName", &self.legal_name, 256)?;
        optional_length("registrationNo", &self.registration_no, 64)?;
        one_of(
            "registrationType",
            &self.registration_type,
            &[
                "ENTERPRISE_REGISTRATION_NO",
                "US_FEDERAL_EIN",
                "INDEPENDENT_CONTRACTOR_LICENSE_NO",
                "OTHER_IDENTIFICATION_NO",
            ],
        )?;
        one_of("businessType", &self.business_type, &["ENTERPRISE", "INDIVIDUAL"])?;
        let address =
            (self.region.is_some() || self.city.is_some() || self.address.is_some()).then(|| Address {
                region: self.region.clone(),
                city: self.city.clone(),
                address1: self.address.clone(),
                ..Address::default()
            });
        let detail = [
            &self.legal_name,
            &self.registration_type,
            &self.registration_no,
            &self.business_type,
        ]
        .iter()
        .any(|field| field.is_some())
        .then(|| RegistrationDetail {
            legal_name: self.legal_name.clone(),
            attachments: None,
            contact_info: None,
            registration_type: self.registration_type.clone(),
            registration_no: self.registration_no.clone(),
            registration_address: address.clone(),
            business_type: self.business_type.clone(),
            registration_effective_date: None,
            registration_expire_date: None,
        });
        Ok(MerchantRegistrationInfo {
            reference_merchant_id: reference_merchant_id.to_string(),
            merchant_display_name: self.merchant_display_name.clone(),
            merchant_mcc: self.merchant_mcc.clone(),
            logo: self.logo_url.clone().map(|url| Logo {
                logo_name: self.merchant_display_name.clone(),
                logo_url: Some(url),
            }),
            merchant_address: address,
            websites: (!self.websites.is_empty()).then(|| {
                self.websites
                    .iter()
                    .map(|website| Website {
                        name: website.name.clone(),
                        url: website.url.clone(),
                        desc: None,
                        website_type: website.website_type.clone(),
                    })
                    .collect()
            }),
            registration_detail: detail,
            shareholder_name: None,
            shareholder_id: None,
            representative_name: None,
            representative_id: None,
        })
    }
}

/// A registration with its instance.
#[derive(Debug, Clone)]
pub struct RegistrationView {
    pub registration: registration::Model,
    pub instance: instance::Model,
}

/// The wallets' answers an instance holds, by wallet name.
fn held_answers(instance: &instance::Model) -> Vec<WalletAnswer> {
    instance
        .data
        .get(WALLETS_KEY)
        .and_then(|wallets| serde_json::from_value(wallets.clone()).ok())
        .unwrap_or_default()
}

impl RegistrationView {
    /// PENDING (being sent), SUBMITTED (Alipay+ has it, no wallet decided), IN_REVIEW (some
    /// decided), COMPLETED or REJECTED: its state's status in `workflows/registration.toml`.
    pub fn status<'a>(&self, engine: &'a Engine) -> &'a str {
        status_of(engine, &self.instance)
    }

    /// Each wallet's answer so far, by wallet name.
    pub fn wallets(&self) -> Vec<WalletAnswer> {
        held_answers(&self.instance)
    }

    pub fn product_codes(&self) -> Vec<String> {
        serde_json::from_value(self.registration.product_codes.clone()).unwrap_or_default()
    }

    /// Alipay+'s code when it refused the registration itself.
    pub fn result_code(&self) -> Option<String> {
        self.instance
            .data
            .get("resultCode")
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// What Alipay+ reported about a registration: its collective status and each wallet's answer.
pub struct Report<'a> {
    pub collective: &'a str,
    pub wallets: Vec<WalletAnswer>,
    /// Who reported (`alipayplus` for a notification, the effect for an inquiry).
    pub actor: String,
    /// An inquiry's answer moves the next inquiry on even when it says nothing new.
    pub from_inquiry: bool,
}

/// What `report` means for a registration whose instance is `current` (see the module doc).
fn decide(
    report: &Report<'_>,
    current: &instance::Model,
    now: DateTime<Utc>,
    interval: chrono::Duration,
) -> Answers {
    let held = held_answers(current);
    let mut wallets = merged(&held, &report.wallets);
    if report.collective == "COMPLETED" {
        wallets = completed(wallets);
    }
    let next_inquiry = |data: &mut Map<String, Value>| {
        let held_next = current
            .data
            .get(NEXT_INQUIRY_KEY)
            .filter(|_| !report.from_inquiry);
        let next = held_next
            .cloned()
            .unwrap_or_else(|| Value::String((now + interval).to_rfc3339()));
        data.insert(NEXT_INQUIRY_KEY.into(), next);
    };
    let mut data = Map::new();
    data.insert(WALLETS_KEY.into(), json!(wallets));
    let detail = json!({ "collectiveStatus": report.collective, "wallets": wallets });
    let event = match report.collective {
        "COMPLETED" if wallets.is_empty() || wallets.iter().any(|w| w.status == "APPROVED") => {
            names::REGISTRATION_COMPLETED
        }
        "COMPLETED" | "CANCELLED" => names::REGISTRATION_REJECTED,
        _ if wallets != held || current.state == "submitting" => {
            next_inquiry(&mut data);
            if wallets.iter().any(WalletAnswer::is_final) {
                names::WALLETS_ANSWERED
            } else {
                names::WALLETS_LISTED
            }
        }
        _ if report.from_inquiry => {
            next_inquiry(&mut data);
            names::INQUIRY_ANSWERED
        }
        _ => {
            return Answers::Unchanged(Note {
                event: "wallets_answered",
                actor: report.actor.clone(),
                reason: "the same answers as before".into(),
                detail,
            });
        }
    };
    Answers::Changed(Box::new(
        EventInput::new(event, report.actor.clone())
            .with_detail(detail)
            .with_data(data),
    ))
}

/// Records what Alipay+ reported about registration `id` (with `call`, the notification that
/// carried it, if one did).
pub async fn record_report(
    engine: &Engine,
    id: Uuid,
    report: Report<'_>,
    call: Option<inbound::Model>,
) -> Result<(), StoreError> {
    let interval = inquiry_interval(engine);
    let clock = engine.clock.as_ref();
    let applied = rows::record_answers(
        &engine.db,
        engine.decider(),
        id,
        |current| decide(&report, current, clock.now(), interval),
        call,
    )
    .await?;
    if let Some(applied) = applied {
        engine.wake_if_scheduled(&applied);
        engine.announce(id);
    }
    Ok(())
}

/// Records a verified notifyRegistrationStatus (journaled with what it changed, or with the
/// note that it changed nothing); `false` if it is about no registration of ours (stored
/// nowhere).
pub async fn handle_notification(
    engine: &Engine,
    notification: &NotifyRegistrationStatusRequest,
    call: InboundCall<'_>,
) -> Result<bool, AppError> {
    let Some((registration, _)) = rows::registration_notified(
        &engine.db,
        notification.registration_request_id.as_deref(),
        &notification.reference_merchant_id,
    )
    .await?
    // A registration of another merchant than the notification names is not the one it is about.
    .filter(|(registration, _)| registration.reference_merchant_id == notification.reference_merchant_id) else {
        return Ok(false);
    };
    let report = Report {
        collective: &notification.registration_result.registration_status,
        wallets: wallet_answers(notification.psp_registration_result_list.as_ref()),
        actor: "alipayplus".into(),
        from_inquiry: false,
    };
    let journal = call.into_row(engine.clock.as_ref());
    record_report(engine, registration.id, report, Some(journal)).await?;
    Ok(true)
}

/// How long between inquiries (`registration.inquiry_interval`; one beyond a century is a century).
fn inquiry_interval(engine: &Engine) -> chrono::Duration {
    let century = chrono::Duration::days(36_525);
    chrono::Duration::from_std(engine.registration.inquiry_interval)
        .map_or(century, |interval| interval.min(century))
}

/// When the first inquiry is due for a registration Alipay+ has just taken.
pub fn first_inquiry_at(engine: &Engine) -> DateTime<Utc> {
    engine.clock.now() + inquiry_interval(engine)
}

/// Registers merchant `merchant_id` (operators only), or replays the registration made earlier
/// with the same key and input.
pub async fn register(
    engine: &Engine,
    principal: &Principal,
    actor: &str,
    merchant_id: Uuid,
    input: NewRegistration,
    idempotency_key: &str,
) -> Result<RegistrationView, AppError> {
    principal.operators_only()?;
    check_length("idempotencyKey", idempotency_key, 255)?;
    let merchant = crate::app::merchants::merchant(engine, merchant_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reference_merchant_id = merchant.id.simple().to_string();
    let merchant_info = input.merchant_info(&reference_merchant_id)?;
    let new = registration::Model {
        id: Uuid::nil(),
        registration_request_id: format!("pfm_{}", Uuid::now_v7().simple()),
        merchant_id: merchant.id,
        reference_merchant_id,
        product_codes: json!(input.product_codes),
        request: serde_json::to_value(&merchant_info).expect("wire types serialise"),
        created_at: engine.clock.now(),
    };
    let scope = format!("registration:{}", merchant.id);
    let hash = request_hash(&input);
    let key = IdempotencyKey {
        scope: &scope,
        key: idempotency_key,
        request_hash: &hash,
    };
    let mut new_instance = crate::app::merchants::new_instance(&merchant);
    new_instance.actor = actor.to_string();
    let created = rows::create_registration(
        &engine.db,
        engine.decider(),
        key,
        &new,
        chrono::Duration::minutes(UPDATE_GAP_MINUTES),
        &new_instance,
    )
    .await?;
    let id = match created {
        RegistrationCreation::Created(applied) => {
            engine.wake_relay();
            engine.announce(applied.instance.id);
            return Ok(RegistrationView {
                registration: registration::Model {
                    id: applied.instance.id,
                    ..new
                },
                instance: applied.instance,
            });
        }
        RegistrationCreation::KeyUsedBefore(key_use) => earlier_resource(key_use, &hash)?,
        RegistrationCreation::TooSoon { previous_at } => {
            return Err(AppError::RegistrationTooSoon(format!(
                "the merchant's previous registration, made at {previous_at}, is still being processed; Alipay+ \
                 takes a new one once it is processed or {UPDATE_GAP_MINUTES} minutes after it"
            )));
        }
    };
    get_registration(engine, principal, id).await
}

/// Registration `id`, if `principal` may see it.
pub async fn get_registration(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
) -> Result<RegistrationView, AppError> {
    let (registration, instance) = rows::registration_with_instance(&engine.db, id)
        .await?
        .filter(|(registration, _)| principal.may_see_owner(registration.merchant_id))
        .ok_or(AppError::NotFound)?;
    Ok(RegistrationView {
        registration,
        instance,
    })
}

/// Merchant `merchant_id`'s registrations, newest first (a merchant: its own only).
pub async fn registrations_of(
    engine: &Engine,
    principal: &Principal,
    merchant_id: Uuid,
) -> Result<Vec<RegistrationView>, AppError> {
    if !principal.may_see_owner(merchant_id) {
        return Err(AppError::NotFound);
    }
    Ok(rows::registrations_of(&engine.db, merchant_id)
        .await?
        .into_iter()
        .map(|(registration, instance)| RegistrationView {
            registration,
            instance,
        })
        .collect())
}

//! Customs declarations of AlipayCN payments (ALIPAYPLUS.md 6), each a child workflow of its
//! payment. Every rule is checked before anything is sent: the input here, the amount and split
//! rules in the transaction that records the declaration (`store::customs_declarations`).
//!
//! Declarable: a SUCCEEDED payment paid with AlipayCN (identified by the `pspId` Alipay+ stated,
//! `alipayplus::wallets`; `walletBrandName` is display text), up to the `customsDeclarationAmount`
//! Alipay+ stated when it settled (CNY), both read from the payment's result row; a CNY payment
//! without one declares up to its amount.
//! Refunds reduce it in proportion (UNCONFIRMED, see `store::customs_declarations::Declarable`).
//! Re-declaring is Alipay+'s update: declare again with the same request id and changed fields.
//! Its rules are UNCONFIRMED for Alipay+ (6); the conservative reading of the sibling Alipay
//! customs API is taken: only while customs has not decided (SUBMITTED, PROCESSING; a rejected
//! declaration frees its amount for a new one), at least 5 minutes after the declaration, only
//! the customs office, the merchant's customs code and name, the amount (not raised) and the
//! sub-order may change.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::alipayplus::wallets::Wallets;
use crate::app::auth::Principal;
use crate::app::errors::{AppError, check_length, earlier_resource, invalid};
use crate::app::money::parse_amount;
use crate::app::{Engine, status_of};
use crate::kinds::customs_declaration::entity as declaration;
use crate::kinds::customs_declaration::rows::{self as rows, Declarable, DeclarationCreation};
use crate::kinds::payment::rows as payment_rows;
use crate::store::entity::{instance, payment, payment_result};
use crate::store::idempotency::{IdempotencyKey, request_hash};

/// The currency of every declaration.
pub const DECLARATION_CURRENCY: &str = "CNY";

/// declareCustoms' input, as the merchant wrote it.
#[derive(Debug, Clone, Serialize)]
pub struct NewDeclaration {
    pub payment_id: Uuid,
    pub customs_code: String,
    pub merchant_customs_code: String,
    pub merchant_customs_name: String,
    pub currency: String,
    pub amount: String,
    pub split: bool,
    pub sub_order_id: Option<String>,
    pub buyer_name: Option<String>,
    pub buyer_id_number: Option<String>,
    /// `ID_CARD` (when absent) or `PASSPORT`: the kind of `buyer_id_number`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_id_type: Option<String>,
}

/// The buyer certificates Alipay+ takes (`buyerCertificate.certificateType`).
pub const CERTIFICATE_TYPES: [&str; 2] = ["ID_CARD", "PASSPORT"];

/// A declaration with its instance.
#[derive(Debug, Clone)]
pub struct DeclarationView {
    pub declaration: declaration::Model,
    pub instance: instance::Model,
}

impl DeclarationView {
    /// PENDING (being declared), SUBMITTED, PROCESSING, ACCEPTED or REJECTED: its state's
    /// status in `workflows/customs_declaration.toml`.
    pub fn status<'a>(&self, engine: &'a Engine) -> &'a str {
        status_of(engine, &self.instance)
    }

    fn data(&self, key: &str) -> Option<String> {
        self.instance
            .data
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// Customs' result code (or Alipay+'s, when it refused the declaration).
    pub fn customs_result_code(&self) -> Option<String> {
        self.data("customsResultCode")
    }

    pub fn customs_result_description(&self) -> Option<String> {
        self.data("customsResultDescription")
    }
}

/// What may be declared of a payment, if it can be declared at all (else why not), from what
/// Alipay+ stated of its success (`result`).
pub fn declarable(
    wallets: &Wallets,
    payment: &payment::Model,
    instance: &instance::Model,
    result: Option<&payment_result::Model>,
) -> Result<Declarable, String> {
    let Some(result) = result.filter(|_| instance.state == "succeeded") else {
        return Err("only a succeeded payment is declared to customs".into());
    };
    let wallet = wallets.identify(result.psp_id.as_deref(), result.wallet_brand_name.as_deref());
    if !wallet.as_ref().is_some_and(|wallet| wallet.is_alipay_cn()) {
        return Err(format!(
            "only AlipayCN payments are declared to customs (this one: {})",
            wallet.map_or_else(|| "unknown wallet".to_string(), |w| w.brand)
        ));
    }
    let customs_amount = match (result.customs_currency.as_deref(), result.customs_value) {
        (Some(DECLARATION_CURRENCY), Some(value)) => Some(value),
        (Some(_), _) => None,
        (None, _) if payment.currency == DECLARATION_CURRENCY => Some(payment.amount),
        (None, _) => None,
    };
    let customs_amount =
        customs_amount.ok_or("Alipay+ stated no customsDeclarationAmount in CNY for this payment")?;
    Ok(Declarable {
        customs_amount,
        paid: payment.amount,
    })
}

/// What is left to declare of a payment (CNY minor units), if it can be declared.
pub async fn declarable_amount(
    engine: &Engine,
    payment: &payment::Model,
    instance: &instance::Model,
) -> Result<Option<i64>, AppError> {
    let result = payment_rows::payment_result(&engine.db, payment.id).await?;
    let Ok(basis) = declarable(&engine.wallets, payment, instance, result.as_ref()) else {
        return Ok(None);
    };
    Ok(Some(rows::declarable_left(&engine.db, payment.id, basis).await?))
}

impl NewDeclaration {
    /// Every check of the input alone: the amount in CNY minor units.
    fn validate(&self) -> Result<i64, AppError> {
        check_length("customsCode", &self.customs_code, 128)?;
        check_length("merchantCustomsCode", &self.merchant_customs_code, 128)?;
        check_length("merchantCustomsName", &self.merchant_customs_name, 256)?;
        if self.currency != DECLARATION_CURRENCY {
            return Err(invalid("amount.currency", "declarations are in CNY"));
        }
        let amount = parse_amount("amount", &self.currency, &self.amount)?;
        match (&self.sub_order_id, self.split) {
            (Some(sub_order), true) => check_length("subOrderId", sub_order, 64)?,
            (None, true) => return Err(invalid("subOrderId", "is required for a split declaration")),
            (Some(_), false) => return Err(invalid("subOrderId", "is only for a split declaration")),
            (None, false) => {}
        }
        match (&self.buyer_name, &self.buyer_id_number) {
            (Some(name), Some(number)) => {
                check_length("buyerName", name, 128)?;
                check_length("buyerIdNumber", number, 64)?;
            }
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "buyerIdNumber",
                    "buyerName and buyerIdNumber go together",
                ));
            }
        }
        match (&self.buyer_id_type, &self.buyer_id_number) {
            (Some(kind), Some(_)) if !CERTIFICATE_TYPES.contains(&kind.as_str()) => {
                return Err(invalid("buyerIdType", "must be ID_CARD or PASSPORT"));
            }
            (Some(_), None) => return Err(invalid("buyerIdType", "is only for a buyerIdNumber")),
            _ => {}
        }
        Ok(amount)
    }
}

/// Declares (part of) a payment to customs, or replays the declaration made earlier with the
/// same key and input.
pub async fn declare(
    engine: &Engine,
    principal: &Principal,
    input: NewDeclaration,
    idempotency_key: &str,
) -> Result<DeclarationView, AppError> {
    let Principal::Merchant(merchant) = principal else {
        return Err(AppError::Forbidden);
    };
    check_length("idempotencyKey", idempotency_key, 255)?;
    let amount = input.validate()?;
    let (payment, payment_instance) = payment_rows::payment_with_instance(&engine.db, input.payment_id)
        .await?
        .filter(|(payment, _)| payment.merchant_id == merchant.id)
        .ok_or(AppError::NotFound)?;
    let result = payment_rows::payment_result(&engine.db, payment.id).await?;
    let basis = declarable(&engine.wallets, &payment, &payment_instance, result.as_ref())
        .map_err(AppError::NotDeclarable)?;
    let request_id = format!("pfc_{}", Uuid::now_v7().simple());
    let seal = |value: &Option<String>| {
        value
            .as_deref()
            .map(|value| engine.data_keys.seal(value, request_id.as_bytes()))
    };
    let new = declaration::Model {
        id: Uuid::nil(),
        customs_declaration_request_id: request_id.clone(),
        payment_id: payment.id,
        merchant_id: merchant.id,
        customs_code: input.customs_code.clone(),
        merchant_customs_code: input.merchant_customs_code.clone(),
        merchant_customs_name: input.merchant_customs_name.clone(),
        currency: DECLARATION_CURRENCY.into(),
        amount,
        split: input.split,
        sub_order_id: input.sub_order_id.clone(),
        buyer_name: seal(&input.buyer_name),
        buyer_id_number: seal(&input.buyer_id_number),
        buyer_id_type: input.buyer_id_type.clone(),
        buyer_name_masked: input.buyer_name.as_deref().map(crate::crypto::mask_name),
        buyer_id_number_masked: input.buyer_id_number.as_deref().map(crate::crypto::mask_last4),
        inquired_at: None,
        created_at: engine.clock.now(),
    };
    let scope = format!("merchant:{}:customs", merchant.id);
    let hash = request_hash(&input);
    let key = IdempotencyKey {
        scope: &scope,
        key: idempotency_key,
        request_hash: &hash,
    };
    let created = rows::create_declaration(
        &engine.db,
        engine.decider(),
        key,
        &new,
        basis,
        &crate::app::merchants::new_instance(merchant),
    )
    .await?;
    let id = match created {
        DeclarationCreation::Created(applied) => {
            engine.wake_relay();
            engine.announce(applied.instance.id);
            return Ok(DeclarationView {
                declaration: declaration::Model {
                    id: applied.instance.id,
                    ..new
                },
                instance: applied.instance,
            });
        }
        DeclarationCreation::KeyUsedBefore(key_use) => earlier_resource(key_use, &hash)?,
        DeclarationCreation::Exceeds { declarable } => {
            return Err(AppError::DeclarationExceedsDeclarable {
                requested: amount,
                declarable,
            });
        }
        DeclarationCreation::Refused(why) => return Err(invalid("split", why)),
    };
    get_declaration(engine, principal, id).await
}

/// How long after a declaration it may be declared again.
pub const REDECLARE_AFTER_MINUTES: i64 = 5;

/// redeclareCustoms' input: what changes (absent fields stay as they are).
#[derive(Debug, Clone, Serialize)]
pub struct Redeclaration {
    pub declaration_id: Uuid,
    pub customs_code: Option<String>,
    pub merchant_customs_code: Option<String>,
    pub merchant_customs_name: Option<String>,
    pub currency: Option<String>,
    pub amount: Option<String>,
    pub sub_order_id: Option<String>,
}

/// Declares declaration `input.declaration_id` again with its changed fields (see the module
/// doc for the rules); the same key with the same change returns it as it is.
pub async fn redeclare(
    engine: &Engine,
    principal: &Principal,
    input: Redeclaration,
    idempotency_key: &str,
) -> Result<DeclarationView, AppError> {
    let Principal::Merchant(merchant) = principal else {
        return Err(AppError::Forbidden);
    };
    check_length("idempotencyKey", idempotency_key, 255)?;
    let view = get_declaration(engine, principal, input.declaration_id).await?;
    let earlier = &view.declaration;
    let changed_text =
        |field: &str, new: &Option<String>, old: &str, max: usize| -> Result<String, AppError> {
            match new {
                Some(value) => check_length(field, value, max).map(|_| value.clone()),
                None => Ok(old.to_string()),
            }
        };
    let amount = match (&input.currency, &input.amount) {
        (Some(currency), Some(value)) if currency == DECLARATION_CURRENCY => {
            parse_amount("amount", currency, value)?
        }
        (Some(_), Some(_)) => return Err(invalid("amount.currency", "declarations are in CNY")),
        _ => earlier.amount,
    };
    if amount > earlier.amount {
        return Err(invalid(
            "amount.value",
            "a declaration declared again may not declare more",
        ));
    }
    let sub_order_id = match (&input.sub_order_id, earlier.split) {
        (Some(_), false) => return Err(invalid("subOrderId", "is only for a split declaration")),
        (Some(sub_order), true) => Some(changed_text("subOrderId", &Some(sub_order.clone()), "", 64)?),
        (None, _) => earlier.sub_order_id.clone(),
    };
    let changed = declaration::Model {
        customs_code: changed_text("customsCode", &input.customs_code, &earlier.customs_code, 128)?,
        merchant_customs_code: changed_text(
            "merchantCustomsCode",
            &input.merchant_customs_code,
            &earlier.merchant_customs_code,
            128,
        )?,
        merchant_customs_name: changed_text(
            "merchantCustomsName",
            &input.merchant_customs_name,
            &earlier.merchant_customs_name,
            256,
        )?,
        amount,
        sub_order_id,
        ..earlier.clone()
    };
    let scope = format!("merchant:{}:customs-redeclare", merchant.id);
    let hash = request_hash(&input);
    let key = IdempotencyKey {
        scope: &scope,
        key: idempotency_key,
        request_hash: &hash,
    };
    let outcome = rows::redeclare(
        &engine.db,
        engine.decider(),
        key,
        &changed,
        chrono::Duration::minutes(REDECLARE_AFTER_MINUTES),
        &format!("merchant:{}", merchant.id),
    )
    .await?;
    match outcome {
        rows::Redeclared::Recorded => {
            engine.wake_relay();
            engine.announce(changed.id);
        }
        rows::Redeclared::SameKeyBefore => {}
        rows::Redeclared::KeyReused => return Err(AppError::IdempotencyKeyReused),
        rows::Redeclared::Refused(why) => return Err(AppError::RedeclarationRefused(why)),
    }
    get_declaration(engine, principal, changed.id).await
}

/// Declaration `id`, if `principal` may see it.
pub async fn get_declaration(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
) -> Result<DeclarationView, AppError> {
    let (declaration, instance) = rows::declaration_with_instance(&engine.db, id)
        .await?
        .filter(|(declaration, _)| principal.may_see_owner(declaration.merchant_id))
        .ok_or(AppError::NotFound)?;
    Ok(DeclarationView {
        declaration,
        instance,
    })
}

/// A payment's declarations, oldest first (the caller may see the payment).
pub async fn declarations_of(engine: &Engine, payment_id: Uuid) -> Result<Vec<DeclarationView>, AppError> {
    Ok(rows::declarations_of(&engine.db, payment_id)
        .await?
        .into_iter()
        .map(|(declaration, instance)| DeclarationView {
            declaration,
            instance,
        })
        .collect())
}

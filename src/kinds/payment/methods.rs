//! What a merchant's cashier page shows (Alipay+ consultPayment), served so that merchants
//! cannot spend the ACQP's Alipay+ rate limit: answers are kept per (currency, user region) for
//! `payment_methods.cache_for`, concurrent askers of one key wait for one call, and each merchant
//! may cause at most `payment_methods.consults_per_merchant_per_minute` calls (a token bucket);
//! beyond that it is refused with `RATE_LIMITED` and told when to try again.
//!
//! UNCONFIRMED (ALIPAYPLUS.md 2): whether consultPayment's answer depends on the amount beyond its
//! currency; the cache treats it as not (the answer lists methods and wallets, not limits), and
//! an amount of 0 is how a cashier page asks before it knows the total.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{Amount, ConsultPaymentRequest, ConsultPaymentResponse, PaymentFactor};

pub use crate::config::PaymentMethodLimits;

/// Why no answer could be given.
#[derive(Debug, thiserror::Error)]
pub enum ConsultError {
    #[error("too many payment method lookups; try again in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// Alipay+ refused or did not answer (the cause goes to the log only).
    #[error("{0}")]
    Unavailable(String),
}

type Answer = Arc<ConsultPaymentResponse>;

/// The cache and the merchants' buckets of one process.
pub struct PaymentMethods {
    client: Client,
    limits: PaymentMethodLimits,
    answers: Mutex<HashMap<(String, Option<String>), Cached>>,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

struct Cached {
    answer: Arc<OnceCell<Answer>>,
    asked_at: Instant,
}

struct Bucket {
    tokens: f64,
    updated_at: Instant,
}

impl PaymentMethods {
    /// Beyond this many keys, expired entries are dropped before another is added.
    const CAPACITY: usize = 10_000;

    pub fn new(client: Client, limits: PaymentMethodLimits) -> Self {
        Self {
            client,
            limits,
            answers: Mutex::default(),
            buckets: Mutex::default(),
        }
    }

    /// consultPayment's answer for `currency` and `user_region`, asked for `merchant`.
    pub async fn consult(
        &self,
        merchant: Uuid,
        amount: Amount,
        user_region: Option<String>,
    ) -> Result<Answer, ConsultError> {
        let key = (amount.currency.clone(), user_region.clone());
        let cell = self.cell(&key);
        if let Some(answer) = cell.get() {
            return Ok(answer.clone());
        }
        let answer = cell
            .get_or_try_init(|| async {
                self.take_token(merchant)?;
                let request = ConsultPaymentRequest {
                    payment_amount: amount,
                    payment_factor: PaymentFactor::cashier(),
                    user_region,
                    settlement_strategy: None,
                    allowed_psp_regions: None,
                    merchant: None,
                    env: None,
                };
                match self.client.consult_payment(&request).await {
                    Outcome::Succeeded(response) => Ok(Arc::new(response)),
                    Outcome::Rejected { code, .. } => Err(ConsultError::Unavailable(format!(
                        "Alipay+ refused consultPayment: {code}"
                    ))),
                    Outcome::Unknown { reason, .. } => Err(ConsultError::Unavailable(format!(
                        "Alipay+ did not answer consultPayment: {reason}"
                    ))),
                }
            })
            .await?;
        Ok(answer.clone())
    }

    /// The cell of `key`'s answer: the fresh one, or a new empty one (a failed ask leaves its
    /// cell empty, so the next asker tries again).
    fn cell(&self, key: &(String, Option<String>)) -> Arc<OnceCell<Answer>> {
        let mut answers = self.answers.lock().expect("never poisoned");
        let cache_for = self.limits.cache_for;
        if let Some(cached) = answers.get(key)
            && cached.asked_at.elapsed() < cache_for
        {
            return cached.answer.clone();
        }
        if answers.len() >= Self::CAPACITY {
            answers.retain(|_, cached| cached.asked_at.elapsed() < cache_for);
        }
        let cached = Cached {
            answer: Arc::default(),
            asked_at: Instant::now(),
        };
        let cell = cached.answer.clone();
        answers.insert(key.clone(), cached);
        cell
    }

    /// Takes one of `merchant`'s consultPayment tokens, or says when the next one comes.
    fn take_token(&self, merchant: Uuid) -> Result<(), ConsultError> {
        let per_minute = f64::from(self.limits.consults_per_merchant_per_minute);
        let per_second = per_minute / 60.0;
        let mut buckets = self.buckets.lock().expect("never poisoned");
        let now = Instant::now();
        if buckets.len() >= Self::CAPACITY {
            buckets.retain(|_, bucket| (now - bucket.updated_at).as_secs_f64() * per_second < per_minute);
        }
        let bucket = buckets.entry(merchant).or_insert(Bucket {
            tokens: per_minute,
            updated_at: now,
        });
        let refilled = (now - bucket.updated_at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refilled).min(per_minute);
        bucket.updated_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(ConsultError::RateLimited {
                retry_after_seconds: wait.ceil() as u64,
            })
        }
    }
}

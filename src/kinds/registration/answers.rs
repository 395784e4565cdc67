//! The wallets' answers about a registration (ALIPAYPLUS.md 4), one per wallet and product:
//! read from Alipay+'s lists, merged so a final answer is never taken back by a late PENDING and
//! one product's answer never overwrites another's, and completed when Alipay+'s collective
//! status is COMPLETED (a wallet still PENDING then is in reporting mode: accepted on delivery).

use serde::{Deserialize, Serialize};

use crate::alipayplus::wire::PspRegistrationResult;

/// One wallet's answer about a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletAnswer {
    /// The wallet (MPP), e.g. `ALIPAY_HK`.
    pub psp_name: String,
    /// The products this answer is about (sorted; empty when Alipay+ named none: all of them).
    #[serde(default)]
    pub product_codes: Vec<String>,
    /// APPROVED, REJECTED, or PENDING while it has not decided (verbatim otherwise).
    pub status: String,
    pub rejection_reason: Option<String>,
    /// A reporting-mode wallet: it never answered, and counts as approved since Alipay+'s
    /// collective status is COMPLETED.
    #[serde(default)]
    pub accepted_on_delivery: bool,
}

impl WalletAnswer {
    pub fn is_final(&self) -> bool {
        self.status != "PENDING"
    }

    /// The same wallet about the same products.
    fn same_registration(&self, other: &WalletAnswer) -> bool {
        self.psp_name == other.psp_name && self.product_codes == other.product_codes
    }

    fn from_wire(result: &PspRegistrationResult) -> Self {
        let mut product_codes = result.product_codes.clone().unwrap_or_default();
        product_codes.sort();
        product_codes.dedup();
        WalletAnswer {
            psp_name: result.psp_name.clone(),
            product_codes,
            status: result.registration_result.registration_status.clone(),
            rejection_reason: result.registration_result.rejection_reason.clone(),
            accepted_on_delivery: false,
        }
    }
}

/// `held` with `reported` merged in, one answer per wallet and product: a final answer is never
/// taken back by a PENDING one; in wallet, then product order.
pub fn merged(held: &[WalletAnswer], reported: &[WalletAnswer]) -> Vec<WalletAnswer> {
    let mut wallets: Vec<WalletAnswer> = held.to_vec();
    for answer in reported {
        match wallets.iter_mut().find(|w| w.same_registration(answer)) {
            Some(held) if held.is_final() && !answer.is_final() => {}
            Some(held) => *held = answer.clone(),
            None => wallets.push(answer.clone()),
        }
    }
    wallets.sort_by(|a, b| (&a.psp_name, &a.product_codes).cmp(&(&b.psp_name, &b.product_codes)));
    wallets
}

/// The answers once Alipay+'s collective status is COMPLETED: a wallet still PENDING is in
/// reporting mode and accepted the merchant on delivery.
pub fn completed(wallets: Vec<WalletAnswer>) -> Vec<WalletAnswer> {
    wallets
        .into_iter()
        .map(|answer| match answer.is_final() {
            true => answer,
            false => WalletAnswer {
                status: "APPROVED".into(),
                accepted_on_delivery: true,
                ..answer
            },
        })
        .collect()
}

/// The wallets' answers in a wire list.
pub fn wallet_answers(list: Option<&Vec<PspRegistrationResult>>) -> Vec<WalletAnswer> {
    list.map(|list| list.iter().map(WalletAnswer::from_wire).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(psp: &str, status: &str) -> WalletAnswer {
        answer_for(psp, &[], status)
    }

    fn answer_for(psp: &str, products: &[&str], status: &str) -> WalletAnswer {
        WalletAnswer {
            psp_name: psp.into(),
            product_codes: products.iter().map(|p| p.to_string()).collect(),
            status: status.into(),
            rejection_reason: (status == "REJECTED").then(|| "no website".into()),
            accepted_on_delivery: false,
        }
    }

    #[test]
    fn each_product_keeps_its_own_answer() {
        let held = vec![
            answer_for("ALIPAY_HK", &["AGREEMENT_PAYMENT"], "REJECTED"),
            answer_for("ALIPAY_HK", &["CASHIER_PAYMENT"], "PENDING"),
        ];
        let reported = vec![answer_for("ALIPAY_HK", &["CASHIER_PAYMENT"], "APPROVED")];
        assert_eq!(
            merged(&held, &reported),
            vec![
                answer_for("ALIPAY_HK", &["AGREEMENT_PAYMENT"], "REJECTED"),
                answer_for("ALIPAY_HK", &["CASHIER_PAYMENT"], "APPROVED"),
            ]
        );
    }

    #[test]
    fn a_wallet_still_pending_when_alipayplus_completes_accepted_on_delivery() {
        let answers = completed(vec![
            answer("ALIPAY_CN", "PENDING"),
            answer("ALIPAY_HK", "REJECTED"),
        ]);
        assert_eq!(
            (answers[0].status.as_str(), answers[0].accepted_on_delivery),
            ("APPROVED", true)
        );
        assert_eq!(answers[1], answer("ALIPAY_HK", "REJECTED"));
    }

    #[test]
    fn a_final_answer_is_never_taken_back_by_a_late_pending_one() {
        let held = vec![answer("ALIPAY_HK", "REJECTED"), answer("GCASH", "PENDING")];
        let late = vec![answer("ALIPAY_HK", "PENDING"), answer("GCASH", "APPROVED")];
        assert_eq!(
            merged(&held, &late),
            vec![answer("ALIPAY_HK", "REJECTED"), answer("GCASH", "APPROVED")]
        );
    }

    #[test]
    fn wallets_are_kept_in_name_order_whatever_order_they_are_reported_in() {
        let reported = vec![answer("TNG", "PENDING"), answer("ALIPAY_CN", "APPROVED")];
        let names: Vec<_> = merged(&[], &reported).into_iter().map(|w| w.psp_name).collect();
        assert_eq!(names, ["ALIPAY_CN", "TNG"]);
    }
}

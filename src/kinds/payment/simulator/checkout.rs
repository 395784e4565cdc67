//! The customer's side: the HTML checkout page (amount, wallet choice, Pay and Decline), and
//! what consultPayment offers to render the payment method.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::Payments;
use super::books::WALLETS;
use super::payment::{Completion, PaymentStatus};
use crate::alipayplus::wire::*;
use crate::domain::format_money;
use crate::simulator::core::Simulator;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page_shell(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto}}button{{margin:.3rem;padding:.5rem 1.5rem}}</style>\
         </head><body>{body}</body></html>"
    ))
}

pub async fn page(State(simulator): State<Simulator>, Path(payment_id): Path<String>) -> Response {
    let now = simulator.now();
    let mut books = simulator.part::<Payments>().books.lock();
    let Some(request_id) = books.by_payment_id(&payment_id) else {
        return (
            StatusCode::NOT_FOUND,
            page_shell("Not found", "<h1>Unknown payment</h1>"),
        )
            .into_response();
    };
    let reference = PaymentReference {
        payment_request_id: Some(request_id),
        payment_id: None,
    };
    let payment = books.find(&reference, now).expect("indexed payment exists");
    let amount = &payment.request.payment_amount;
    let order = &payment.request.order;
    if payment.status != PaymentStatus::InProcess {
        let body = format!(
            "<h1>Alipay+ checkout</h1><p id=\"status\">This payment is {:?}.</p>",
            payment.status
        );
        return page_shell("Alipay+ checkout", &body).into_response();
    }
    let wallets: String = WALLETS
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let checked = if i == 0 { " checked" } else { "" };
            format!("<label><input type=\"radio\" name=\"wallet\" value=\"{w}\"{checked}> {w}</label><br>")
        })
        .collect();
    let body = format!(
        "<h1>Alipay+ checkout</h1>\
         <p id=\"merchant-order\">{order_id}: {description}</p>\
         <p>Amount: <strong id=\"amount\">{amount}</strong></p>\
         <form method=\"post\"><fieldset><legend>Pay with</legend>{wallets}</fieldset>\
         <button id=\"pay\" name=\"action\" value=\"pay\">Pay</button>\
         <button id=\"decline\" name=\"action\" value=\"decline\">Decline</button></form>",
        order_id = escape(&order.reference_order_id),
        description = escape(&order.order_description),
        amount = format_money(&amount.currency, amount.value),
    );
    page_shell("Alipay+ checkout", &body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct CheckoutForm {
    action: String,
    wallet: Option<String>,
}

pub async fn submit(
    State(simulator): State<Simulator>,
    Path(payment_id): Path<String>,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let payments = simulator.part::<Payments>();
    let Some(request_id) = payments.books.lock().by_payment_id(&payment_id) else {
        return (
            StatusCode::NOT_FOUND,
            page_shell("Not found", "<h1>Unknown payment</h1>"),
        )
            .into_response();
    };
    let completion = match form.action.as_str() {
        "pay" => Completion::Success,
        _ => Completion::Fail {
            code: "USER_PAYMENT_VERIFICATION_FAILED".into(),
        },
    };
    let wallet = form.wallet.filter(|w| WALLETS.contains(&w.as_str()));
    let redirect = payments
        .books
        .lock()
        .payment(&request_id)
        .and_then(|p| p.request.payment_redirect_url.clone());
    match payments.complete(
        &simulator,
        &request_id,
        completion.clone(),
        wallet.as_deref(),
        true,
    ) {
        Ok(()) => {
            let outcome = if completion == Completion::Success {
                "Payment successful"
            } else {
                "Payment declined"
            };
            let back = redirect
                .map(|url| {
                    format!(
                        "<p><a id=\"back\" href=\"{}\">Back to the merchant</a></p>",
                        escape(&url)
                    )
                })
                .unwrap_or_default();
            page_shell(outcome, &format!("<h1 id=\"result\">{outcome}</h1>{back}")).into_response()
        }
        Err(e) => (
            StatusCode::CONFLICT,
            page_shell("Not possible", &format!("<h1 id=\"result\">{}</h1>", escape(&e))),
        )
            .into_response(),
    }
}

/// consultPayment: Alipay+ (Unified) is available, with the wallets behind it.
pub fn consult(request: &ConsultPaymentRequest) -> ConsultPaymentResponse {
    let table = crate::alipayplus::wallets::Wallets::default();
    let wallet = |name: &str| Wallet {
        wallet_name: Some(name.to_string()),
        wallet_brand_name: table.by_name(name).map(|entry| entry.brand.clone()),
        wallet_logo: Some(Logo {
            logo_name: Some(name.to_string()),
            logo_url: Some(format!("https://simulator.invalid/logos/{name}.svg")),
        }),
        wallet_region: None,
        wallet_feature: Some(WalletFeature {
            support_code_scan: Some(true),
            support_cashier_redirection: Some(true),
        }),
    };
    let enabled = request.payment_amount.value >= 0;
    ConsultPaymentResponse {
        result: ResultInfo::success(),
        payment_options: Some(vec![PaymentOption {
            payment_method_type: "CONNECT_WALLET".into(),
            payment_method_category: Some("WALLET".into()),
            enabled: Some(enabled),
            preferred: Some(true),
            disable_reason: None,
            logo: Some(Logo {
                logo_name: Some("ALIPAY_PLUS".into()),
                logo_url: Some("https://simulator.invalid/logos/alipayplus.svg".into()),
            }),
            payment_option_detail: Some(PaymentOptionDetail {
                payment_option_detail_type: Some("CONNECT_WALLET".into()),
                connect_wallet: Some(ConnectWallet {
                    support_wallets: Some(WALLETS.iter().map(|w| wallet(w)).collect()),
                }),
            }),
        }]),
    }
}

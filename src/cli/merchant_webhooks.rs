//! `plusflow merchant webhooks --merchant ID`: a merchant's webhook endpoints and its recent
//! failed deliveries, for an operator at a terminal (a table, or one JSON line each with --json).

use std::process::ExitCode;

use clap::Args;

use crate::app::Engine;
use crate::store::webhooks as rows;

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    /// The merchant's id.
    #[arg(long)]
    merchant: uuid::Uuid,
    /// How many recent failed deliveries to list.
    #[arg(long, default_value_t = 20)]
    failures: u64,
    /// One JSON line per endpoint and per failed delivery instead of tables.
    #[arg(long)]
    json: bool,
}

pub async fn run(engine: &Engine, args: &WebhooksArgs) -> anyhow::Result<ExitCode> {
    if crate::app::merchants::merchant(engine, args.merchant)
        .await?
        .is_none()
    {
        anyhow::bail!("no merchant {}", args.merchant);
    }
    let endpoints = rows::endpoints_of(&engine.db, args.merchant).await?;
    let failing = rows::failing_deliveries(&engine.db, args.merchant, args.failures.clamp(1, 1000)).await?;
    let ids: Vec<uuid::Uuid> = failing.iter().map(|delivery| delivery.id).collect();
    let attempts = rows::attempts_of(&engine.db, &ids).await?;
    let last_attempt = |id: uuid::Uuid| attempts.iter().rev().find(|attempt| attempt.delivery_id == id);
    if args.json {
        for endpoint in &endpoints {
            let line = serde_json::json!({
                "endpoint": endpoint.id, "url": endpoint.url, "eventTypes": endpoint.types(),
                "enabled": endpoint.enabled, "disabledReason": endpoint.disabled_reason,
                "failingSince": endpoint.failing_since, "createdAt": endpoint.created_at,
            });
            println!("{line}");
        }
        for delivery in &failing {
            let last = last_attempt(delivery.id);
            let line = serde_json::json!({
                "delivery": delivery.id, "endpoint": delivery.endpoint_id, "event": delivery.event_id,
                "status": delivery.status, "attempts": delivery.attempts,
                "lastAttemptAt": last.map(|a| a.at), "lastError": last.and_then(|a| a.error.clone()),
                "nextAttemptAt": delivery.next_attempt_at,
            });
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!("endpoints of merchant {} ({})", args.merchant, endpoints.len());
    println!(
        "{:<36}  {:<8}  {:<20}  {:<28}  url",
        "id", "enabled", "failing since", "event types"
    );
    for endpoint in &endpoints {
        let types = endpoint.types();
        let types = if types.is_empty() {
            "all".to_string()
        } else {
            types.join(",")
        };
        let failing_since = endpoint
            .failing_since
            .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let enabled = if endpoint.enabled { "yes" } else { "NO" };
        println!(
            "{:<36}  {enabled:<8}  {failing_since:<20}  {types:<28}  {}",
            endpoint.id, endpoint.url
        );
        if let Some(reason) = &endpoint.disabled_reason {
            println!("{:<36}  disabled: {reason}", "");
        }
    }
    println!();
    println!("recent failed deliveries ({})", failing.len());
    println!(
        "{:<36}  {:<36}  {:<9}  {:>8}  {:<20}  last error",
        "delivery", "endpoint", "status", "attempts", "last attempt"
    );
    for delivery in &failing {
        let last = last_attempt(delivery.id);
        let at = last
            .map(|a| a.at.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let error = last.and_then(|a| a.error.clone()).unwrap_or_default();
        println!(
            "{:<36}  {:<36}  {:<9}  {:>8}  {at:<20}  {error}",
            delivery.id, delivery.endpoint_id, delivery.status, delivery.attempts
        );
    }
    Ok(ExitCode::SUCCESS)
}

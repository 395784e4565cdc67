//! The Alipay+ side of a process: the endpoint that verifies Alipay+'s calls to us and signs our
//! answers; in development mode (no `alipayplus.gateway_url`) also the built-in simulator,
//! playing Alipay+, with freshly generated keys on both sides.

use std::net::SocketAddr;

use tracing::warn;

use crate::alipayplus::client::{Client, Credentials};
use crate::alipayplus::inbound::Endpoint;
use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::simulator::{Simulator, SimulatorConfig};

pub struct AlipayPlusSide {
    /// Verifies calls from Alipay+ and signs our answers.
    pub endpoint: Endpoint,
    /// Calls Alipay+ (or the built-in simulator).
    pub client: Client,
    /// The built-in simulator's address, in development mode.
    pub simulator: Option<SocketAddr>,
}

pub async fn connect(
    config: &Config,
    public_url: &url::Url,
    clock: SharedClock,
) -> anyhow::Result<AlipayPlusSide> {
    let alipayplus = &config.alipayplus;
    let (credentials, simulator) = match &alipayplus.gateway {
        Some(gateway) => {
            let credentials = Credentials {
                gateway: gateway.url.clone(),
                client_id: alipayplus.client_id.clone(),
                signing_key: gateway.signing_key.clone(),
                alipayplus_keys: gateway.alipayplus_keys.clone(),
            };
            (credentials, None)
        }
        None => {
            let ours = SigningKey::generate(&alipayplus.key_version);
            let simulator_key = SigningKey::generate(&alipayplus.alipayplus_key_version);
            let alipayplus_keys =
                VerifyingKeys::single(simulator_key.public_key(), &alipayplus.alipayplus_key_version);
            let acqp_keys = VerifyingKeys::single(ours.public_key(), &alipayplus.key_version);
            let mut simulator_config = SimulatorConfig::new(&alipayplus.client_id, acqp_keys, simulator_key);
            simulator_config.time_scale = alipayplus.simulator_time_scale;
            let simulator = Simulator::new(simulator_config, clock.clone());
            let (address, _task) = simulator.serve("127.0.0.1", 0).await?;
            warn!(
                simulator = %format!("http://{address}"),
                "development mode: no alipayplus.gateway_url, so the built-in Alipay+ simulator runs in this \
                 process with generated keys; never use this mode with real money"
            );
            let credentials = Credentials {
                gateway: format!("http://{address}").parse()?,
                client_id: alipayplus.client_id.clone(),
                signing_key: ours,
                alipayplus_keys,
            };
            (credentials, Some(address))
        }
    };
    let endpoint = Endpoint::new(
        credentials.client_id.clone(),
        credentials.alipayplus_keys.clone(),
        credentials.signing_key.clone(),
        clock.clone(),
    )
    .with_request_time_window(alipayplus.request_time_window)
    .with_public_path(public_url);
    let client = Client::new(credentials, alipayplus.timeouts, clock)?;
    Ok(AlipayPlusSide {
        endpoint,
        client,
        simulator,
    })
}

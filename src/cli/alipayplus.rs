//! The Alipay+ side of a process: the endpoint that verifies Alipay+'s calls to us and signs our
//! answers; in development mode (no `alipayplus.gateway_url`) also the built-in simulator,
//! playing Alipay+, with freshly generated keys on both sides.

use std::net::SocketAddr;

use tracing::warn;

use crate::alipayplus::inbound::Endpoint;
use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::simulator::{Simulator, SimulatorConfig};

pub struct AlipayPlusSide {
    /// Verifies calls from Alipay+ and signs our answers.
    pub endpoint: Endpoint,
    /// The built-in simulator's address, in development mode.
    pub simulator: Option<SocketAddr>,
}

pub async fn connect(config: &Config, clock: SharedClock) -> anyhow::Result<AlipayPlusSide> {
    let alipayplus = &config.alipayplus;
    if let Some(gateway) = &alipayplus.gateway {
        let endpoint = Endpoint {
            client_id: alipayplus.client_id.clone(),
            caller_keys: gateway.alipayplus_keys.clone(),
            signing_key: gateway.signing_key.clone(),
            clock,
        };
        return Ok(AlipayPlusSide {
            endpoint,
            simulator: None,
        });
    }
    let ours = SigningKey::generate(&alipayplus.key_version);
    let simulator_key = SigningKey::generate(&alipayplus.key_version);
    let alipayplus_keys = VerifyingKeys::single(simulator_key.public_key(), &alipayplus.key_version);
    let acqp_keys = VerifyingKeys::single(ours.public_key(), &alipayplus.key_version);
    let simulator = Simulator::new(
        SimulatorConfig::new(&alipayplus.client_id, acqp_keys, simulator_key),
        clock.clone(),
    );
    let (address, _task) = simulator.serve("127.0.0.1", 0).await?;
    warn!(
        simulator = %format!("http://{address}"),
        "development mode: no alipayplus.gateway_url, so the built-in Alipay+ simulator runs in this process \
         with generated keys; never use this mode with real money"
    );
    let endpoint = Endpoint {
        client_id: alipayplus.client_id.clone(),
        caller_keys: alipayplus_keys,
        signing_key: ours,
        clock,
    };
    Ok(AlipayPlusSide {
        endpoint,
        simulator: Some(address),
    })
}

//! The Alipay+ protocol: wire types ([`wire`]), signatures ([`signing`]), the ACQP -> Alipay+
//! [`client`] with its one result mapping, and the receiving side of signed calls ([`inbound`]).
//! The simulator speaks the same protocol with the same pieces, from the other side.

pub mod client;
pub mod inbound;
pub mod signing;
pub mod wire;

//! The `cross-network-gateway`: the 15443 listener through which peers reach this
//! network's services (istio/istio@1.24.1:samples/multicluster/expose-services.yaml).
//! Without it the east-west gateway has no `AUTO_PASSTHROUGH` listener and cross-network
//! calls fail (https://istio.io/latest/docs/ops/diagnostic-tools/multicluster/).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ResourceMetadata;

use crate::names::{CROSS_NETWORK_GATEWAY, CROSS_NETWORK_PORT, EASTWEST_SELECTOR, ISTIO_SYSTEM};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IstioGateway {
    pub api_version: String,
    pub kind: String,
    pub metadata: ResourceMetadata,
    pub spec: GatewaySpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewaySpec {
    pub selector: BTreeMap<String, String>,
    pub servers: Vec<Server>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Server {
    pub port: Port,
    pub tls: ServerTls,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Port {
    pub number: u16,
    pub name: String,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerTls {
    pub mode: String,
}

/// Passes mTLS from peers straight to the target workload, chosen by SNI (`AUTO_PASSTHROUGH`)
/// for every service in the mesh (`*.local`).
pub fn cross_network_gateway() -> IstioGateway {
    IstioGateway {
        api_version: "networking.istio.io/v1".into(),
        kind: "Gateway".into(),
        metadata: ResourceMetadata {
            name: CROSS_NETWORK_GATEWAY.into(),
            namespace: ISTIO_SYSTEM.into(),
        },
        spec: GatewaySpec {
            selector: BTreeMap::from([(
                EASTWEST_SELECTOR.0.to_owned(),
                EASTWEST_SELECTOR.1.to_owned(),
            )]),
            servers: vec![Server {
                port: Port {
                    number: CROSS_NETWORK_PORT,
                    name: "tls".into(),
                    protocol: "TLS".into(),
                },
                tls: ServerTls {
                    mode: "AUTO_PASSTHROUGH".into(),
                },
                hosts: vec!["*.local".into()],
            }],
        },
    }
}

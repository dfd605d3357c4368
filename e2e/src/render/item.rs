//! One rendered thing: which it is ([`ItemKey`]) and its typed value ([`ItemBody`]). It
//! stays typed until written, so the steps that apply it (kind, Helm, server-side apply)
//! take the value, and only files and snapshots see YAML.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServiceAccount};
use serde::Serialize;

use super::helm_values::{BaseValues, GatewayValues, IstiodValues};
use super::istio_gateway::IstioGateway;
use super::kind::KindCluster;
use super::metallb::{IpAddressPool, L2Advertisement};
use crate::config::{AppVersion, ClusterName};

/// Which item of a cluster's set this is. The set's order is the apply order, which the
/// two-digit prefix of [`ItemKey::file_name`] repeats for people.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemKey {
    KindConfig,
    MetallbPool,
    MetallbL2Advertisement,
    IstioSystemNamespace,
    Cacerts,
    BaseValues,
    IstiodValues,
    EastWestGatewayValues,
    CrossNetworkGateway,
    /// The remote secret of this peer, letting istiod here watch it.
    RemoteSecret(ClusterName),
    SampleNamespace,
    HelloworldService,
    HelloworldDeployment(AppVersion),
    CurlServiceAccount,
    CurlService,
    CurlDeployment,
}

impl ItemKey {
    /// `NN-what.yaml`, the file `write_rendered` gives it.
    pub fn file_name(&self) -> String {
        match self {
            ItemKey::KindConfig => "00-kind.yaml".into(),
            ItemKey::MetallbPool => "10-metallb-pool.yaml".into(),
            ItemKey::MetallbL2Advertisement => "11-metallb-l2advertisement.yaml".into(),
            ItemKey::IstioSystemNamespace => "20-istio-system-namespace.yaml".into(),
            ItemKey::Cacerts => "21-cacerts-secret.yaml".into(),
            ItemKey::BaseValues => "30-base-values.yaml".into(),
            ItemKey::IstiodValues => "31-istiod-values.yaml".into(),
            ItemKey::EastWestGatewayValues => "32-eastwest-gateway-values.yaml".into(),
            ItemKey::CrossNetworkGateway => "40-cross-network-gateway.yaml".into(),
            ItemKey::RemoteSecret(peer) => format!("50-remote-secret-{peer}.yaml"),
            ItemKey::SampleNamespace => "60-sample-namespace.yaml".into(),
            ItemKey::HelloworldService => "61-helloworld-service.yaml".into(),
            ItemKey::HelloworldDeployment(version) => {
                format!("62-helloworld-{version}-deployment.yaml")
            }
            ItemKey::CurlServiceAccount => "63-curl-serviceaccount.yaml".into(),
            ItemKey::CurlService => "64-curl-service.yaml".into(),
            ItemKey::CurlDeployment => "65-curl-deployment.yaml".into(),
        }
    }

    /// What the item is, for a person: the comment at the top of its file.
    pub fn description(&self) -> String {
        match self {
            ItemKey::KindConfig => {
                "kind cluster config: `kind create cluster --config <this file>`".into()
            }
            ItemKey::MetallbPool => {
                "MetalLB: this cluster's slice of the kind docker network".into()
            }
            ItemKey::MetallbL2Advertisement => "MetalLB: answer ARP for the pool".into(),
            ItemKey::IstioSystemNamespace => {
                "istio-system, labelled with this cluster's network".into()
            }
            ItemKey::Cacerts => {
                "istiod's plug-in CA: this cluster's intermediate under the shared root".into()
            }
            ItemKey::BaseValues => "Helm values: istio/base".into(),
            ItemKey::IstiodValues => "Helm values: istio/istiod".into(),
            ItemKey::EastWestGatewayValues => {
                "Helm values: istio/gateway as the east-west gateway".into()
            }
            ItemKey::CrossNetworkGateway => {
                "Istio Gateway: expose this network's services to peers on 15443".into()
            }
            ItemKey::RemoteSecret(peer) => format!("remote secret: lets istiod here watch {peer}"),
            ItemKey::SampleNamespace => "samples namespace, sidecar injection on".into(),
            ItemKey::HelloworldService => {
                "helloworld Service (in every cluster, so the name resolves)".into()
            }
            ItemKey::HelloworldDeployment(version) => format!("helloworld {version}"),
            ItemKey::CurlServiceAccount => "curl client: ServiceAccount".into(),
            ItemKey::CurlService => "curl client: Service".into(),
            ItemKey::CurlDeployment => "curl client: Deployment".into(),
        }
    }

    /// Holds key material or credentials: written 0600, redacted in snapshots.
    pub fn is_secret(&self) -> bool {
        match self {
            ItemKey::Cacerts | ItemKey::RemoteSecret(_) => true,
            ItemKey::KindConfig
            | ItemKey::MetallbPool
            | ItemKey::MetallbL2Advertisement
            | ItemKey::IstioSystemNamespace
            | ItemKey::BaseValues
            | ItemKey::IstiodValues
            | ItemKey::EastWestGatewayValues
            | ItemKey::CrossNetworkGateway
            | ItemKey::SampleNamespace
            | ItemKey::HelloworldService
            | ItemKey::HelloworldDeployment(_)
            | ItemKey::CurlServiceAccount
            | ItemKey::CurlService
            | ItemKey::CurlDeployment => false,
        }
    }
}

/// A rendered value, by what consumes it: kind, the Kubernetes API, or Helm.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "a few dozen per render, each built once and moved into its Item: boxing saves nothing"
)]
pub enum ItemBody {
    KindConfig(KindCluster),
    Object(Object),
    HelmValues(HelmValues),
}

/// A Kubernetes object to apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "a few dozen per render, each built once and moved into its Item: boxing saves nothing"
)]
pub enum Object {
    Namespace(Namespace),
    Secret(Secret),
    Service(Service),
    ServiceAccount(ServiceAccount),
    Deployment(Deployment),
    IpAddressPool(IpAddressPool),
    L2Advertisement(L2Advertisement),
    IstioGateway(IstioGateway),
}

impl Object {
    /// The object as JSON, `apiVersion` and `kind` included: what server-side apply sends.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("rendered objects have string keys only")
    }
}

/// The values of one Helm chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HelmValues {
    Base(BaseValues),
    Istiod(IstiodValues),
    Gateway(GatewayValues),
}

macro_rules! into_body {
    ($($ty:ty => $variant:ident($($wrap:ident)::*)),* $(,)?) => {$(
        impl From<$ty> for ItemBody {
            fn from(value: $ty) -> Self {
                ItemBody::$variant($($wrap)::*(value))
            }
        }
    )*};
}

into_body!(
    Namespace => Object(Object::Namespace),
    Secret => Object(Object::Secret),
    Service => Object(Object::Service),
    ServiceAccount => Object(Object::ServiceAccount),
    Deployment => Object(Object::Deployment),
    IpAddressPool => Object(Object::IpAddressPool),
    L2Advertisement => Object(Object::L2Advertisement),
    IstioGateway => Object(Object::IstioGateway),
    BaseValues => HelmValues(HelmValues::Base),
    IstiodValues => HelmValues(HelmValues::Istiod),
    GatewayValues => HelmValues(HelmValues::Gateway),
);

impl From<KindCluster> for ItemBody {
    fn from(value: KindCluster) -> Self {
        ItemBody::KindConfig(value)
    }
}

/// One item of a cluster's set.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    key: ItemKey,
    body: ItemBody,
}

impl Item {
    pub fn new(key: ItemKey, body: impl Into<ItemBody>) -> Self {
        Self {
            key,
            body: body.into(),
        }
    }

    pub fn key(&self) -> &ItemKey {
        &self.key
    }

    pub fn body(&self) -> &ItemBody {
        &self.body
    }

    /// The file's text: a one-line comment saying what it is, then the YAML.
    pub fn to_yaml(&self) -> String {
        let body = crate::yaml::to_string(&self.body).expect("rendered items are plain data");
        format!("# {}\n{body}", self.key.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_the_apply_order_prefix() {
        let peer: ClusterName = "cluster2".parse().unwrap();
        let v1: AppVersion = "v1".parse().unwrap();
        assert_eq!(
            ItemKey::RemoteSecret(peer).file_name(),
            "50-remote-secret-cluster2.yaml"
        );
        assert_eq!(
            ItemKey::HelloworldDeployment(v1.clone()).file_name(),
            "62-helloworld-v1-deployment.yaml"
        );
        assert_eq!(
            ItemKey::HelloworldDeployment(v1).description(),
            "helloworld v1"
        );
    }

    #[test]
    fn only_the_cacerts_and_remote_secrets_are_secret() {
        assert!(ItemKey::Cacerts.is_secret());
        assert!(ItemKey::RemoteSecret("c".parse().unwrap()).is_secret());
        assert!(!ItemKey::IstiodValues.is_secret());
    }

    #[test]
    fn an_object_serializes_as_itself_with_its_kind() {
        let item = Item::new(ItemKey::SampleNamespace, Namespace::default());
        let ItemBody::Object(object) = item.body() else {
            panic!("a Namespace is an object")
        };
        assert_eq!(
            object.to_json(),
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {}})
        );
        assert_eq!(
            item.to_yaml(),
            "# samples namespace, sidecar injection on\napiVersion: v1\nkind: Namespace\nmetadata: {}\n"
        );
    }
}

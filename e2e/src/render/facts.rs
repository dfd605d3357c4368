//! What differs between Istio versions, decided from the row's version in one place.
//!
//! Every other renderer asks these facts rather than comparing versions itself, so a new
//! row changes output only where a fact says so (and the snapshot diff shows it).

use crate::pins::IstioVersion;

/// The version-dependent choices for one Istio row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionFacts {
    /// The gateway chart's `values.schema.json` is rejected by Helm ≥ 3.18.5 (its new JSON
    /// schema validator applies the top-level `additionalProperties: false` next to `$ref`),
    /// so `helm install` of that chart needs `--skip-schema-validation`. Fixed in 1.26.4 and
    /// 1.27.1 (istio/istio#57354, helm/helm#31160, istio/istio#57445; the 1.24.1 schema has
    /// the flaw, the 1.26.8 one does not: fixtures/charts/<version>/gateway-values.schema.json,
    /// copied from manifests/charts/gateway/values.schema.json of each release).
    pub gateway_chart_schema_rejected_by_new_helm: bool,
}

impl VersionFacts {
    pub fn of(version: &IstioVersion) -> Self {
        let schema_fixed = match (version.major, version.minor) {
            (1, 26) => version.patch >= 4,
            (1, 27) => version.patch >= 1,
            _ => version.at_least(1, 28),
        };
        Self {
            gateway_chart_schema_rejected_by_new_helm: !schema_fixed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(v: &str) -> VersionFacts {
        VersionFacts::of(&v.parse().unwrap())
    }

    #[test]
    fn gateway_schema_flaw_until_its_backported_fix() {
        assert!(facts("1.24.1").gateway_chart_schema_rejected_by_new_helm);
        assert!(facts("1.26.3").gateway_chart_schema_rejected_by_new_helm);
        assert!(!facts("1.26.4").gateway_chart_schema_rejected_by_new_helm);
        assert!(facts("1.27.0").gateway_chart_schema_rejected_by_new_helm);
        assert!(!facts("1.27.1").gateway_chart_schema_rejected_by_new_helm);
        assert!(!facts("1.28.3").gateway_chart_schema_rejected_by_new_helm);
        assert!(!facts("1.31.1").gateway_chart_schema_rejected_by_new_helm);
    }
}

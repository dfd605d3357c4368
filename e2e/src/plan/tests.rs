use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::*;
use crate::pins::Pins;

fn pins() -> Pins {
    Pins::parse(
        include_str!("../../../fixtures/pins/two-rows.toml"),
        Path::new("versions.toml"),
    )
    .unwrap()
}

fn options() -> PlanOptions {
    PlanOptions {
        layout: Layout::new("/state"),
        reuse: false,
        preload: true,
    }
}

fn default_plan(pins: &Pins) -> Plan {
    plan(pins, &Topology::default(), pins.default_row(), &options())
}

/// The rules every plan keeps, whatever the topology and options.
fn assert_structure(plan: &Plan) {
    let ids: BTreeMap<&StepId, &Step> = plan.steps.iter().map(|s| (&s.id, s)).collect();
    assert_eq!(ids.len(), plan.steps.len(), "ids are unique");
    for step in &plan.steps {
        if let Some(cluster) = &step.cluster {
            assert!(
                step.id.as_str().starts_with(&format!("{cluster}/")),
                "{} is named after its cluster",
                step.id
            );
        }
        for need in &step.needs {
            let needed = ids
                .get(need)
                .unwrap_or_else(|| panic!("{} needs {need}, which is not a step", step.id));
            if step.built() {
                assert!(
                    needed.built(),
                    "built {} needs {need}, which is not built",
                    step.id
                );
            }
            if let (Some(a), Some(b)) = (&step.cluster, &needed.cluster)
                && a != b
            {
                assert!(
                    step.stage >= Stage::Exchange,
                    "{} ({:?}) needs {need} of another cluster before the exchange",
                    step.id,
                    step.stage
                );
            }
            assert!(
                needed.stage <= step.stage || needed.cluster.is_none(),
                "{} needs {need} of a later stage",
                step.id
            );
        }
    }
    // No cycle: Kahn's algorithm consumes every step.
    let mut remaining: BTreeMap<&StepId, BTreeSet<&StepId>> = plan
        .steps
        .iter()
        .map(|s| (&s.id, s.needs.iter().collect()))
        .collect();
    while !remaining.is_empty() {
        let ready: Vec<&StepId> = remaining
            .iter()
            .filter(|(_, n)| n.is_empty())
            .map(|(id, _)| *id)
            .collect();
        assert!(
            !ready.is_empty(),
            "a cycle among {:?}",
            remaining.keys().collect::<Vec<_>>()
        );
        for id in ready {
            remaining.remove(id);
            for needs in remaining.values_mut() {
                needs.remove(id);
            }
        }
    }
}

#[test]
fn the_default_plan_is_a_dag_with_independent_clusters() {
    let pins = pins();
    let plan = default_plan(&pins);
    assert_structure(&plan);
    // The first cross-cluster edges are the exchange's.
    let first_cross = plan
        .steps
        .iter()
        .filter(|s| {
            s.needs.iter().any(|n| {
                let needed = plan.step(n).unwrap();
                needed.cluster.is_some() && needed.cluster != s.cluster
            })
        })
        .map(|s| s.stage)
        .min();
    assert_eq!(first_cross, Some(Stage::Exchange));
}

#[test]
fn other_topologies_and_options_keep_the_rules() {
    let pins = pins();
    let three = Topology::load(
        &crate::dirs::workspace_root().join("fixtures/topology/three-clusters.toml"),
    )
    .unwrap();
    for row in pins.rows() {
        for (reuse, preload) in [(false, true), (true, false)] {
            let options = PlanOptions {
                reuse,
                preload,
                ..options()
            };
            for topology in [Topology::default(), three.clone()] {
                let plan = plan(&pins, &topology, row, &options);
                assert_structure(&plan);
                assert_eq!(plan.clusters.len(), topology.clusters.len());
                let loads = plan
                    .steps
                    .iter()
                    .filter(|s| matches!(s.kind, StepKind::LoadImages { .. }))
                    .count();
                assert_eq!(loads, if preload { topology.clusters.len() } else { 0 });
            }
        }
    }
}

#[test]
fn every_step_of_the_cluster_part_is_built_and_no_mesh_step_is() {
    let pins = pins();
    let plan = default_plan(&pins);
    for step in &plan.steps {
        let cluster_part = matches!(step.stage, Stage::Preflight | Stage::Clusters);
        assert_eq!(step.built(), cluster_part, "{}", step.id);
    }
}

#[test]
fn each_image_is_pulled_once_and_loaded_where_it_runs() {
    let pins = pins();
    let plan = default_plan(&pins);
    let pulls: Vec<&str> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::PullImage { image } => Some(image.as_str()),
            _ => None,
        })
        .collect();
    let unique: BTreeSet<&str> = pulls.iter().copied().collect();
    assert_eq!(pulls.len(), unique.len(), "one pull per image");
    assert!(unique.contains("docker.io/istio/pilot:1.31.1"));
    let loaded = |cluster: &str| -> Vec<String> {
        match &plan
            .step(&StepId::global(&format!("{cluster}/images")))
            .unwrap()
            .kind
        {
            StepKind::LoadImages { images, .. } => images.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert!(loaded("cluster1").contains(&"docker.io/istio/examples-helloworld-v1:1.0".to_owned()));
    assert!(!loaded("cluster1").contains(&"docker.io/istio/examples-helloworld-v2:1.0".to_owned()));
    assert!(loaded("cluster2").contains(&"docker.io/istio/examples-helloworld-v2:1.0".to_owned()));
}

#[test]
fn the_gateway_chart_skips_schema_validation_exactly_where_the_facts_say() {
    let pins = pins();
    for row in pins.rows() {
        let plan = plan(&pins, &Topology::default(), row, &options());
        let tools = symbolic_tools(&pins, row);
        for step in &plan.steps {
            if let StepKind::HelmInstall { release, .. } = &step.kind {
                let Action::Command(argv) = step.action(&tools) else {
                    panic!()
                };
                let skips = argv.iter().any(|a| a == "--skip-schema-validation");
                let expected = *release == HelmRelease::EastWestGateway
                    && VersionFacts::of(&row.version).gateway_chart_schema_rejected_by_new_helm;
                assert_eq!(skips, expected, "{} for {}", step.id, row.version);
            }
        }
    }
}

#[test]
fn the_kind_release_and_node_image_come_from_the_row() {
    let pins = pins();
    let old = pins.row(&"1.24.1".parse().unwrap()).unwrap();
    let plan = plan(&pins, &Topology::default(), old, &options());
    let step = plan.step(&StepId::global("cluster1/kind-config")).unwrap();
    assert!(
        step.title.contains(old.node_image.as_str()),
        "{}",
        step.title
    );
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(crate::dirs::workspace_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn the_default_plan_as_text() {
    let pins = pins();
    let plan = default_plan(&pins);
    let tools = symbolic_tools(&pins, pins.default_row());
    snapshot_settings().bind(|| insta::assert_snapshot!("plan__default.txt", text(&plan, &tools)));
}

#[test]
fn the_default_plan_as_json() {
    let pins = pins();
    let plan = default_plan(&pins);
    let tools = symbolic_tools(&pins, pins.default_row());
    let value = serde_json::to_string_pretty(&json(&plan, &tools)).unwrap();
    snapshot_settings().bind(|| insta::assert_snapshot!("plan__default.json", value));
}

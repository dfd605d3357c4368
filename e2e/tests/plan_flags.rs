//! Every command line any plan can contain is one the pinned tool accepts: checked against
//! the flag lists in `fixtures/flags/` (read from each tool's source at its tag), for every
//! Istio row (each with its kind release), with and without preloading and reuse, and for
//! docker against both the Engine 28 and 29 CLIs.

use std::path::Path;

use e2e::config::Topology;
use e2e::pins::Pins;
use e2e::plan::{Action, PlanOptions, plan, symbolic_tools};
use e2e::state::Layout;
use testkit::fake_tool::{fixture, flags};

#[test]
fn every_planned_command_passes_the_pinned_tools_flag_parsers() {
    let pins = Pins::parse(
        include_str!("../../fixtures/pins/two-rows.toml"),
        Path::new("versions.toml"),
    )
    .unwrap();
    let three = Topology::load(&fixture("topology/three-clusters.toml")).unwrap();
    let dir = fixture("flags");
    let mut checked = 0;
    for row in pins.rows() {
        let tools = symbolic_tools(&pins, row);
        for (reuse, preload) in [(false, true), (true, false)] {
            for topology in [Topology::default(), three.clone()] {
                let options = PlanOptions {
                    layout: Layout::new("/state"),
                    reuse,
                    preload,
                };
                for step in plan(&pins, &topology, row, &options).steps {
                    let Action::Command(argv) = step.action(&tools) else {
                        continue;
                    };
                    let versions: Vec<String> = match argv[0].as_str() {
                        "kind" => vec![row.kind.version.to_string()],
                        "helm" => vec![pins.helm().version.to_string()],
                        "docker" => vec!["v29.7.2".into(), "v28.5.2".into()],
                        other => panic!("{}: unexpected tool {other}", step.id),
                    };
                    for version in versions {
                        flags::check(&dir, &argv[0], &version, &argv[1..]).unwrap_or_else(|why| {
                            panic!("{} ({}): {why}", step.id, argv.join(" "))
                        });
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} command lines checked");
}

#[test]
fn the_checker_refuses_what_the_tools_refuse() {
    let dir = fixture("flags");
    let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert!(
        flags::check(
            &dir,
            "kind",
            "v0.31.0",
            &args("create cluster --name c --wait 300")
        )
        .is_err()
    );
    assert!(
        flags::check(
            &dir,
            "helm",
            "v3.22.0",
            &args("upgrade --install r /chart --wait 5m")
        )
        .is_err(),
        "5m is a third argument"
    );
    assert!(flags::check(&dir, "docker", "v28.5.2", &args("pull a b")).is_err());
    assert!(flags::check(&dir, "kind", "v0.31.0", &args("get clusters -q")).is_ok());
}

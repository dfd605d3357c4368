//! The GitHub Actions workflows, read as data: pinned actions, no expression expanded into
//! a shell script, the matrix from `cargo xtask matrix` with its failure visible, and what
//! each live job leaves for a post-mortem.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Workflow {
    name: &'static str,
    text: String,
    doc: Value,
}

fn workflow(name: &'static str) -> Workflow {
    let text = std::fs::read_to_string(repo().join(".github/workflows").join(name)).unwrap();
    let doc = e2e::yaml::from_str(&text).unwrap();
    Workflow { name, text, doc }
}

fn workflows() -> [Workflow; 2] {
    [workflow("ci.yml"), workflow("e2e.yml")]
}

impl Workflow {
    fn jobs(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.doc["jobs"].as_object().unwrap().iter()
    }

    fn steps(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.jobs().flat_map(|(job, body)| {
            body["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |step| (job, step))
        })
    }

    fn job(&self, name: &str) -> &Value {
        &self.doc["jobs"][name]
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn third_party_actions_are_pinned_by_commit_with_their_tag() {
    for wf in workflows() {
        let mut seen = 0;
        for (job, step) in wf.steps() {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            seen += 1;
            assert!(!uses.starts_with("./"), "no local actions to exempt");
            let (action, rev) = uses.split_once('@').unwrap_or((uses, ""));
            assert!(
                rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()),
                "{} {job}: {action} is pinned by a 40-hex commit, not `{rev}`",
                wf.name
            );
            let line = wf
                .text
                .lines()
                .find(|l| l.contains(&format!("uses: {uses}")))
                .unwrap();
            let comment = line.split_once(" # ").map(|(_, c)| c.trim()).unwrap_or("");
            assert!(
                comment.starts_with('v') && comment[1..].starts_with(|c: char| c.is_ascii_digit()),
                "{} {job}: `{line}` names its tag in a `# vX` comment",
                wf.name
            );
        }
        assert!(seen > 0, "{}: found its steps", wf.name);
    }
}

#[test]
fn no_expression_is_expanded_inside_a_script() {
    for wf in workflows() {
        for (job, step) in wf.steps() {
            let run = str_of(&step["run"]);
            for forbidden in ["${{ inputs", "${{ github.event", "${{"] {
                assert!(
                    !run.contains(forbidden),
                    "{} {job}: `{forbidden}` inside run: pass it through env:\n{run}",
                    wf.name
                );
            }
        }
    }
}

#[test]
fn no_command_substitution_hides_its_failure_inside_echo() {
    for wf in workflows() {
        for (job, step) in wf.steps() {
            for line in str_of(&step["run"]).lines() {
                assert!(
                    !(line.contains("echo") && line.contains("$(")),
                    "{} {job}: `{line}`: assign first (a failed assignment stops the step), then echo",
                    wf.name
                );
            }
        }
    }
}

#[test]
fn the_live_matrix_comes_from_cargo_xtask_matrix_assigned_then_echoed() {
    let wf = workflow("e2e.yml");
    let matrix_job = wf.job("matrix");
    let step = matrix_job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "matrix")
        .unwrap();
    let lines: Vec<&str> = str_of(&step["run"]).lines().map(str::trim).collect();
    let assigned = lines
        .iter()
        .position(|l| *l == r#"matrix="$(cargo xtask matrix)""#)
        .expect("the matrix is assigned on a line of its own");
    let echoed = lines
        .iter()
        .position(|l| *l == r#"echo "matrix=$matrix" >> "$GITHUB_OUTPUT""#)
        .expect("then written to the step's outputs");
    assert!(assigned < echoed);
    assert_eq!(
        str_of(&matrix_job["outputs"]["matrix"]),
        "${{ steps.matrix.outputs.matrix }}"
    );
    assert_eq!(
        str_of(&wf.job("live")["strategy"]["matrix"]),
        "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    );
}

#[test]
fn the_live_workflow_runs_only_when_asked_until_the_suite_exists() {
    let wf = workflow("e2e.yml");
    let triggers: Vec<&String> = wf.doc["on"].as_object().unwrap().keys().collect();
    assert_eq!(triggers, ["workflow_dispatch"]);
}

/// The upload-artifact steps of a job: (path, if).
fn uploads(job: &Value) -> Vec<(String, String)> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| str_of(&s["uses"]).starts_with("actions/upload-artifact@"))
        .map(|s| {
            (
                str_of(&s["with"]["path"]).to_owned(),
                str_of(&s["if"]).to_owned(),
            )
        })
        .collect()
}

#[test]
fn each_live_job_uploads_junit_and_the_diagnostics_bundle() {
    let wf = workflow("e2e.yml");
    let live: Vec<_> = wf
        .jobs()
        .filter(|(_, body)| body["strategy"]["matrix"].is_string())
        .collect();
    assert!(!live.is_empty());
    for (name, job) in live {
        let uploads = uploads(job);
        assert!(
            uploads
                .iter()
                .any(|(path, when)| path == "target/nextest/live/junit.xml" && when == "always()"),
            "{name}: JUnit uploaded whatever the outcome: {uploads:?}"
        );
        assert!(
            uploads
                .iter()
                .any(|(path, when)| path == "target/mesh/diag" && when.contains("failure()")),
            "{name}: the diagnostics bundle uploaded on failure: {uploads:?}"
        );
    }
}

#[test]
fn a_row_without_recorded_checksums_warns_and_uploads_them_instead_of_failing() {
    let wf = workflow("e2e.yml");
    let steps = wf.job("live")["steps"].as_array().unwrap();
    let tools = steps
        .iter()
        .find(|s| str_of(&s["run"]).contains("cargo xtask tools"))
        .unwrap();
    assert_eq!(str_of(&tools["env"]["LOCKED"]), "${{ matrix.locked }}");
    let run = str_of(&tools["run"]);
    assert!(
        run.contains(r#"cargo xtask tools --locked --istio "$ISTIO""#),
        "{run}"
    );
    assert!(
        run.contains(r#"cargo xtask tools --istio "$ISTIO""#),
        "{run}"
    );
    assert!(run.contains("::warning"), "{run}");
    let upload = steps
        .iter()
        .find(|s| str_of(&s["with"]["path"]) == "versions.toml")
        .expect("the recorded checksums are uploaded");
    assert_eq!(str_of(&upload["if"]), "${{ !matrix.locked }}");
}

#[test]
fn nextest_is_pinned_and_never_built_from_source() {
    for wf in workflows() {
        for (job, step) in wf.steps() {
            if !str_of(&step["uses"]).starts_with("taiki-e/install-action@") {
                continue;
            }
            let tool = str_of(&step["with"]["tool"]);
            let (name, version) = tool.split_once('@').unwrap_or((tool, ""));
            assert_eq!(name, "cargo-nextest", "{} {job}", wf.name);
            assert!(
                version.split('.').count() == 3
                    && version.split('.').all(|p| p.parse::<u32>().is_ok()),
                "{} {job}: nextest pinned to an exact version, not `{tool}`",
                wf.name
            );
            assert_eq!(
                str_of(&step["with"]["fallback"]),
                "none",
                "{} {job}",
                wf.name
            );
        }
    }
}

#[test]
fn the_tool_cache_falls_back_to_an_earlier_one() {
    let wf = workflow("e2e.yml");
    let cache = wf.job("live")["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| str_of(&s["uses"]).starts_with("actions/cache@"))
        .unwrap();
    let key = str_of(&cache["with"]["key"]);
    assert!(key.contains("hashFiles('versions.toml')"), "{key}");
    let restore = str_of(&cache["with"]["restore-keys"]);
    assert!(
        restore
            .lines()
            .map(str::trim)
            .any(|prefix| !prefix.is_empty()
                && key.starts_with(prefix)
                && !prefix.contains("hashFiles")),
        "restore-keys holds a prefix of the key without the pins' hash: {restore:?}"
    );
}

#[test]
fn dependabot_updates_the_actions_and_the_crates() {
    let text = std::fs::read_to_string(repo().join(".github/dependabot.yml")).unwrap();
    let doc: Value = e2e::yaml::from_str(&text).unwrap();
    assert_eq!(doc["version"], 2);
    let ecosystems: Vec<&str> = doc["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| str_of(&u["package-ecosystem"]))
        .collect();
    assert_eq!(ecosystems, ["github-actions", "cargo"]);
}

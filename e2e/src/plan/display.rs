//! The plan for people (`up --dry-run`) and for programs (`up --dry-run --json`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::{Action, Plan, Stage, Step};
use crate::cluster::kind::go_duration;
use crate::runner::command_line;
use crate::tools::Toolbox;

/// `up --dry-run --json`: the plan as data.
#[derive(Debug, Serialize)]
pub struct JsonPlan {
    pub istio: String,
    pub clusters: Vec<String>,
    pub steps: Vec<JsonStep>,
}

#[derive(Debug, Serialize)]
pub struct JsonStep {
    pub id: String,
    pub cluster: Option<String>,
    pub stage: Stage,
    pub needs: Vec<String>,
    pub title: String,
    /// argv, tool first.
    pub command: Option<Vec<String>>,
    /// Paths relative to the rendered directory (a fetched manifest by its path).
    pub apply: Option<Vec<String>>,
    /// What is waited for, with its deadline.
    pub wait: Option<String>,
    /// Work the framework does itself.
    pub task: Option<String>,
    /// False for the mesh steps the next issue builds: `up` stops before them.
    pub built: bool,
}

pub fn json(plan: &Plan, tools: &Toolbox) -> JsonPlan {
    JsonPlan {
        istio: plan.istio.to_string(),
        clusters: plan.clusters.iter().map(ToString::to_string).collect(),
        steps: plan
            .steps
            .iter()
            .map(|step| {
                let (mut command, mut apply, mut wait, mut task) = (None, None, None, None);
                match step.action(tools) {
                    Action::Command(argv) => command = Some(argv),
                    Action::Apply(paths) => apply = Some(paths),
                    Action::Wait { what, deadline } => {
                        wait = Some(format!("{what} (deadline {})", go_duration(deadline)))
                    }
                    Action::Task(what) => task = Some(what),
                }
                JsonStep {
                    id: step.id.to_string(),
                    cluster: step.cluster.as_ref().map(ToString::to_string),
                    stage: step.stage,
                    needs: step.needs.iter().map(ToString::to_string).collect(),
                    title: step.title.clone(),
                    command,
                    apply,
                    wait,
                    task,
                    built: step.built(),
                }
            })
            .collect(),
    }
}

/// `up --dry-run`: stage by stage; within a stage, the global steps, then each cluster's
/// (clusters run side by side); each step with what it does and what it waits for.
pub fn text(plan: &Plan, tools: &Toolbox) -> String {
    let mut out = String::new();
    let built = plan.steps.iter().filter(|s| s.built()).count();
    let _ = writeln!(
        out,
        "Istio {} on {} ({} steps; {} built, the rest marked [not built yet])",
        plan.istio,
        plan.clusters
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        plan.steps.len(),
        built,
    );
    let stages: BTreeSet<Stage> = plan.steps.iter().map(|s| s.stage).collect();
    for stage in stages {
        let in_stage: Vec<&Step> = plan.steps.iter().filter(|s| s.stage == stage).collect();
        let clusters: Vec<String> = plan
            .clusters
            .iter()
            .filter(|c| in_stage.iter().any(|s| s.cluster.as_ref() == Some(*c)))
            .map(ToString::to_string)
            .collect();
        let _ = write!(out, "\n== {}", stage.name());
        if clusters.len() > 1 {
            let _ = write!(out, " ({} in parallel)", clusters.join(" | "));
        }
        out.push('\n');
        for step in in_stage.iter().filter(|s| s.cluster.is_none()) {
            write_step(&mut out, step, tools, "  ");
        }
        for cluster in &plan.clusters {
            let steps: Vec<&&Step> = in_stage
                .iter()
                .filter(|s| s.cluster.as_ref() == Some(cluster))
                .collect();
            if steps.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {cluster}:");
            for step in steps {
                write_step(&mut out, step, tools, "    ");
            }
        }
    }
    out
}

fn write_step(out: &mut String, step: &Step, tools: &Toolbox, indent: &str) {
    let marker = if step.built() {
        ""
    } else {
        "  [not built yet]"
    };
    let _ = writeln!(out, "{indent}{}: {}{marker}", step.id, step.title);
    let detail = match step.action(tools) {
        Action::Command(argv) => format!("$ {}", command_line(&argv)),
        Action::Apply(paths) => format!("apply {}", paths.join(", ")),
        Action::Wait { what, deadline } => format!("wait ≤ {}: {what}", go_duration(deadline)),
        Action::Task(what) => what,
    };
    let _ = writeln!(out, "{indent}    {detail}");
    if !step.needs.is_empty() {
        let needs: Vec<&str> = step.needs.iter().map(|n| n.as_str()).collect();
        let _ = writeln!(out, "{indent}    after {}", needs.join(", "));
    }
}

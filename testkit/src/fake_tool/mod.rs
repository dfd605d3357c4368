//! A fake `kind`, `docker` and `helm`: one executable (the `fake-tool` bin) installed into
//! a temp dir under each name. It reads a [`Script`] (`fake-tool.json` beside it, or the
//! file `FAKE_TOOL_SCRIPT` names), matches its argv against the script's rules, prints the
//! rule's output (recorded from the real tools, in `fixtures/`), applies its side effects
//! (write the kubeconfig kind would write, add or remove a cluster from a small world,
//! wait at a barrier until another call has started), and appends what it saw to a record
//! file: one JSON line at start and one at end, with the argv and the environment
//! variables that matter.
//!
//! It is strict: an argv no rule matches, or a flag the pinned version of the tool does
//! not accept (checked against `fixtures/flags/`), fails loudly with exit 99 or 98.

pub mod flags;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variables every record keeps.
pub const RECORDED_ENV: &[&str] = &[
    "KUBECONFIG",
    "HOME",
    "HELM_CACHE_HOME",
    "HELM_CONFIG_HOME",
    "HELM_DATA_HOME",
    "KUBECACHEDIR",
    "KIND_CLUSTER_NAME",
    "KIND_EXPERIMENTAL_PROVIDER",
    "KIND_EXPERIMENTAL_DOCKER_NETWORK",
];

/// The script file's name beside the installed fakes.
pub const SCRIPT_FILE: &str = "fake-tool.json";
/// Names a script elsewhere.
pub const SCRIPT_ENV: &str = "FAKE_TOOL_SCRIPT";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Script {
    /// Where calls are recorded (JSON lines).
    pub record: PathBuf,
    /// The flag lists (`fixtures/flags`).
    pub flags_dir: PathBuf,
    /// Per tool, the versions whose flags every argv must pass (docker: both engines).
    pub versions: BTreeMap<String, Vec<String>>,
    /// The clusters that exist, shared by every call: `{"clusters": [...]}`.
    pub world: PathBuf,
    /// Checked in order; the first that matches answers.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rule {
    pub tool: String,
    /// The argv after the program: `*` matches one token, `**` the rest.
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    #[serde(default)]
    pub stdout: Output,
    #[serde(default)]
    pub stderr: Output,
    #[serde(default)]
    pub exit: i32,
    #[serde(default)]
    pub effects: Vec<Effect>,
}

/// A condition on the world.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    ClusterExists(String),
    ClusterAbsent(String),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    #[default]
    Nothing,
    Text(String),
    /// A recorded output: the payload of a `fixtures/` file (its `#| ` header dropped),
    /// with each `(from, to)` replaced.
    Fixture {
        path: PathBuf,
        replace: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    AddCluster(String),
    RemoveCluster(String),
    /// Writes `content` to the path that follows `flag` in the argv.
    WriteAtFlag {
        flag: String,
        content: String,
    },
    /// `kind get clusters`: the world's clusters on stdout, or kind's message on stderr.
    ListClusters,
    /// Waits until `parties` calls have reached the barrier `name`.
    Barrier {
        name: String,
        parties: usize,
    },
    /// Waits until the file exists (a test opens the gate by creating it).
    WaitForFile(PathBuf),
}

/// The world the fakes share.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct World {
    pub clusters: Vec<String>,
}

/// One line of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub tool: String,
    pub args: Vec<String>,
    /// `start`, `end`, `unmatched` or `refused`.
    pub event: String,
    pub pid: u32,
    pub env: BTreeMap<String, Option<String>>,
    pub exit: Option<i32>,
}

/// A recorded output's payload: everything after its `#| ` header lines.
pub fn payload(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let header = lines.iter().take_while(|l| l.starts_with("#| ")).count();
    lines.drain(..header);
    lines.concat()
}

/// `fixtures/<rel>` of this checkout.
pub fn fixture(rel: &str) -> PathBuf {
    e2e::dirs::workspace_root().join("fixtures").join(rel)
}

/// Whether `pattern` matches `args`.
pub fn matches(pattern: &[String], args: &[String]) -> bool {
    match (pattern.first().map(String::as_str), args.first()) {
        (Some("**"), _) => true,
        (None, None) => true,
        (Some("*"), Some(_)) => matches(&pattern[1..], &args[1..]),
        (Some(p), Some(a)) if p == a => matches(&pattern[1..], &args[1..]),
        _ => false,
    }
}

/// Reads every event of a record file.
pub fn read_record(path: &Path) -> Vec<Event> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("record line {l}: {e}")))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The `fake-tool` binary of this build: beside the test binary's `deps/` folder, where
/// cargo puts the bins of the workspace (`cargo test --workspace` and nextest build it).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .ancestors()
        .find(|d| d.join("fake-tool").is_file())
        .unwrap_or_else(|| {
            panic!(
                "no fake-tool binary above {}: build it with `cargo build -p testkit --bin fake-tool` (cargo test --workspace and cargo xtask test build it)",
                exe.display()
            )
        });
    profile_dir.join("fake-tool")
}

/// The fakes of one test: installed in a directory of their own, with a script, a record
/// and a world beside them.
pub struct FakeTools {
    pub dir: PathBuf,
    pub script: Script,
}

impl FakeTools {
    /// Installs `kind`, `helm`, `istioctl` and `docker` in `dir/bin` (links to the
    /// `fake-tool` binary) with an empty script validating against the given versions.
    pub fn install(dir: &Path, kind_version: &str) -> Self {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["kind", "helm", "istioctl", "docker"] {
            let link = bin.join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(binary(), &link).unwrap();
        }
        let script = Script {
            record: dir.join("record.jsonl"),
            flags_dir: fixture("flags"),
            versions: BTreeMap::from([
                ("kind".to_owned(), vec![kind_version.to_owned()]),
                ("helm".to_owned(), vec!["v3.22.0".to_owned()]),
                (
                    "docker".to_owned(),
                    vec!["v29.7.2".to_owned(), "v28.5.2".to_owned()],
                ),
            ]),
            world: dir.join("world.json"),
            rules: Vec::new(),
        };
        let fakes = Self {
            dir: dir.to_owned(),
            script,
        };
        fakes.set_world(&World::default());
        fakes.save();
        fakes
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }

    pub fn path_of(&self, tool: &str) -> PathBuf {
        self.bin().join(tool)
    }

    /// Adds a rule before the ones already there (the newest rule wins) and saves.
    pub fn prepend(&mut self, rule: Rule) {
        self.script.rules.insert(0, rule);
        self.save();
    }

    pub fn push(&mut self, rule: Rule) {
        self.script.rules.push(rule);
        self.save();
    }

    pub fn save(&self) {
        let text = serde_json::to_string_pretty(&self.script).unwrap();
        std::fs::write(self.bin().join(SCRIPT_FILE), text).unwrap();
    }

    pub fn set_world(&self, world: &World) {
        std::fs::write(&self.script.world, serde_json::to_string(world).unwrap()).unwrap();
    }

    pub fn world(&self) -> World {
        serde_json::from_str(&std::fs::read_to_string(&self.script.world).unwrap()).unwrap()
    }

    pub fn events(&self) -> Vec<Event> {
        read_record(&self.script.record)
    }

    /// The argv (tool first) of every call that started, in order.
    pub fn calls(&self) -> Vec<Vec<String>> {
        self.events()
            .into_iter()
            .filter(|e| e.event == "start")
            .map(|e| std::iter::once(e.tool).chain(e.args).collect())
            .collect()
    }
}

/// A rule answering `tool args...` (space-separated pattern).
pub fn rule(tool: &str, args: &str) -> Rule {
    Rule {
        tool: tool.to_owned(),
        args: args.split_whitespace().map(str::to_owned).collect(),
        ..Rule::default()
    }
}

impl Rule {
    pub fn stdout(mut self, output: Output) -> Self {
        self.stdout = output;
        self
    }
    pub fn stderr(mut self, output: Output) -> Self {
        self.stderr = output;
        self
    }
    pub fn exit(mut self, code: i32) -> Self {
        self.exit = code;
        self
    }
    pub fn effect(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }
    pub fn when(mut self, when: When) -> Self {
        self.when = Some(when);
        self
    }
}

impl Output {
    pub fn fixture(rel: &str) -> Self {
        Output::Fixture {
            path: fixture(rel),
            replace: Vec::new(),
        }
    }
    pub fn fixture_with(rel: &str, replace: &[(&str, &str)]) -> Self {
        Output::Fixture {
            path: fixture(rel),
            replace: replace
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        }
    }
    pub fn text(s: &str) -> Self {
        Output::Text(s.to_owned())
    }
}

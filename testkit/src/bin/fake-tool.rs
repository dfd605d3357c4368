//! The fake kind/docker/helm of `testkit::fake_tool`: see that module.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use testkit::fake_tool::{
    Effect, Event, Output, RECORDED_ENV, SCRIPT_ENV, SCRIPT_FILE, Script, When, World, flags,
    matches, payload,
};

/// How long a barrier or a gate may hold a call before the fake gives up loudly: a guard
/// against a deadlock in a test, not a timing assertion.
const HOLD_LIMIT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let mut argv = std::env::args();
    let program = PathBuf::from(argv.next().unwrap_or_default());
    let args: Vec<String> = argv.collect();
    let tool = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let script_path = std::env::var_os(SCRIPT_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| program.parent().unwrap_or(Path::new(".")).join(SCRIPT_FILE));
    let script: Script =
        match std::fs::read_to_string(&script_path).map(|t| serde_json::from_str(&t)) {
            Ok(Ok(script)) => script,
            other => {
                eprintln!(
                    "fake-tool: cannot read the script {}: {other:?}",
                    script_path.display()
                );
                return ExitCode::from(99);
            }
        };
    let env: BTreeMap<String, Option<String>> = RECORDED_ENV
        .iter()
        .map(|name| ((*name).to_owned(), std::env::var(name).ok()))
        .collect();
    let event = |event: &str, exit: Option<i32>| Event {
        tool: tool.clone(),
        args: args.clone(),
        event: event.to_owned(),
        pid: std::process::id(),
        env: env.clone(),
        exit,
    };
    // Flags first: a wrong flag fails whatever the rules say.
    for version in script.versions.get(&tool).into_iter().flatten() {
        if let Err(why) = flags::check(&script.flags_dir, &tool, version, &args) {
            record(&script, &event("refused", Some(98)));
            eprintln!(
                "fake-tool: {tool} {version} would refuse `{}`: {why}",
                args.join(" ")
            );
            return ExitCode::from(98);
        }
    }
    let world = read_world(&script.world);
    let Some(rule) = script.rules.iter().find(|r| {
        r.tool == tool
            && matches(&r.args, &args)
            && match &r.when {
                None => true,
                Some(When::ClusterExists(c)) => world.clusters.contains(c),
                Some(When::ClusterAbsent(c)) => !world.clusters.contains(c),
            }
    }) else {
        record(&script, &event("unmatched", Some(99)));
        eprintln!("fake-tool: no rule for `{tool} {}`", args.join(" "));
        return ExitCode::from(99);
    };
    record(&script, &event("start", None));
    let mut stdout = render(&rule.stdout);
    let mut stderr = render(&rule.stderr);
    for effect in &rule.effects {
        match effect {
            Effect::AddCluster(c) => change_world(&script.world, |w| {
                if !w.clusters.contains(c) {
                    w.clusters.push(c.clone());
                    w.clusters.sort();
                }
            }),
            Effect::RemoveCluster(c) => {
                change_world(&script.world, |w| w.clusters.retain(|x| x != c))
            }
            Effect::WriteAtFlag { flag, content } => {
                let Some(path) = args
                    .iter()
                    .position(|a| a == flag)
                    .and_then(|i| args.get(i + 1))
                else {
                    eprintln!("fake-tool: `{flag}` missing from `{}`", args.join(" "));
                    return ExitCode::from(99);
                };
                let path = Path::new(path);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).unwrap();
                }
                std::fs::write(path, content).unwrap();
            }
            Effect::ListClusters => {
                let w = read_world(&script.world);
                if w.clusters.is_empty() {
                    stderr.push_str(&payload(&testkit::fake_tool::fixture(
                        "kind/get-clusters.none.stderr",
                    )));
                } else {
                    stdout.push_str(
                        &w.clusters
                            .iter()
                            .map(|c| format!("{c}\n"))
                            .collect::<String>(),
                    );
                }
            }
            Effect::Barrier { name, parties } => {
                let dir = script.record.with_extension("barriers").join(name);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(std::process::id().to_string()), "").unwrap();
                if !hold(|| std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0) >= *parties) {
                    eprintln!("fake-tool: barrier `{name}`: fewer than {parties} calls arrived");
                    return ExitCode::from(97);
                }
            }
            Effect::WaitForFile(path) => {
                if !hold(|| path.exists()) {
                    eprintln!("fake-tool: {} never appeared", path.display());
                    return ExitCode::from(97);
                }
            }
        }
    }
    print!("{stdout}");
    eprint!("{stderr}");
    let _ = std::io::stdout().flush();
    record(&script, &event("end", Some(rule.exit)));
    ExitCode::from(u8::try_from(rule.exit).unwrap_or(1))
}

fn hold(done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > HOLD_LIMIT {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

fn render(output: &Output) -> String {
    match output {
        Output::Nothing => String::new(),
        Output::Text(t) => t.clone(),
        Output::Fixture { path, replace } => replace
            .iter()
            .fold(payload(path), |text, (from, to)| text.replace(from, to)),
    }
}

fn read_world(path: &Path) -> World {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Read-modify-write of the world under a lock: concurrent calls share it.
fn change_world(path: &Path, change: impl FnOnce(&mut World)) {
    let lock = std::fs::File::create(path.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    let mut world = read_world(path);
    change(&mut world);
    std::fs::write(path, serde_json::to_string(&world).unwrap()).unwrap();
}

fn record(script: &Script, event: &Event) {
    let mut line = serde_json::to_string(event).unwrap();
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&script.record)
        .unwrap();
    file.lock().unwrap();
    file.write_all(line.as_bytes()).unwrap();
}

//! The flags each pinned tool version accepts, from `fixtures/flags/` (read from each
//! tool's source at its tag; see the header of each file), and a check of an argv
//! against them that is as strict as the tool's own parser (spf13/pflag@v1.0.10:flag.go
//! `parseLongArg`: `--f=v` always works, `--f v` only for a flag that takes a value and has
//! no default for a bare `--f`).

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Takes {
    /// The next token, or `--f=v`.
    Value,
    /// A bool: `--f` or `--f=true|false` only.
    Nothing,
    /// A value only as `--f=v`; bare `--f` means the default.
    Optional,
}

#[derive(Debug, Clone)]
struct Flag {
    long: String,
    short: Option<String>,
    takes: Takes,
    /// `root-only`: docker's global flags, accepted only before the subcommand.
    root_only: bool,
}

/// The subcommand an argv names and the file of its flags: `create-cluster`, `upgrade`,
/// `network-inspect`.
pub fn command_of(tool: &str, args: &[String]) -> Option<(String, usize)> {
    let two = |a: &[String]| args.len() >= 2 && args[0] == a[0] && args[1] == a[1];
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    match tool {
        "kind" => {
            for pair in [
                ["create", "cluster"],
                ["delete", "cluster"],
                ["get", "clusters"],
                ["get", "kubeconfig"],
                ["load", "docker-image"],
                ["load", "image-archive"],
                ["export", "logs"],
            ] {
                if two(&words(&pair)) {
                    return Some((pair.join("-"), 2));
                }
            }
            None
        }
        "helm" => ["upgrade", "uninstall", "status", "list", "version"]
            .iter()
            .find(|c| args.first().map(String::as_str) == Some(**c))
            .map(|c| ((*c).to_owned(), 1)),
        "docker" => {
            for pair in [
                ["network", "inspect"],
                ["image", "inspect"],
                ["image", "ls"],
            ] {
                if two(&words(&pair)) {
                    return Some((pair.join("-"), 2));
                }
            }
            ["info", "inspect", "pull", "save", "version"]
                .iter()
                .find(|c| args.first().map(String::as_str) == Some(**c))
                .map(|c| ((*c).to_owned(), 1))
        }
        _ => None,
    }
}

fn load(dir: &Path, tool: &str, version: &str, command: &str) -> Result<Vec<Flag>, String> {
    let path = dir.join(format!("{tool}-{version}-{command}.txt"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "no flag list {} ({e}): the pinned {tool} has no `{command}` we know of",
            path.display()
        )
    })?;
    let mut flags = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 6 {
            return Err(format!("{}: malformed line `{line}`", path.display()));
        }
        let takes = match cols[2] {
            "required" => Takes::Value,
            "none" => Takes::Nothing,
            v if v.starts_with("optional=") => Takes::Optional,
            other => {
                return Err(format!(
                    "{}: unknown value column `{other}`",
                    path.display()
                ));
            }
        };
        flags.push(Flag {
            long: cols[0].trim_start_matches("--").to_owned(),
            short: (cols[1] != "-").then(|| cols[1].trim_start_matches('-').to_owned()),
            takes,
            root_only: cols[5] == "root-only",
        });
    }
    Ok(flags)
}

/// Checks `args` (without the program) against the flags `tool` at `version` accepts.
/// Returns the positional arguments after the subcommand.
pub fn check(
    dir: &Path,
    tool: &str,
    version: &str,
    args: &[String],
) -> Result<Vec<String>, String> {
    let (command, skip) = command_of(tool, args).ok_or_else(|| {
        format!(
            "`{}` is not a {tool} subcommand this project uses",
            args.join(" ")
        )
    })?;
    let flags = load(dir, tool, version, &command)?;
    let find = |name: &str, short: bool| {
        flags.iter().find(|f| {
            !f.root_only
                && if short {
                    f.short.as_deref() == Some(name)
                } else {
                    f.long == name
                }
        })
    };
    let mut positional = Vec::new();
    let mut rest = args[skip..].iter();
    while let Some(arg) = rest.next() {
        if arg == "--" {
            positional.extend(rest.by_ref().cloned());
            break;
        }
        let (name, short, inline) = if let Some(long) = arg.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (n, false, Some(v)),
                None => (long, false, None),
            }
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            (short, true, None)
        } else {
            positional.push(arg.clone());
            continue;
        };
        let flag = find(name, short)
            .ok_or_else(|| format!("{tool} {version} {command}: unknown flag `{arg}`"))?;
        match (&flag.takes, inline) {
            (Takes::Value, None) => {
                let value = rest
                    .next()
                    .ok_or_else(|| format!("{tool} {version} {command}: `{arg}` needs a value"))?;
                if name == "wait" || name == "timeout" {
                    check_duration(tool, &command, value)?;
                }
            }
            (Takes::Value, Some(value)) => {
                if name == "wait" || name == "timeout" {
                    check_duration(tool, &command, value)?;
                }
            }
            (Takes::Nothing, Some(v)) if v != "true" && v != "false" => {
                return Err(format!(
                    "{tool} {version} {command}: `{arg}` is a bool flag"
                ));
            }
            (Takes::Nothing | Takes::Optional, _) => {}
        }
    }
    let (min, max) = arity(tool, &command);
    if positional.len() < min || max.is_some_and(|max| positional.len() > max) {
        return Err(format!(
            "{tool} {version} {command}: {} positional argument(s) ({}), it takes {min}{}",
            positional.len(),
            positional.join(" "),
            max.map_or(" or more".to_owned(), |m| if m == min {
                String::new()
            } else {
                format!(" to {m}")
            })
        ));
    }
    Ok(positional)
}

/// How many positional arguments each subcommand takes (the cobra `Args` of each, named
/// in the header of its flag list).
fn arity(tool: &str, command: &str) -> (usize, Option<usize>) {
    match (tool, command) {
        ("kind", "load-docker-image" | "load-image-archive") => (1, None),
        ("kind", "export-logs") => (0, Some(1)),
        ("kind", _) => (0, Some(0)),
        ("helm", "upgrade") => (2, Some(2)),
        ("helm", "uninstall") => (1, None),
        ("helm", "status") => (1, Some(1)),
        ("helm", _) => (0, Some(0)),
        ("docker", "pull") => (1, Some(1)),
        ("docker", "inspect" | "network-inspect" | "image-inspect" | "save") => (1, None),
        _ => (0, Some(0)),
    }
}

/// Go's `time.ParseDuration`: a number needs a unit (`300` is refused, `5m0s` is not).
fn check_duration(tool: &str, command: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value != "0"
        && value.chars().any(|c| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || "hmsuµn.".contains(c))
        && value
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphabetic());
    if ok || value == "0" {
        Ok(())
    } else {
        Err(format!(
            "{tool} {command}: `{value}` is not a Go duration (time: missing unit)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> std::path::PathBuf {
        e2e::dirs::workspace_root().join("fixtures/flags")
    }

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn what_the_tool_refuses_is_refused() {
        let ok = check(
            &dir(),
            "kind",
            "v0.33.0",
            &args("create cluster --name c --wait 5m0s --kubeconfig k"),
        );
        assert_eq!(ok, Ok(vec![]));
        for (tool, version, line, why) in [
            (
                "kind",
                "v0.33.0",
                "create cluster --name c --wait 300",
                "not a Go duration",
            ),
            ("kind", "v0.33.0", "create cluster --nmae c", "unknown flag"),
            ("kind", "v0.33.0", "create cluster --name", "needs a value"),
            (
                "helm",
                "v3.22.0",
                "upgrade --install r c --wait=5m",
                "bool flag",
            ),
            ("docker", "v29.7.2", "info --context x", "unknown flag"),
            ("docker", "v29.7.2", "frobnicate", "not a docker subcommand"),
        ] {
            let err = check(&dir(), tool, version, &args(line)).unwrap_err();
            assert!(err.contains(why), "{line}: {err}");
        }
        assert_eq!(
            check(
                &dir(),
                "helm",
                "v3.22.0",
                &args("upgrade --install r /c --wait --timeout 5m0s")
            ),
            Ok(args("r /c"))
        );
    }
}

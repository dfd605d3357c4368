//! The checksum files upstreams publish beside their artifacts, read strictly: the line
//! that names our file, and nothing that is not a checksum line.

use crate::pins::Sha256;

/// Reads the sha256 of `file_name` from the text of an upstream checksum file.
///
/// Every non-empty line must be one of the published shapes: `<hex>  <name>` (kind and
/// helm `.sha256sum`, from `shasum -a 256`: kubernetes-sigs/kind
/// hack/release/build/cross.sh, helm/helm Makefile target `checksum`), `<hex> <name>`
/// (Istio `.sha256`, istio/release-builder pkg/util/files.go `CreateSha`), `<hex> *<name>`
/// (sha256sum's binary mode), or a bare `<hex>` as the file's only line (helm `.sha256`).
/// A file may list many artifacts; the one line whose name (after any directory part) is
/// `file_name` is taken. Anything else on a line, a line that is not a checksum, or two
/// different sums for our file refuses the whole file: it is not what the upstream
/// publishes.
pub fn parse(text: &str, file_name: &str) -> Result<Sha256, String> {
    let mut lines = 0;
    let mut bare = None;
    let mut ours: Option<Sha256> = None;
    let mut others = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        lines += 1;
        let (hex, rest) = match line.split_once([' ', '\t']) {
            Some((hex, rest)) => (hex, Some(rest)),
            None => (line, None),
        };
        let sha: Sha256 = hex.to_ascii_lowercase().parse().map_err(|_| {
            format!(
                "line {number} does not start with a sha256: `{}`",
                shorten(line)
            )
        })?;
        let Some(rest) = rest else {
            bare = Some(sha);
            continue;
        };
        // `<hex>  name` or `<hex> *name` (sha256sum), `<hex> name` (Istio).
        let name = rest.strip_prefix([' ', '*']).unwrap_or(rest);
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!(
                "line {number} is not `<sha256>  <file name>`: `{}`",
                shorten(line)
            ));
        }
        let base = name.rsplit('/').next().unwrap_or(name);
        if base != file_name {
            others.push(name.to_owned());
            continue;
        }
        match ours {
            Some(earlier) if earlier != sha => {
                return Err(format!("it gives two different sums for `{file_name}`"));
            }
            _ => ours = Some(sha),
        }
    }
    if lines == 0 {
        return Err("the checksum file is empty".into());
    }
    if bare.is_some() && lines > 1 {
        return Err("a bare sha256 is accepted only as the file's one line".into());
    }
    if let Some(sha) = ours.or(bare) {
        return Ok(sha);
    }
    Err(format!(
        "no line names `{file_name}`; it names `{}`",
        others.join("`, `")
    ))
}

/// A line as quoted in an error: an HTML error page can be one very long line.
fn shorten(line: &str) -> String {
    const MAX: usize = 80;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_files_in_every_published_shape() {
        let hex = "aee6151561422756b764a4ae28e7f44cda5af5a9eead3cc9985112b1de8d8e0d";
        let sha: Sha256 = hex.parse().unwrap();
        assert_eq!(
            parse(&format!("{hex}  kind-linux-amd64\n"), "kind-linux-amd64"),
            Ok(sha)
        );
        assert_eq!(
            parse(
                &format!("{hex} istio-1.2.3-linux-amd64.tar.gz\n"),
                "istio-1.2.3-linux-amd64.tar.gz"
            ),
            Ok(sha)
        );
        assert_eq!(parse(&format!("{hex} *out/x.tgz\n"), "x.tgz"), Ok(sha));
        assert_eq!(parse(&format!("{}\n", hex.to_uppercase()), "x"), Ok(sha));
        assert!(
            parse(&format!("{hex}  other-file\n"), "kind-linux-amd64")
                .unwrap_err()
                .contains("other-file")
        );
        assert!(
            parse("<html>not found</html>", "x")
                .unwrap_err()
                .contains("line 1 does not start with a sha256")
        );
        assert!(parse("\n\n", "x").is_err());
    }

    #[test]
    fn a_multi_entry_checksum_file_gives_the_line_that_names_our_file() {
        let [a, b, c] = ["aa", "bb", "cc"].map(|x| x.repeat(32));
        let text = format!(
            "{a}  kind-darwin-amd64\n{b}  kind-linux-amd64\n{c}  ./dist/kind-linux-arm64\n"
        );
        assert_eq!(parse(&text, "kind-linux-amd64"), Ok(b.parse().unwrap()));
        assert_eq!(parse(&text, "kind-linux-arm64"), Ok(c.parse().unwrap()));
        let err = parse(&text, "kind-windows-amd64").unwrap_err();
        assert!(
            err.contains("no line names `kind-windows-amd64`") && err.contains("kind-darwin-amd64"),
            "{err}"
        );
        // Two different sums for our file: neither can be trusted.
        let twice = format!("{a}  kind-linux-amd64\n{b}  kind-linux-amd64\n");
        assert!(
            parse(&twice, "kind-linux-amd64")
                .unwrap_err()
                .contains("two different")
        );
    }

    #[test]
    fn trailing_junk_in_a_checksum_file_is_refused() {
        let hex = "aee6151561422756b764a4ae28e7f44cda5af5a9eead3cc9985112b1de8d8e0d";
        for (text, why) in [
            (
                format!("{hex}  kind-linux-amd64\n<html>error page</html>\n"),
                "line 2",
            ),
            (format!("{hex}  kind-linux-amd64 trailing\n"), "line 1"),
            (format!("{hex}\n{hex}  other\n"), "bare sha256"),
            (format!("{hex}0  kind-linux-amd64\n"), "line 1"),
        ] {
            let err = parse(&text, "kind-linux-amd64").unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}

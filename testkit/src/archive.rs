//! tar.gz archives written entry by entry.

use flate2::Compression;
use flate2::write::GzEncoder;

/// One tar entry; names and link targets are written raw, so tests can build archives
/// that a careful writer would refuse to produce.
pub enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

pub fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for entry in entries {
        let mut header = tar::Header::new_old();
        let (name, kind, data, mode, link): (&str, tar::EntryType, &[u8], u32, Option<&str>) =
            match entry {
                Entry::Dir(n) => (n, tar::EntryType::Directory, b"", 0o755, None),
                Entry::File(n, d, m) => (n, tar::EntryType::Regular, d, *m, None),
                Entry::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", 0o777, Some(t)),
                Entry::HardLink(n, t) => (n, tar::EntryType::Link, b"", 0o644, Some(t)),
            };
        let old = header.as_old_mut();
        assert!(
            name.len() < old.name.len(),
            "test entry names fit the old header"
        );
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

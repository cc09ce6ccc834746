//! A refused chart archive says why: helm prints only `unable to load chart archive`;
//! `helmfire chart template` keeps that line (helm's exact text) and names the reason and the
//! entry under it (a path escaping the chart, a file over the size limit, a link).

use std::process::Command;

/// A gzipped tar of `(name, entry type, data)`, names written raw (no path checks).
fn tgz(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, data) in entries {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if kind.is_symlink() {
            header.set_link_name("/etc/passwd").expect("link name");
        }
        header.set_cksum();
        builder.append(&header, *data).expect("append");
    }
    let tar = builder.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    gz.finish().expect("gzip")
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: evil\nversion: 0.1.0\n";

#[test]
fn refused_archives_name_the_reason_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let regular = tar::EntryType::Regular;
    let big = vec![b'a'; 5 * 1024 * 1024 + 1];
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "traversal",
            tgz(&[
                ("evil/Chart.yaml", regular, CHART_YAML),
                ("evil/../../etc/passwd", regular, b"x"),
            ]),
            "  caused by: chart illegally references parent directory (entry `evil/../../etc/passwd`)",
        ),
        (
            "size",
            tgz(&[
                ("evil/Chart.yaml", regular, CHART_YAML),
                ("evil/big.bin", regular, &big),
            ]),
            "  caused by: decompressed chart file \"evil/big.bin\" is larger than the maximum file size 5242880",
        ),
        (
            "link",
            tgz(&[
                ("evil/Chart.yaml", regular, CHART_YAML),
                ("evil/templates/x.yaml", tar::EntryType::Symlink, b""),
            ]),
            "  caused by: chart archive contains an entry that is not a regular file (entry `evil/templates/x.yaml`)",
        ),
    ];
    for (name, archive, cause) in cases {
        let path = dir.path().join(format!("{name}.tgz"));
        std::fs::write(&path, archive).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .args(["chart", "template", "x"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines.first(),
            Some(&"Error: unable to load chart archive"),
            "{name}: helm's line first"
        );
        assert!(
            lines.get(1).is_some_and(|line| line.starts_with(cause)),
            "{name}: the reason follows:\n{stderr}"
        );
    }
}

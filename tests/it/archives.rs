//! Archives and compressed files (issue 13): members found as `ARCHIVE!member`, nested
//! archives, a zip bomb as a counted skip, a corrupt archive as an error, history blobs.

use crate::support::repo::Repo;
use crate::support::run::leakscope_json;
use crate::support::tokens::ghp;
use serde_json::Value;
use std::io::Write;

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in members {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn paths(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
        .collect();
    out.sort();
    out
}

#[test]
fn members_of_every_format_are_scanned_and_named_archive_bang_member() {
    let token = ghp(1320);
    let env = format!("# config\nGH_TOKEN={token}\n");
    let tar = tar_of(&[("src/app.env", env.as_bytes())]);
    let zip = zip_of(&[("conf/app.env", env.as_bytes()), ("img.bin", b"\0\x01\x02")]);
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&tar).unwrap();
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&tar).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("app.zip", zip.clone()),
        ("app.jar", zip.clone()),
        ("app.tar", tar.clone()),
        ("app.tgz", gzip(&tar)),
        ("app.tar.bz2", bz.finish().unwrap()),
        ("app.tar.xz", xz.finish().unwrap()),
        ("app.tar.zst", zstd::encode_all(&tar[..], 3).unwrap()),
        ("app.env.gz", gzip(env.as_bytes())),
        // A zip in a tar in a gzip: three levels, all opened by default.
        ("nested.tgz", gzip(&tar_of(&[("lib/app.zip", &zip)]))),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in &files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let (code, report, stderr) = leakscope_json(dir.path(), ["scan", ".", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        paths(&report),
        [
            "app.env.gz!app.env:2",
            "app.jar!conf/app.env:2",
            "app.tar!src/app.env:2",
            "app.tar.bz2!app.tar!src/app.env:2",
            "app.tar.xz!app.tar!src/app.env:2",
            "app.tar.zst!app.tar!src/app.env:2",
            "app.tgz!app.tar!src/app.env:2",
            "app.zip!conf/app.env:2",
            "nested.tgz!nested.tar!lib/app.zip!conf/app.env:2",
        ]
    );
    assert_eq!(report["secrets"].as_array().unwrap().len(), 1, "one secret");
    let summary = &report["summary"];
    assert_eq!(summary["archive_members"], 9, "{summary}");
    assert_eq!(
        summary["archive_members_binary"], 3,
        "img.bin in three zips"
    );
    assert_eq!(
        summary["skipped_binary"], 0,
        "archives are not binary skips"
    );
    // One level less: the zip inside the tar inside the gzip is not opened, and says so.
    let (_, report, _) = leakscope_json(
        dir.path(),
        [
            "scan",
            "nested.tgz",
            "--format",
            "json",
            "--max-archive-depth",
            "2",
        ],
    );
    assert!(paths(&report).is_empty(), "{report}");
    assert_eq!(report["summary"]["skipped_archives"], 1);
    let notes = report["summary"]["notes"].to_string();
    assert!(
        notes.contains("nested.tgz!nested.tar!lib/app.zip"),
        "{notes}"
    );
    // No archive opened at all: each is a binary skip and an archive skip, named.
    let (_, report, _) = leakscope_json(
        dir.path(),
        [
            "scan",
            "app.zip",
            "--format",
            "json",
            "--max-archive-depth",
            "0",
        ],
    );
    assert!(paths(&report).is_empty(), "{report}");
    assert_eq!(report["summary"]["skipped_binary"], 1);
    assert_eq!(report["summary"]["skipped_archives"], 1);
    assert!(report["summary"]["notes"].to_string().contains("app.zip"));
}

#[test]
fn a_zip_bomb_is_a_counted_skip_and_a_corrupt_archive_an_error() {
    let token = ghp(1321);
    let dir = tempfile::tempdir().unwrap();
    // 64 MiB of zeros deflate to about 64 KiB; the limit below is 1 MiB.
    let zeros = vec![b'a'; 64 << 20];
    std::fs::write(dir.path().join("bomb.zip"), zip_of(&[("big.txt", &zeros)])).unwrap();
    let mut corrupt = zip_of(&[("a.env", format!("T={token}\n").as_bytes())]);
    let cut = corrupt.len() - 30;
    corrupt.truncate(cut);
    std::fs::write(dir.path().join("corrupt.zip"), corrupt).unwrap();
    std::fs::write(dir.path().join("ok.env"), format!("T={token}\n")).unwrap();
    let (code, report, stderr) = leakscope_json(
        dir.path(),
        [
            "scan",
            ".",
            "--format",
            "json",
            "--max-decompressed-size",
            "1M",
        ],
    );
    assert_eq!(code, 1, "the scan went on and found ok.env: {stderr}");
    assert_eq!(paths(&report), ["ok.env:1"]);
    assert_eq!(report["summary"]["skipped_archives"], 1);
    assert!(report["summary"]["notes"]
        .to_string()
        .contains("bomb.zip!big.txt"));
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "corrupt.zip");
    // An unreadable archive never passes a gate as clean.
    std::fs::remove_file(dir.path().join("ok.env")).unwrap();
    let (code, _, _) = leakscope_json(dir.path(), ["scan", ".", "--format", "json"]);
    assert_eq!(code, 2);
}

#[test]
fn archives_in_history_and_in_the_index_are_opened() {
    let token = ghp(1322);
    let repo = Repo::new();
    let zip = zip_of(&[("deploy/.env", format!("GH_TOKEN={token}\n").as_bytes())]);
    std::fs::write(repo.path.join("release.zip"), &zip).unwrap();
    repo.git(&["add", "release.zip"]);
    let (code, report, stderr) =
        leakscope_json(&repo.path, ["scan", "--staged", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(paths(&report), ["release.zip!deploy/.env:1"]);
    repo.commit("add a release");
    repo.remove("release.zip");
    repo.commit("remove it");
    let (code, report, stderr) =
        leakscope_json(&repo.path, ["scan", "--git", ".", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(paths(&report), ["release.zip!deploy/.env:1"]);
    assert_eq!(report["summary"]["archive_members"], 1);
}

/// With `--max-archive-depth 0`, a zip read from stdin or from the index was counted as
/// a binary skip alone (stdin) or as a scanned file (the index), and the note naming it
/// was dropped: now both count it as the tree walk does, a binary skip and an archive
/// skip, named in the notes.
#[test]
fn an_unopened_archive_from_stdin_or_the_index_is_counted_as_a_tree_scan_counts_it() {
    let zip = zip_of(&[(
        "deploy/.env",
        format!("GH_TOKEN={}\n", ghp(1323)).as_bytes(),
    )]);
    let check = |report: &Value, what: &str| {
        let summary = &report["summary"];
        assert!(paths(report).is_empty(), "{what}: {report}");
        assert_eq!(summary["skipped_binary"], 1, "{what}: {summary}");
        assert_eq!(summary["skipped_archives"], 1, "{what}: {summary}");
        assert_eq!(summary["files_scanned"], 0, "{what}: {summary}");
        assert!(
            summary["notes"].to_string().contains("--max-archive-depth"),
            "{what}: {summary}"
        );
    };
    let out = assert_cmd::Command::cargo_bin("leakscope")
        .unwrap()
        .args(["scan", "-", "--format", "json", "--max-archive-depth", "0"])
        .write_stdin(zip.clone())
        .output()
        .unwrap();
    check(&serde_json::from_slice(&out.stdout).unwrap(), "stdin");
    let repo = Repo::new();
    std::fs::write(repo.path.join("release.zip"), &zip).unwrap();
    repo.git(&["add", "release.zip"]);
    let (_, report, stderr) = leakscope_json(
        &repo.path,
        [
            "scan",
            "--staged",
            "--format",
            "json",
            "--max-archive-depth",
            "0",
        ],
    );
    check(&report, &format!("staged: {stderr}"));
}

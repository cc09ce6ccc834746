//! Reading chart archives (`.tgz`) as Helm's `pkg/chart/loader/archive` does, treating them as
//! untrusted: the top directory is stripped, entries escaping it are refused, and the
//! decompressed size is capped (100 MiB in total, 5 MiB per file).

use std::io::Read;

use crate::{ChartError, LoadedFile};

/// Helm's `MaxDecompressedChartSize`.
pub const MAX_DECOMPRESSED_CHART_SIZE: u64 = 100 * 1024 * 1024;
/// Helm's `MaxDecompressedFileSize`.
pub const MAX_DECOMPRESSED_FILE_SIZE: u64 = 5 * 1024 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Helm's `EnsureArchive`: the first bytes must be gzip's, with a hint for YAML files.
pub fn ensure_archive(name: &str, head: &[u8]) -> Result<(), ChartError> {
    if head.starts_with(b"\x1F\x8B\x08") {
        return Ok(());
    }
    if name.ends_with(".yml") || name.ends_with(".yaml") {
        return Err(ChartError::Helm(format!(
            "file '{name}' seems to be a YAML file, but expected a gzipped archive"
        )));
    }
    Err(ChartError::Helm(format!(
        "file '{name}' does not appear to be a gzipped archive; got '{}'",
        detect_content_type(head)
    )))
}

/// A small part of Go's `http.DetectContentType`: enough for the messages Helm prints.
fn detect_content_type(head: &[u8]) -> &'static str {
    let head = &head[..head.len().min(512)];
    if head.starts_with(b"PK\x03\x04") {
        return "application/zip";
    }
    if head.starts_with(b"%PDF-") {
        return "application/pdf";
    }
    if head.starts_with(b"\x89PNG\x0D\x0A\x1A\x0A") {
        return "image/png";
    }
    let binary = head
        .iter()
        .any(|&b| b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b));
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

fn is_drive_path(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/'
}

/// Go's `path.Clean` for slash paths.
pub use helmfire_template::functions::paths::clean as clean_path;

/// `LoadArchiveFiles`: every regular file of a gzip-compressed tar, named relative to the
/// chart's top directory, with a leading UTF-8 BOM removed. `chart` names the archive in errors.
pub fn load_archive_files(data: &[u8], chart: &str) -> Result<Vec<LoadedFile>, ChartError> {
    // Go's gzip reader: nothing at all is io.EOF, a wrong magic number is ErrHeader.
    if data.is_empty() {
        return Err(ChartError::Archive {
            chart: chart.to_string(),
            message: "EOF".into(),
        });
    }
    if !data.starts_with(b"\x1F\x8B") {
        return Err(ChartError::Archive {
            chart: chart.to_string(),
            message: "gzip: invalid header".into(),
        });
    }
    let gz = flate2::read::GzDecoder::new(data);
    let mut archive = tar::Archive::new(gz);
    let entries = archive.entries().map_err(|e| archive_io(chart, e))?;
    let mut files = Vec::new();
    let mut remaining = MAX_DECOMPRESSED_CHART_SIZE as i64;
    for entry in entries {
        let mut entry = entry.map_err(|e| archive_io(chart, e))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if kind.is_gnu_longname() || kind.is_gnu_longlink() {
            continue;
        }
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let delimiter = if raw_name.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw_name.split(delimiter).collect();
        let n = parts[1..].join(&delimiter.to_string()).replace(delimiter, "/");
        if n.starts_with('/') {
            return Err(ChartError::Unsafe {
                chart: chart.to_string(),
                entry: raw_name,
                message: "chart illegally contains absolute paths".into(),
            });
        }
        let n = clean_path(&n);
        if n == "." {
            return Err(ChartError::Unsafe {
                chart: chart.to_string(),
                entry: raw_name.clone(),
                message: format!(
                    "chart illegally contains content outside the base directory: {}",
                    crate::metadata::go_quote(&raw_name)
                ),
            });
        }
        if n.starts_with("..") {
            return Err(ChartError::Unsafe {
                chart: chart.to_string(),
                entry: raw_name,
                message: "chart illegally references parent directory".into(),
            });
        }
        if is_drive_path(&n) {
            return Err(ChartError::Unsafe {
                chart: chart.to_string(),
                entry: raw_name,
                message: "chart contains illegally named files".into(),
            });
        }
        if parts[0] == "Chart.yaml" {
            return Err(ChartError::Unsafe {
                chart: chart.to_string(),
                entry: raw_name,
                message: "chart yaml not in base directory".into(),
            });
        }
        // Helm would read a link or device entry as an empty file; we refuse anything that is
        // not a regular file so that nothing in an archive can alias another path.
        if !(kind.is_file() || kind.is_contiguous()) {
            return Err(ChartError::Unsafe {
                chart: chart.to_string(),
                entry: raw_name,
                message: "chart archive contains an entry that is not a regular file".into(),
            });
        }
        let size = entry.header().size().map_err(|e| archive_io(chart, e))? as i64;
        if size > remaining {
            return Err(ChartError::TooLarge {
                chart: chart.to_string(),
                entry: raw_name,
                message: format!("decompressed chart is larger than the maximum size {MAX_DECOMPRESSED_CHART_SIZE}"),
            });
        }
        if size > MAX_DECOMPRESSED_FILE_SIZE as i64 {
            return Err(ChartError::TooLarge {
                chart: chart.to_string(),
                entry: raw_name.clone(),
                message: format!(
                    "decompressed chart file {} is larger than the maximum file size {MAX_DECOMPRESSED_FILE_SIZE}",
                    crate::metadata::go_quote(&raw_name)
                ),
            });
        }
        let mut buf = Vec::with_capacity(size.max(0) as usize);
        let written = (&mut entry)
            .take(remaining.max(0) as u64)
            .read_to_end(&mut buf)
            .map_err(|e| archive_io(chart, e))? as i64;
        remaining -= written;
        if written < size || remaining <= 0 {
            return Err(ChartError::TooLarge {
                chart: chart.to_string(),
                entry: raw_name,
                message: format!("decompressed chart is larger than the maximum size {MAX_DECOMPRESSED_CHART_SIZE}"),
            });
        }
        if buf.starts_with(UTF8_BOM) {
            buf.drain(..3);
        }
        files.push(LoadedFile {
            name: n,
            data: buf.into(),
        });
    }
    if files.is_empty() {
        return Err(ChartError::Helm("no files in chart archive".into()));
    }
    Ok(files)
}

fn archive_io(chart: &str, e: std::io::Error) -> ChartError {
    ChartError::Archive {
        chart: chart.to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_gzip() {
        assert_eq!(
            ensure_archive("values.yaml", b"a: 1").unwrap_err().to_string(),
            "file 'values.yaml' seems to be a YAML file, but expected a gzipped archive"
        );
        assert_eq!(
            ensure_archive("x.tgz", b"hello").unwrap_err().to_string(),
            "file 'x.tgz' does not appear to be a gzipped archive; got 'text/plain; charset=utf-8'"
        );
    }
}

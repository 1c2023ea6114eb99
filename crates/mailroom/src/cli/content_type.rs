//! Guesses an attachment's MIME type from its file name, so `--attach report.pdf` arrives as
//! `application/pdf` rather than as an anonymous blob. A short table covers what agents and
//! people usually attach; anything else is `application/octet-stream`.

use std::path::Path;

/// The type used when the extension is unknown.
pub const FALLBACK: &str = "application/octet-stream";

const TABLE: &[(&str, &str)] = &[
    // text
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("ics", "text/calendar"),
    ("vcf", "text/vcard"),
    // structured data and documents
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("pdf", "application/pdf"),
    ("rtf", "application/rtf"),
    ("doc", "application/msword"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xls", "application/vnd.ms-excel"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    // archives
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tgz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("7z", "application/x-7z-compressed"),
    // images
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
    ("bmp", "image/bmp"),
    ("ico", "image/vnd.microsoft.icon"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("heic", "image/heic"),
    // audio and video
    ("mp3", "audio/mpeg"),
    ("wav", "audio/wav"),
    ("ogg", "audio/ogg"),
    ("m4a", "audio/mp4"),
    ("mp4", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    // mail
    ("eml", "message/rfc822"),
];

/// Returns the MIME type for a file name's extension, ignoring case.
pub fn guess(path: &Path) -> &'static str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else { return FALLBACK };
    TABLE.iter().find(|(e, _)| e.eq_ignore_ascii_case(ext)).map(|(_, t)| *t).unwrap_or(FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_extensions() {
        assert_eq!(guess(Path::new("report.pdf")), "application/pdf");
        assert_eq!(guess(Path::new("/tmp/Photo.JPG")), "image/jpeg");
        assert_eq!(guess(Path::new("notes.txt")), "text/plain");
        assert_eq!(guess(Path::new("backup.tar.gz")), "application/gzip");
        assert_eq!(guess(Path::new("mail.eml")), "message/rfc822");
    }

    #[test]
    fn unknown_or_missing_extensions_fall_back() {
        assert_eq!(guess(Path::new("Makefile")), FALLBACK);
        assert_eq!(guess(Path::new("data.xyz")), FALLBACK);
        assert_eq!(guess(Path::new(".bashrc")), FALLBACK);
    }

    #[test]
    fn the_table_has_no_duplicates_and_only_lower_case_keys() {
        let mut seen = std::collections::HashSet::new();
        for (ext, _) in TABLE {
            assert!(seen.insert(*ext), "duplicate {ext}");
            assert_eq!(*ext, ext.to_ascii_lowercase());
        }
    }
}

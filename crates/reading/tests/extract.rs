//! Extraction of generated PDF and DOCX files, and hostile input: corrupt files fail cleanly,
//! a crashing parser is caught, output is capped.

use mailroom_reading::extract::{self, Kind, Limits, Outcome};
use std::io::Write;

/// A one-page PDF with `lines` of text (Helvetica), made with lopdf.
pub fn pdf(lines: &[&str]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut ops = vec![Operation::new("BT", vec![]), Operation::new("Tf", vec!["F1".into(), 14.into()]), Operation::new("Td", vec![72.into(), 760.into()])];
    for line in lines {
        ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
        ops.push(Operation::new("Td", vec![0.into(), (-20).into()]));
    }
    ops.push(Operation::new("ET", vec![]));
    let content_id = doc.add_object(Stream::new(dictionary! {}, Content { operations: ops }.encode().unwrap()));
    let page_id = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id });
    let pages = dictionary! {
        "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        "Resources" => resources_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    };
    doc.objects.insert(pages_id, Object::Dictionary(pages));
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A DOCX with one paragraph per line (stored, uncompressed), made with zip.
pub fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("[Content_Types].xml", opts).unwrap();
    zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap();
    zip.start_file("word/document.xml", opts).unwrap();
    let mut body = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#);
    for p in paragraphs {
        body.push_str(&format!("<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>", p.replace('&', "&amp;").replace('<', "&lt;")));
    }
    body.push_str("</w:body></w:document>");
    zip.write_all(body.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn pdf_and_docx_give_their_text() {
    let p = pdf(&["Quarterly revenue: 1.2M EUR", "Prepared by Finance"]);
    match extract::extract(Kind::Pdf, p.into(), Limits::default()).await {
        Outcome::Text(t, false) => assert!(t.contains("Quarterly revenue: 1.2M EUR") && t.contains("Prepared by Finance"), "{t}"),
        other => panic!("{other:?}"),
    }
    let d = docx(&["Purchase order 7781", "Deliver to Madrid & Lisbon"]);
    match extract::extract(Kind::Docx, d.into(), Limits::default()).await {
        Outcome::Text(t, false) => assert_eq!(t, "Purchase order 7781\nDeliver to Madrid & Lisbon"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn hostile_files_fail_cleanly_and_output_is_capped() {
    for (kind, bytes) in [(Kind::Pdf, b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ntrailer << /Root 1 0 R >>\n%%EOF".to_vec()), (Kind::Docx, b"PK\x03\x04 not a zip".to_vec()), (Kind::Calendar, b"BEGIN:VCALENDAR\nBEGIN:VEVENT".to_vec())] {
        match extract::extract(kind, bytes.into(), Limits::default()).await {
            Outcome::Failed(why) => assert!(!why.is_empty()),
            Outcome::Text(t, _) => assert!(t.len() < 100, "{kind:?}: {t}"),
            other => panic!("{kind:?}: {other:?}"),
        }
    }
    let big = "line of text\n".repeat(10_000);
    let limits = Limits { max_output: 1000, ..Limits::default() };
    match extract::extract(Kind::Text, big.into_bytes().into(), limits).await {
        Outcome::Text(t, true) => assert!(t.len() <= 1000),
        other => panic!("{other:?}"),
    }
}

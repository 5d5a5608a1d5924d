//! Looking inside the PDFs the server renders with poppler's command-line tools, as a
//! printer or a reader would: `pdftoppm` rasterises a page, `pdftotext` extracts the text,
//! `pdfinfo` counts the pages. The tools are required; when one is missing the test fails
//! and says how to install it.

use std::path::Path;
use std::process::{Command, Output};

/// Page 1 of `pdf` as a PNG at `dpi` (`pdftoppm -r DPI -png -singlefile`).
pub fn pdf_to_png(pdf: &[u8], dpi: u32) -> Vec<u8> {
    pdf_page_to_png(pdf, 1, dpi)
}

/// Page `page` (1-based) of `pdf` as a PNG at `dpi` (`pdftoppm -f N -l N`).
pub fn pdf_page_to_png(pdf: &[u8], page: usize, dpi: u32) -> Vec<u8> {
    let dir = scratch_with(pdf);
    let page = page.to_string();
    let dpi = dpi.to_string();
    let prefix = dir.path().join("page");
    let prefix = prefix.to_str().expect("temporary paths are UTF-8");
    run(dir.path(), "pdftoppm", &["-r", &dpi, "-png", "-singlefile", "-f", &page, "-l", &page, "in.pdf", prefix]);
    std::fs::read(dir.path().join("page.png")).expect("pdftoppm wrote page.png")
}

/// The text of `pdf`, laid out as on the page (`pdftotext -layout`).
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = scratch_with(pdf);
    let output = run(dir.path(), "pdftotext", &["-layout", "-enc", "UTF-8", "in.pdf", "-"]);
    String::from_utf8(output.stdout).expect("pdftotext writes UTF-8 when asked to")
}

/// What `pdfinfo` says of `pdf` (title, page count, page size, …).
pub fn pdf_info(pdf: &[u8]) -> String {
    let dir = scratch_with(pdf);
    let output = run(dir.path(), "pdfinfo", &["-enc", "UTF-8", "in.pdf"]);
    String::from_utf8(output.stdout).expect("pdfinfo writes UTF-8 when asked to")
}

/// The number of pages of `pdf` (`pdfinfo`).
pub fn pdf_pages(pdf: &[u8]) -> usize {
    let info = pdf_info(pdf);
    info.lines()
        .find_map(|line| line.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo printed no page count:\n{info}"))
}

/// A temporary folder holding `pdf` as `in.pdf`.
fn scratch_with(pdf: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("oshirase-pdf-").tempdir().expect("create a temporary folder");
    std::fs::write(dir.path().join("in.pdf"), pdf).expect("write the PDF");
    dir
}

/// Runs a poppler tool in `dir`, failing the test if it is missing or refuses the file.
fn run(dir: &Path, tool: &str, args: &[&str]) -> Output {
    let output = Command::new(tool).args(args).current_dir(dir).output().unwrap_or_else(|e| {
        panic!("cannot run `{tool}` ({e}): install poppler-utils (`apt-get install poppler-utils`); the project's test script installs it")
    });
    assert!(output.status.success(), "`{tool} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    output
}

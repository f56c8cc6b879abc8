from pathlib import Path

from harness.reports.render import html_to_pdf, render_html, render_report
from tests.helpers import make_result, store_result


def test_templates_autoescape_what_comes_from_runs() -> None:
    html = render_html(make_result(base='<script>alert("x")</script>'), None)
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_pdf_renderer_fetches_nothing_outside_the_templates_dir(tmp_path: Path) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = (
        '<html><head><link rel="stylesheet" href="https://example.invalid/x.css">'
        f'<link rel="stylesheet" href="file://{secret}"></head>'
        '<body><img src="http://192.0.2.1/pixel.png">text</body></html>'
    )
    pdf, refused = html_to_pdf(html, title="t", metadata={})
    assert pdf.startswith(b"%PDF")
    assert sorted(refused) == sorted(
        ["https://example.invalid/x.css", f"file://{secret}", "http://192.0.2.1/pixel.png"]
    )


def test_report_embeds_results_json_and_metadata(tmp_path: Path) -> None:
    from pypdf import PdfReader

    run = store_result(tmp_path, make_result())
    paths = render_report(run, tmp_path / "out")
    reader = PdfReader(paths.pdf)
    assert "results.json" in reader.attachments
    assert reader.attachments["results.json"][0] == (run / "results.json").read_bytes()
    assert "sha256:" + "ab" * 32 in (reader.metadata.get("/Keywords") or "")
    assert reader.metadata.title.startswith("harness evaluation report")


def test_report_without_verdict_says_so(tmp_path: Path) -> None:
    paths = render_report(store_result(tmp_path, make_result()), tmp_path / "out", pdf=False)
    assert "No gate verdict has been recorded" in paths.html.read_text()
    assert paths.pdf is None


def test_stylesheet_reaches_the_renderer_unescaped() -> None:
    from harness.reports.render import render_html
    from tests.helpers import make_result

    html = render_html(make_result(), None)
    assert 'content: "harness evaluation report"' in html and "&#34;" not in html.split("</style>")[0]

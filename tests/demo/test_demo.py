import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hoirecon.demo import DemoConfig, run_demo

TINY = DemoConfig(categories=("basketball",), train=24, test=2, image_size=96, prior_epochs=2, prior_depth=2,
                  prior_width=32, object_steps=5, joint_steps=5, eval_samples=500, workers=1)


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    run_demo(out, TINY)
    return out


@pytest.mark.slow
def test_demo_writes_every_output(demo_out: Path) -> None:
    results = json.loads((demo_out / "results.json").read_text())
    assert set(results) == set(TINY.presets)
    for preset in TINY.presets:
        assert set(results[preset]) == {"basketball", "mean"}
        assert set(results[preset]["mean"]) == {"smpl_cm", "object_cm", "rot_deg", "transl_cm"}
    assert "| prior+contact |" in (demo_out / "results.md").read_text()
    assert list((demo_out / "scenes").glob("*.glb"))
    html = (demo_out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 + 4 * 3
    assert "published (different data)" in (demo_out / "results.md").read_text() or "published" in html


@pytest.mark.slow
def test_rerun_reuses_finished_stages(demo_out: Path) -> None:
    stages = sorted((demo_out / "stages").glob("*.json"))
    before = {p.name: p.stat().st_mtime_ns for p in stages}
    run_demo(demo_out, TINY)
    after = {p.name: p.stat().st_mtime_ns for p in sorted((demo_out / "stages").glob("*.json"))}
    assert before == after


@pytest.mark.slow
def test_report_renders_in_headless_chromium(demo_out: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is required (installed by `make test`)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (demo_out / "report.html").resolve().as_uri()
    dom = subprocess.run([browser, *flags, "--virtual-time-budget=5000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    assert '<table id="results">' in dom
    loaded = dom.split('data-images-loaded="')[1].split('"')[0]
    done, total = map(int, loaded.split("/"))
    assert total >= 10 and done == total
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *flags, "--window-size=1200,900", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000

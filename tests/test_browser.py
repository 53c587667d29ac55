"""Widgets in a real browser: JupyterLab + headless Chromium (Debian's package) driven by Playwright.

For every notebook with an interactive demo: open a copy of its *student* version (what learners open) in
JupyterLab, run all cells, wait for the kernel to go idle, check that no cell holds an error and that the
exercise checks say "not implemented yet" (the later cells fall back to the reference), move one slider per demo
with the keyboard and check that the demo's image changed. So this test is also the end-to-end run of the
student copies (tests/test_student_notebooks.py runs only those it does not cover). Two JupyterLab servers, one
per pytest-xdist worker, share the notebooks; each worker's Chromium boots JupyterLab once and opens the
notebooks one after the other in that page (each closed, its kernel shut down, before the next), which saves the
front end's boot per notebook. Screenshots and a timing report go to test-output/browser/. The servers are
started here and stopped here (kernels shut down through the REST API, then SIGTERM/SIGKILL to the process
group), also when a check fails.

Needs a Chromium: $CHROMIUM, else /usr/bin/chromium (.ci/run installs Debian's package when missing). Without one
the test is skipped locally and fails in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import nbtool
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.notebook]

OUT = nbtool.ROOT / "test-output" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_ALL_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback only)
        return json.loads(r.read() or b"null")


class Lab:
    """A JupyterLab server on 127.0.0.1 with its own config, runtime, settings and workspace folders."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.port, self.token = _free_port(), "aligned-test-token"
        self.base = f"http://127.0.0.1:{self.port}"
        settings = tmp / "settings"
        notif = settings / "@jupyterlab" / "apputils-extension"
        notif.mkdir(parents=True)
        (notif / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = {**os.environ, **nbtool.KERNEL_ENV, "JUPYTER_CONFIG_DIR": str(tmp / "config"),
               "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_DATA_DIR": str(tmp / "data"),
               "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
        env.pop("NBGRADER_EXECUTION", None)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
               f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={tmp / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.log = open(tmp / "lab.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(tmp / 'lab.log').read_text()[-2000:]}")
            try:
                _get(f"{self.base}/api/status?token={self.token}")
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("jupyter lab did not answer within 60 s")

    def stop(self) -> None:
        try:
            for k in _get(f"{self.base}/api/kernels?token={self.token}") or []:
                req = urllib.request.Request(f"{self.base}/api/kernels/{k['id']}?token={self.token}", method="DELETE")
                urllib.request.urlopen(req, timeout=5).close()  # noqa: S310
        except OSError:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


NOTEBOOKS = nbtool.widget_notebooks()

JS_OUTPUTS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const errors = [], text = [];
  for (let i = 0; i < nb.model.cells.length; i++) {
    const cell = nb.model.cells.get(i);
    if (cell.type !== 'code') continue;
    for (const o of cell.outputs.toJSON()) {
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      if (o.output_type === 'stream') text.push([].concat(o.text).join(''));
    }
  }
  return [errors, text.join('\\n')];
}"""
JS_OPEN = """async (path) => {
  const app = window.jupyterapp;
  const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await w.context.ready;
  await w.sessionContext.ready;
  app.shell.activateById(w.id);
}"""
JS_KERNEL_IDLE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""
JS_CLOSE = """async () => {
  // shut the kernel down and drop the tab without the unsaved-changes dialog (the copy is a throw-away)
  for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
    if (w.sessionContext) await w.sessionContext.shutdown();
    w.dispose();
  }
}"""
JS_PENDING = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  let pending = 0, unrun = 0;
  for (let i = 0; i < nb.model.cells.length; i++) {
    const cell = nb.model.cells.get(i);
    if (cell.type !== 'code' || cell.sharedModel.getSource().trim() === '') continue;
    if (cell.executionState === 'running') pending++;
    if (cell.executionCount === null) unrun++;
  }
  return [pending, unrun];
}"""


@pytest.fixture(scope="class")
def lab(tmp_path_factory):
    chromium = nbtool.chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium found: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium found (set $CHROMIUM or install Debian's chromium package)")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "course"
    root.mkdir()
    for p in NOTEBOOKS:  # a copy of the student version: autosave must never write into the repo
        shutil.copy(nbtool.student_path(p), root / p.name)
    server = Lab(root, tmp)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = None
    try:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        # one JupyterLab page per server, reused for every notebook: booting the JupyterLab front end costs
        # seconds of CPU, and a learner also opens notebook after notebook in one tab
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.base}/lab?token={server.token}&reset", timeout=60_000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
        page.locator(".jp-LauncherBody, .jp-Launcher").first.wait_for(timeout=60_000)
        yield server, page
    finally:
        if browser is not None:
            browser.close()
        pw.stop()
        server.stop()


def _widgets_in_jupyterlab(lab, path: Path) -> None:
    server, page = lab
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{path.stem}.json").unlink(missing_ok=True)
    try:
        page.evaluate(JS_OPEN, path.name)
        page.wait_for_function(JS_KERNEL_IDLE, timeout=90_000)
        start = time.perf_counter()
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        deadline = time.time() + RUN_ALL_TIMEOUT_S
        while True:
            pending, unrun = page.evaluate(JS_PENDING)
            if pending == 0 and unrun == 0:
                break
            assert time.time() < deadline, f"run-all did not finish in {RUN_ALL_TIMEOUT_S} s ({pending} running, {unrun} unrun)"
            time.sleep(0.2)
        page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=30_000)
        run_all_s = time.perf_counter() - start
        errors, text = page.evaluate(JS_OUTPUTS)
        assert errors == []
        source = nbformat.read(path, as_version=4)
        if any("### BEGIN SOLUTION" in c.source for c in source.cells):
            assert "not implemented yet" in text, "the exercise checks did not run"

        demos = page.locator(".jp-OutputArea-output .widget-vbox:has(.widget-image)")
        n_demos = demos.count()
        expected = nbtool.demo_count(source)
        assert n_demos == expected, f"{n_demos} live demos in the page, {expected} in the notebook"
        latencies = []
        for i in range(n_demos):
            demo = demos.nth(i)
            demo.scroll_into_view_if_needed()
            img = demo.locator("img.widget-image").first
            before = img.get_attribute("src")
            handle = demo.locator(".noUi-handle").first
            at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
            handle.focus()
            t0 = time.perf_counter()
            handle.press("ArrowLeft" if at_max else "ArrowRight")
            page.wait_for_function("([el, src]) => el.getAttribute('src') !== src", arg=[img.element_handle(), before],
                                   timeout=10_000)
            latencies.append(1000 * (time.perf_counter() - t0))
        assert page.evaluate(JS_OUTPUTS)[0] == []
        page.screenshot(path=str(OUT / f"{path.stem}.png"), full_page=False)
        report = {"run_all_to_idle_s": round(run_all_s, 1), "slider_to_new_image_ms": [round(x) for x in latencies]}
        (OUT / f"{path.stem}.json").write_text(json.dumps(report))  # one file each: two workers write here
        print(f"{path.stem}: run all -> idle {run_all_s:.1f} s; slider -> new image {[round(x) for x in latencies]} ms")
    finally:
        failed = not (OUT / f"{path.stem}.json").exists()
        if failed:
            page.screenshot(path=str(OUT / f"{path.stem}-failed.png"))
        try:
            page.evaluate(JS_CLOSE)
        except Exception:
            if not failed:  # after a failure, keep the original error, not one from closing the broken page
                raise


# Two classes, two JupyterLab servers: pytest-xdist's --dist loadscope gives each class to its own worker.
class TestBrowserFirstHalf:
    @pytest.mark.parametrize("path", NOTEBOOKS[0::2], ids=[p.stem for p in NOTEBOOKS[0::2]])
    def test_widgets_in_jupyterlab(self, lab, path):
        _widgets_in_jupyterlab(lab, path)


class TestBrowserSecondHalf:
    @pytest.mark.parametrize("path", NOTEBOOKS[1::2], ids=[p.stem for p in NOTEBOOKS[1::2]])
    def test_widgets_in_jupyterlab(self, lab, path):
        _widgets_in_jupyterlab(lab, path)


def test_some_notebooks_have_widgets():
    assert NOTEBOOKS, "no notebook with an interactive demo found"

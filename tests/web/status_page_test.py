#!/usr/bin/env python3
"""The status page in a real headless Chromium against the real mlcrond.

A small pipeline (import -> features -> retrain of a tiny XGBoost model in two segments ->
a report command) runs three times with `mlcron run --all` on growing data, so each segment
has a full version and incremental candidates; then mlcrond starts with `--run-now` and the
API on a free loopback port after 10 more days arrived, so its retrain adds one more. The test waits for
the runs in the state database, opens http://127.0.0.1:PORT/ through chromedriver, and checks
what the page shows against the state database: every tier and job in the timeline, the
daemon's runs as succeeded in the runs table, each segment's production version in the
models table and a chart point per version, a known line of a log after clicking its run,
and the error banner once the daemon is stopped. It saves a screenshot of the page.

Usage: status_page_test.py --mlcrond BUILD/daemon/mlcrond --mlcron BUILD/cli/mlcron
           --screenshot OUT.png [--chromium /usr/bin/chromium]
           [--chromedriver /usr/bin/chromedriver] [--keep DIR]
"""

import argparse
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import ChromeDriver, WebDriverError, free_port  # noqa: E402

REPORT_LINE = "web-test report: 3 tiers done"

FEATURES_SQL = """CREATE TABLE IF NOT EXISTS feats (
  id INTEGER PRIMARY KEY, seg TEXT, day TEXT, y REAL, f0 REAL, f1 REAL, fsum REAL);
INSERT OR REPLACE INTO feats SELECT id, seg, day, y, f0, f1, f0 + f1 FROM raw;
"""  # all rows each time: the runs below follow each other within a second

TIERS = {"load": ["import_matches"], "features": ["aggregate"], "retrain": ["retrain_m"],
         "publish": ["report"]}


def config(port):
    return f"""timezone: Europe/London
state_dir: ./state
log_dir: ./state/logs
data: ./state/data.db
max_parallel: 2
defaults: {{timeout: 2m, kill_grace: 2s, catchup: none}}
api: {{listen: 127.0.0.1:{port}}}
models:
  m:
    table: feats
    key: id
    time: day
    label: y
    features: [f0, f1, fsum]
    segment_by: seg
    objective: binary:logistic
    params: {{max_depth: 2, nthread: 1}}
    rounds: 10
    min_rows: 50
    incremental: {{rounds: 3, min_new_rows: 50}}
    holdout: {{fraction: 0.2, min_rows: 10}}
tiers:
  - tier: 1
    name: load
    at: "09:45"
    jobs:
      - {{name: import_matches, kind: import, file: matches.csv, table: raw, key: id,
         types: {{id: integer, f0: real, f1: real, y: integer}}}}
  - tier: 2
    name: features
    at: "09:50"
    after: [load]
    jobs:
      - {{name: aggregate, kind: features, sql: features.sql}}
  - tier: 3
    name: retrain
    at: "09:52"
    after: [features]
    jobs:
      - {{name: retrain_m, kind: retrain, model: m}}
  - tier: 5
    name: publish
    at: "18:00"
    after: [retrain]
    jobs:
      - name: report
        argv: [/bin/echo, "{REPORT_LINE}"]
"""


def write_matches(path, days):
    """2 segments x `days` days from 2024-01-01 x 5 labelled rows: a learnable rule with 10%
    noise, the segments' rows drawn differently."""
    lines = ["id,seg,day,f0,f1,y"]
    for s, seg in enumerate("AB"):
        for d in range(days):
            day = (datetime.date(2024, 1, 1) + datetime.timedelta(days=d)).isoformat()
            for i in range(5):
                ident = s * 1000 + d * 10 + i
                f0, f1 = (ident * 37 + s * 11) % 100 / 100, (ident * 61) % 100 / 100
                y = int((f0 + f1 > 1) != (ident % 10 == 0))
                lines.append(f"{ident},{seg},{day},{f0:.2f},{f1:.2f},{y}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def query(db_path, sql):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def wait_http(url, timeout, daemon):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise AssertionError(f"mlcrond exited with {daemon.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                return json.loads(res.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def check(cond, message):
    if not cond:
        raise AssertionError(message)


# Everything the assertions need, read from the rendered DOM in one script call.
PAGE_SCRIPT = """
const texts = (sel) => [...document.querySelectorAll(sel)].map((n) => n.textContent);
return {
  timeline: texts('#timeline svg text.job-label'),
  tiers: [...document.querySelectorAll('#timeline svg text.tier-label')].map((n) => n.dataset.tier),
  runs: [...document.querySelectorAll('#runs-table tbody tr[data-run]')].map((tr) => ({
    id: Number(tr.dataset.run), job: tr.cells[1].textContent,
    status: tr.querySelector('.badge').textContent})),
  models: [...document.querySelectorAll('#models-table tbody tr[data-model]')].map((tr) => ({
    model: tr.dataset.model, segment: tr.dataset.segment, version: tr.cells[2].textContent,
    status: tr.querySelector('.badge').textContent})),
  charts: [...document.querySelectorAll('#model-charts .chart')].map((c) => ({
    model: c.dataset.model, segment: c.dataset.segment,
    points: [...c.querySelectorAll('g.version')].map((g) => ({
      version: Number(g.dataset.version), kind: g.dataset.kind,
      production: g.querySelector('.prod-ring') !== null}))})),
  banner: document.getElementById('error-banner').hidden,
};
"""


def run(args, work):
    state = os.path.join(work, "state")
    port = free_port()
    cfg = os.path.join(work, "mlcron.yaml")
    with open(cfg, "w") as f:
        f.write(config(port))
    with open(os.path.join(work, "features.sql"), "w") as f:
        f.write(FEATURES_SQL)

    # Days come in batches of 10: the first 20 through the CLI make a full version per segment,
    # each later batch a candidate (incremental: 50 new rows per segment) that the gate promotes
    # or rejects. The daemon retrains on the last batch.
    for days in (20, 30, 40):
        write_matches(os.path.join(work, "matches.csv"), days)
        r = subprocess.run([args.mlcron, "run", "--all", "-c", cfg], cwd=work,
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"mlcron run --all exited {r.returncode}:\n{r.stdout}{r.stderr}")
    before = query(os.path.join(state, "mlcron.db"), "SELECT max(id) FROM runs")[0][0]
    write_matches(os.path.join(work, "matches.csv"), 50)
    log = open(os.path.join(work, "mlcrond.log"), "wb")
    daemon = subprocess.Popen([args.mlcrond, "-c", cfg, "--run-now"], cwd=work, stdout=log,
                              stderr=subprocess.STDOUT)
    browser = None
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", 15, daemon)
        db = os.path.join(state, "mlcron.db")
        deadline = time.monotonic() + 60
        while True:
            done = query(db, f"SELECT job, status, id FROM runs WHERE id > {before} "
                             "AND status != 'running' ORDER BY id")
            if len(done) >= 4:
                break
            check(time.monotonic() < deadline, f"the daemon's runs did not finish: {done}")
            time.sleep(0.2)
        check([(j, s) for j, s, _ in done] == [("import_matches", "succeeded"), ("aggregate",
              "succeeded"), ("retrain_m", "succeeded"), ("report", "succeeded")],
              f"the daemon's runs: {done}")
        daemon_runs = {i: j for j, _, i in done}
        production = query(db, "SELECT segment, version_id FROM model_production "
                               "WHERE model = 'm' ORDER BY segment")
        versions = query(db, "SELECT segment, id, kind FROM model_versions WHERE model = 'm' "
                             "ORDER BY segment, id")
        check([s for s, _ in production] == ["A", "B"], f"production versions: {production}")
        check({k for _, _, k in versions} == {"full", "incremental"}, f"versions: {versions}")

        browser = ChromeDriver(args.chromedriver, args.chromium,
                               log_path=os.path.join(work, "chromedriver.log"))
        browser.get(base + "/?refresh=1")
        browser.wait_for("return document.body.dataset.state === 'ready'", 20, "the first render")
        page = browser.execute(PAGE_SCRIPT)

        check(page["tiers"] == list(TIERS), f"timeline tiers {page['tiers']}, want {list(TIERS)}")
        check(page["timeline"] == [j for jobs in TIERS.values() for j in jobs],
              f"timeline jobs {page['timeline']}, want {TIERS}")
        shown = {r["id"]: (r["job"], r["status"]) for r in page["runs"]}
        for run_id, job in daemon_runs.items():
            check(shown.get(run_id) == (job, "succeeded"),
                  f"run {run_id} ({job}) in the runs table: {shown.get(run_id)}; table {page['runs']}")
        check([(m["model"], m["segment"], m["version"], m["status"]) for m in page["models"]]
              == [("m", seg, f"v{v}", "production") for seg, v in production],
              f"models table {page['models']}, state database {production}")
        charts = {c["segment"]: c["points"] for c in page["charts"]}
        for seg, prod_id in production:
            want = [{"version": i, "kind": k, "production": i == prod_id}
                    for s, i, k in versions if s == seg]
            check(charts.get(seg) == want, f"chart of m [{seg}]: {charts.get(seg)}, want {want}")

        report_id = next(i for i, j in daemon_runs.items() if j == "report")
        browser.click(f'#runs-table tbody tr[data-run="{report_id}"]')
        browser.wait_for(f"const p = document.getElementById('log-text'); return "
                         f"p.dataset.run === '{report_id}' && p.textContent.includes("
                         f"{json.dumps(REPORT_LINE)})", 10, "the report run's log")
        check(not browser.execute("return document.getElementById('log-panel').hidden"),
              "log panel hidden after a click")
        browser.fit_height(1280)
        browser.screenshot(args.screenshot)
        print(f"screenshot: {args.screenshot}")

        # The page polls: once the daemon is gone the banner says so and the data stays.
        daemon.terminate()
        check(daemon.wait(timeout=20) == 0, f"mlcrond exited {daemon.returncode} on SIGTERM")
        banner = browser.wait_for(
            "const b = document.getElementById('error-banner'); return !b.hidden && b.textContent",
            10, "the error banner after mlcrond stopped")
        check("Cannot reach mlcrond" in banner, f"banner: {banner}")
        check(browser.execute(PAGE_SCRIPT)["runs"] == page["runs"], "runs vanished after the error")
    finally:
        if browser:
            browser.quit()
        if daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        log.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mlcrond", required=True)
    p.add_argument("--mlcron", required=True)
    p.add_argument("--screenshot", required=True)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    p.add_argument("--keep", help="work in this directory and keep it (for debugging)")
    args = p.parse_args()
    args.mlcrond, args.mlcron = os.path.abspath(args.mlcrond), os.path.abspath(args.mlcron)
    args.screenshot = os.path.abspath(args.screenshot)
    for tool in (args.chromium, args.chromedriver):
        if not os.access(tool, os.X_OK):
            print(f"status_page_test: {tool} is missing; scripts/bootstrap installs "
                  "chromium and chromium-driver", file=sys.stderr)
            return 1
    started = time.monotonic()
    work = args.keep or tempfile.mkdtemp(prefix="mlcron-web-")
    os.makedirs(work, exist_ok=True)
    ok = False
    try:
        run(args, work)
        ok = True
    except (AssertionError, WebDriverError, subprocess.SubprocessError, OSError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        for name in ("mlcrond.log", "chromedriver.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    print(f"--- {name} (last 40 lines)\n" + "".join(f.readlines()[-40:]),
                          file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"status page test {'passed' if ok else 'failed'} in {time.monotonic() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

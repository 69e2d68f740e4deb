"""The portal in a real browser: tests/browser/flows.mjs drives Debian's
Chromium (playwright-core) through every flow against the real binary and
runs axe-core on each main page at 360 and 1280 px. Screenshots of each
page at both widths go to $T9_SCREENSHOTS when it is set (outside the
repository)."""
import json
import os
import pathlib
import shutil
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]
BROWSER = REPO / "tests" / "browser"
CHROMIUM = "/usr/bin/chromium"


def ensure_node_modules():
    """playwright-core and axe-core at the versions package.json pins, installed
    beside it (gitignored), without a lockfile."""
    npm = shutil.which("npm")
    assert npm, "npm is missing (build.sh installs nodejs and npm)"
    want = json.loads((BROWSER / "package.json").read_text())["dependencies"]
    ok = True
    for name, version in want.items():
        pj = BROWSER / "node_modules" / name / "package.json"
        ok = ok and pj.exists() and json.loads(pj.read_text()).get("version") == version
    if not ok:
        r = subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund",
                            "--loglevel=error"], cwd=BROWSER, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr


def test_browser_flows_and_accessibility(t9server):
    assert os.path.exists(CHROMIUM), "chromium is missing (build.sh installs it)"
    ensure_node_modules()
    # Chromium opens several connections per context, four contexts at once.
    s = t9server(args=["--portal-bcrypt-cost=4", "--portal-rate-limit=1000",
                       "--portal-max-connections-per-address=256"])
    s.forbid("marina@example.org", "ivan@example.org")
    env = {k: v for k, v in os.environ.items() if not k.startswith("T9PHONE_")}
    env["T9_BASE"] = f"http://127.0.0.1:{s.portal_port}"
    env["HOME"] = str(s.tmp)  # Chromium's caches land in the test's folder
    r = subprocess.run(["node", str(BROWSER / "flows.mjs")], env=env, capture_output=True,
                       text=True, timeout=600, cwd=str(s.tmp))
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    assert lines, f"no result line\nstdout:\n{r.stdout}\nstderr:\n{r.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert r.returncode == 0 and result["ok"], json.dumps(result, indent=1) + r.stderr[-3000:]
    assert result["steps"] >= 50
    axe = result["axe"]
    assert axe["pages"] >= 24 and axe["violations"] == []
    print(f"browser: {result['steps']} checks, axe on {axe['pages']} page views: "
          f"0 serious or critical, {axe['minor']} minor")
    # The deleted account's email is gone from the database, its WAL and the log.
    s.stop()
    s.forbid_stored("ivan@example.org", "ivanov")

"""A minimal W3C WebDriver client over Python's standard library, enough to drive Debian's
chromedriver + headless chromium in the status-page test: a session, navigation, script
execution, element lookup and click, and screenshots. No selenium, no network at test time."""

import base64
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request


class WebDriverError(RuntimeError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromeDriver:
    """Starts chromedriver on a free loopback port and opens one headless chromium session."""

    def __init__(self, chromedriver, chromium, width=1280, height=1200, log_path=None):
        self.port = free_port()
        self._log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            [chromedriver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=self._log, stderr=subprocess.STDOUT)
        self._base = f"http://127.0.0.1:{self.port}"
        self.session = None
        deadline = time.monotonic() + 15
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.quit()
                raise WebDriverError("chromedriver did not become ready within 15 s")
            time.sleep(0.1)
        args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                f"--window-size={width},{height}", "--force-device-scale-factor=1"]
        # chromium refuses its sandbox as root (CI runs as root in a container).
        args.append("--no-sandbox")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}}}}
        try:
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except Exception:
            self.quit()
            raise

    def _call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self._base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                return json.loads(res.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            try:
                value = json.loads(e.read()).get("value", {})
                msg = f"{value.get('error')}: {value.get('message', '').splitlines()[0]}"
            except (ValueError, AttributeError, IndexError):
                msg = str(e)
            raise WebDriverError(f"{method} {path}: {msg}") from None

    def _s(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url):
        self._s("POST", "/url", {"url": url})

    def execute(self, script, *args):
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script, timeout, what):
        """Polls a script until it returns something truthy; returns that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.execute(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise WebDriverError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.1)

    def find(self, css):
        value = self._s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(value.values()))  # the W3C element reference

    def click(self, css):
        self._s("POST", f"/element/{self.find(css)}/click", {})

    def fit_height(self, width):
        """Makes the window as tall as the page, so one screenshot shows all of it."""
        # The window cannot outgrow headless chromium's screen, so the viewport is resized
        # through chromedriver's DevTools passthrough instead.
        height = self.execute("return document.documentElement.scrollHeight")
        self._s("POST", "/goog/cdp/execute", {
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": width, "height": int(height), "deviceScaleFactor": 1,
                       "mobile": False}})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self._s("GET", "/screenshot")))

    def quit(self):
        if self.session:
            try:
                self._s("DELETE", "")
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log is not subprocess.DEVNULL:
            self._log.close()

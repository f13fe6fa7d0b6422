"""The web console (/ui) in a real headless Chromium, against a real `berth up` (server and local agent).

The browser signs in with the admin key, opens cluster `default`, watches a service created with boto3 appear, opens
it, watches its task appear (the page is never reloaded: a marker set on `window` must survive), opens the task and
reads the line its container printed in the live log view, then looks at the container instances. A wrong key shows
the server's error on the sign-in screen. Screenshots go to $BERTH_TEST_ARTIFACTS (default tests/artifacts/).

Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium chromium-driver`); the tests are
skipped with that hint when they are missing, and fail instead when BERTH_REQUIRE_BROWSER=1 (CI). Selenium drives
/usr/bin/chromedriver directly: selenium-manager is kept offline and never downloads a browser or a driver.
"""

import os
import shutil
import uuid
from pathlib import Path

import pytest
import requests

from conftest import REPO, uniq
from test_tasks import IMAGE, instance, test_image, wait_until  # noqa: F401 (fixtures)

pytestmark = pytest.mark.berth_only

CHROMIUM = (os.environ.get("BERTH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
            or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("BERTH_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("BERTH_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
TIMEOUT = 60.0
# Exits 0 at once on SIGTERM (a bare `sleep` as PID 1 ignores it), so deleting the service is quick.
SLEEPER = "trap 'exit 0' TERM; sleep 3600 & wait"


# --- the browser ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver"
        if os.environ.get("BERTH_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    # selenium-manager must not look for (or download) anything: the driver and the browser are given explicitly.
    os.environ["SE_OFFLINE"] = "true"
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_window_size(1400, 900)
    yield driver
    driver.quit()


def js_errors(driver):
    """Severe messages from the page's console: uncaught exceptions, modules that failed to load. API calls that
    answer an error (the wrong keys above, a stream reconnecting) are logged as failed resources: those are the
    server's answers, shown on the page, not faults of the page."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"
            and "Failed to load resource: the server responded" not in e["message"]]


def shot(driver, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"console-{name}.png"
    assert driver.save_screenshot(str(path)), f"screenshot {path} not saved"
    return path


def find(driver, css, what=None, timeout=TIMEOUT, check=None):
    """Waits for an element matching `css` (and `check(element)` when given); returns it.

    The console redraws parts of the page as changes arrive, so an element found a moment ago may be gone: every
    try looks it up afresh.
    """
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def look():
        try:
            for el in driver.find_elements("css selector", css):
                if check is None or check(el):
                    return el
        except (NoSuchElementException, StaleElementReferenceException):
            return None
        return None

    return wait_until(what or css, look, timeout=timeout)


def click(driver, css, what=None, timeout=TIMEOUT):
    from selenium.common.exceptions import StaleElementReferenceException

    def attempt():
        try:
            find(driver, css, what, timeout=timeout).click()
            return True
        except StaleElementReferenceException:
            return False

    wait_until(f"click {what or css}", attempt, timeout=timeout)


def text_of(driver, css):
    from selenium.common.exceptions import StaleElementReferenceException
    try:
        return " ".join(el.text for el in driver.find_elements("css selector", css))
    except StaleElementReferenceException:
        return ""


def open_sign_in(driver, berth):
    driver.get(f"{berth.endpoint}/ui")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{berth.endpoint}/ui#/signin")
    return find(driver, "#access-key-id", "the sign-in form")


def sign_in(driver, berth, access_key_id, secret, region="us-east-1"):
    open_sign_in(driver, berth)
    submit_sign_in(driver, access_key_id, secret, region)


def submit_sign_in(driver, access_key_id, secret, region="us-east-1"):
    for field, value in (("#access-key-id", access_key_id), ("#secret-access-key", secret), ("#region", region)):
        el = driver.find_element("css selector", field)
        el.clear()
        el.send_keys(value)
    driver.find_element("css selector", "#signin-submit").click()


# --- tests ------------------------------------------------------------------------------------------------------

def test_console_files_are_served(berth):
    for path in ("/ui", "/ui/"):
        r = requests.get(berth.endpoint + path, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), (path, r.status_code)
        assert "/ui/app.js" in r.text
        # Nothing may come from elsewhere.
        assert "default-src 'none'" in r.headers["content-security-policy"]
    r = requests.get(berth.endpoint + "/ui/app.js", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache" and r.headers["etag"]
    again = requests.get(berth.endpoint + "/ui/app.js", headers={"If-None-Match": r.headers["etag"]}, timeout=10)
    assert again.status_code == 304
    assert requests.get(berth.endpoint + "/ui/style.css", timeout=10).headers["content-type"].startswith("text/css")
    for missing in ("/ui/nope.js", "/ui/a/b", "/ui/..%2FCargo.toml"):
        assert requests.get(berth.endpoint + missing, timeout=10).status_code == 404, missing


def test_wrong_key_shows_the_servers_error(berth, browser):
    open_sign_in(browser, berth)
    shot(browser, "sign-in")

    sign_in(browser, berth, "AKIAWRONGWRONGWRONG0", "not-the-secret")
    error = find(browser, "#signin-error", "the sign-in error", check=lambda el: el.is_displayed() and el.text)
    assert "UnrecognizedClientException" in error.text, error.text
    shot(browser, "sign-in-wrong-key")

    access_key_id, _ = berth.creds
    sign_in(browser, berth, access_key_id, "not-the-secret")
    error = find(browser, "#signin-error", "the sign-in error", check=lambda el: el.is_displayed() and el.text)
    assert "InvalidSignatureException" in error.text, error.text
    # Nothing was kept, and the page stays on the sign-in screen.
    assert browser.execute_script("return sessionStorage.getItem('berth.console.credentials')") is None
    assert browser.find_element("css selector", "#signin-form").is_displayed()
    assert not js_errors(browser)


def test_console_tour(berth, ecs, instance, browser):  # noqa: F811 (fixture)
    sign_in(browser, berth, *berth.creds)
    find(browser, '[data-testid="cluster-row"][data-name="default"]', "cluster default in the list")
    click(browser, '[data-testid="cluster-link-default"]', "the link to cluster default")
    find(browser, '[data-testid="cluster-screen"][data-cluster="default"]', "the cluster page")
    # Updates arrive over the event stream.
    find(browser, '[data-testid="live-status"][data-mode="live"]', "the event stream connected", timeout=20)

    # From here on the page is never reloaded: a reload would drop this marker.
    browser.execute_script("window.__consoleTest = 'same page'")
    marker = f"hello from the console test {uuid.uuid4().hex[:12]}"
    family = uniq("console")
    name = uniq("web")
    td = ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "app", "image": IMAGE, "memory": 32, "essential": True, "stopTimeout": 2,
        "command": ["sh", "-c", f"echo '{marker}'; {SLEEPER}"],
    }])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="default", serviceName=name, taskDefinition=td, desiredCount=1)
    try:
        # The new service shows up in the list by itself, then its page.
        click(browser, f'[data-testid="service-link-{name}"]', f"service {name} appearing in the list")
        find(browser, f'[data-testid="service-screen"][data-service="{name}"]', "the service page")
        find(browser, '[data-testid="deployment-row"][data-status="PRIMARY"]', "the service's deployment")
        find(browser, '[data-testid="chart-cpu"]', "the CPU chart")
        find(browser, '[data-testid="chart-memory"]', "the memory chart")

        # Its task appears and starts running, without a reload.
        row = find(browser, '[data-testid="task-row"][data-last-status="RUNNING"]', "a running task of the service")
        task_id = row.get_attribute("data-task-id")
        find(browser, '[data-testid="service-running"]', "running count 1", check=lambda el: el.text == "1")
        find(browser, '[data-testid="service-event"]', "a service event")
        assert browser.execute_script("return window.__consoleTest") == "same page", "the page was reloaded"
        shot(browser, "service")

        # The task's page: its container, then the line it printed in the live log view.
        click(browser, f'[data-testid="task-link-{task_id}"]', "the task's link")
        find(browser, f'[data-testid="task-screen"][data-task-id="{task_id}"]', "the task page")
        find(browser, '[data-testid="container-row"][data-name="app"][data-last-status="RUNNING"]', "container app")
        find(browser, '[data-testid="log-view"][data-container="app"] [data-testid="log-line"]',
             f"{marker!r} in the log view", check=lambda el: marker in el.text)
        shot(browser, "task-logs")

        # The container instances with their resource bars: the task holds 32 MiB of the host's memory.
        click(browser, '[data-testid="crumb-cluster"]', "the cluster breadcrumb")
        click(browser, '[data-testid="tab-link-instances"]', "the instances tab")
        find(browser, '[data-testid="instance-row"][data-connected="true"]', "a connected instance")
        find(browser, '[data-testid="bar-memory"]', "memory bar showing the task's reservation",
             check=lambda el: int(el.get_attribute("data-used")) >= 32)
        find(browser, '[data-testid="bar-cpu"]', "the CPU bar")
        shot(browser, "instances")
        assert browser.execute_script("return window.__consoleTest") == "same page", "the page was reloaded"
        assert not js_errors(browser)
    except BaseException:
        shot(browser, "tour-failure")  # what the page showed when the test gave up
        raise
    finally:
        ecs.delete_service(cluster="default", service=name, force=True)
        wait_until("the service's tasks stopped", lambda: not ecs.list_tasks(
            cluster="default", serviceName=name, desiredStatus="RUNNING")["taskArns"], timeout=TIMEOUT)


def test_sign_out_returns_to_sign_in(berth, browser):
    sign_in(browser, berth, *berth.creds)
    click(browser, "#signout", "sign out")
    find(browser, "#signin-form", "the sign-in form")
    assert browser.execute_script("return sessionStorage.getItem('berth.console.credentials')") is None
    # Any route leads to sign-in without credentials, and there after signing in.
    browser.get(f"{berth.endpoint}/ui#/clusters/default/instances")
    find(browser, "#signin-form", "the sign-in form")
    submit_sign_in(browser, *berth.creds)
    find(browser, '[data-testid="cluster-screen"][data-cluster="default"]', "the linked cluster page after sign-in")
    find(browser, '[data-testid="instance-row"]', "the linked instances tab")


def test_reconnects_after_a_server_restart(server_factory, browser):
    """The event stream drops when the server restarts; the console reconnects (since=<last id>) and keeps updating."""
    srv = server_factory()
    ecs = srv.client()
    sign_in(browser, srv, *srv.creds)
    find(browser, '[data-testid="cluster-row"]', "the clusters list")
    find(browser, '[data-testid="live-status"][data-mode="live"]', "the event stream connected", timeout=20)
    browser.execute_script("window.__consoleTest = 'same page'")

    srv.restart()
    name = uniq("after-restart")
    ecs.create_cluster(clusterName=name)
    find(browser, f'[data-testid="cluster-row"][data-name="{name}"]', "a cluster created after the restart", timeout=30)
    find(browser, '[data-testid="live-status"][data-mode="live"]', "the event stream connected again", timeout=20)
    assert browser.execute_script("return window.__consoleTest") == "same page", "the page was reloaded"

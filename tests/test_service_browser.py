"""The service in a real browser (headless Chromium from Debian driven by Selenium through
Debian's chromedriver; nothing is downloaded): a student signs in, uploads a notebook, waits
for the result and reads the feedback; a second student cannot open that attempt; a TA
regrades and downloads the gradebook. Every page is screenshotted and the screenshot checked."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import solution_text
from PIL import Image
from service_support import _free_port, make_harness, wait_for
from test_service_queue import kill_group, start_serve

A2 = "a2_softmax"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser_binaries() -> None:
    if CHROMIUM.is_file() and CHROMEDRIVER.is_file():
        return
    message = ("Chromium and chromedriver are not installed: run `make setup` (apt-get install "
               "chromium chromium-driver) to run the browser tests")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(f"SKIPPED BROWSER TEST: {message}")


def new_browser(downloads: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def shoot(driver, folder: Path, name: str, expect_error: bool = False) -> Path:
    """Save a screenshot and check that it shows a page: a real image with many colours, a
    title that is (or, when expected, is not) an error, and no traceback."""
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    image = Image.open(path).convert("RGB")
    assert image.size[0] >= 800 and image.size[1] >= 600
    assert len(image.getcolors(1 << 20) or []) > 20, f"{name}: the screenshot is blank"
    assert driver.title.startswith("Error") == expect_error, f"{name}: title {driver.title!r}"
    assert "Traceback" not in driver.page_source
    return path


def text_of(driver, element_id: str) -> str:
    """The element's text; "" while the page is reloading (it refreshes itself)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.ID, element_id).text
    except WebDriverException:
        return ""


def done_jobs(svc) -> int:
    from grader.service.models import Job

    with svc.service.sessions() as db:
        return db.query(Job).filter(Job.status == "done").count()


def sign_in(driver, base: str, login: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "login").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(f"{login}-secret-pw")
    driver.find_element(By.ID, "sign-in").click()
    wait_for(lambda: "/login" not in driver.current_url, 20, f"{login} to be signed in")


def test_student_upload_feedback_isolation_and_ta_regrade_in_a_browser(tmp_path,
                                                                       browser_binaries):
    from selenium.webdriver.common.by import By

    url = f"sqlite:///{tmp_path / 'grader.db'}"
    svc = make_harness(tmp_path, url, sandbox="bwrap")
    env = {**os.environ, "GRADER_DATABASE_URL": url,
           "GRADER_SERVICE_DATA": str(svc.service.paths.root)}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    shots, downloads = tmp_path / "screenshots", tmp_path / "downloads"
    shots.mkdir()
    downloads.mkdir()
    notebook = tmp_path / "softmax_solution.ipynb"
    notebook.write_text(json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                   "source": solution_text(A2)}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    proc = start_serve(svc.course.path, env, port, tmp_path / "serve.log")
    driver = new_browser(downloads)
    try:
        sign_in(driver, base, "alice")
        driver.get(f"{base}/assignments/{A2}")
        shoot(driver, shots, "1-assignment")
        driver.find_element(By.ID, "file").send_keys(str(notebook))
        driver.find_element(By.ID, "upload").click()
        wait_for(lambda: "/attempts/" in driver.current_url, 30, "the upload to be received")
        attempt_url = driver.current_url
        # The page refreshes itself (no script: a meta refresh) until the result is in.
        wait_for(lambda: text_of(driver, "status") not in ("", "queued", "running"), 180,
                 "the result")
        assert text_of(driver, "status") == "ok"
        feedback = text_of(driver, "feedback")
        assert "30 / 30" in feedback and "softmax" in feedback
        shoot(driver, shots, "2-feedback")

        sign_in(driver, base, "bob")
        driver.get(attempt_url)
        assert "no such submission" in driver.page_source and "30 / 30" not in \
            driver.page_source
        shoot(driver, shots, "3-other-student", expect_error=True)

        sign_in(driver, base, "tara")
        driver.get(f"{base}/staff/{A2}")
        assert "1 results" in driver.page_source
        shoot(driver, shots, "4-dashboard")
        driver.find_element(By.ID, "regrade-all").click()
        # The click returns before the answer's page is loaded on a busy machine.
        wait_for(lambda: "Queued 1 regrades" in driver.page_source, 30,
                 "the page saying the regrade was queued")
        shoot(driver, shots, "5-regrade-queued")
        driver.get(attempt_url)
        wait_for(lambda: done_jobs(svc) == 2, 180, "the regrade")
        driver.get(f"{base}/staff/{A2}")
        driver.find_element(By.ID, "gradebook").click()
        book = downloads / f"{A2}_gradebook.csv"
        wait_for(book.is_file, 30, "the gradebook download")
        time.sleep(0.5)
        assert any(line.startswith("alice,30,") for line in book.read_text().splitlines())
    finally:
        driver.quit()
        kill_group(proc)
    keep = os.environ.get("GRADER_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)

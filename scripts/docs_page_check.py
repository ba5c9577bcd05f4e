#!/usr/bin/env python3
"""Loads Socle's /docs in headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium from PyPI) as a person would: waits for
the operations to be listed, prints them, then opens `GET /status`, sends
it and prints the answer the page shows, and does the same for an
authenticated operation with the credentials typed into the page.

Usage: docs_page_check.py BASE_URL USER PASSWORD
Prints a JSON object: {"operations": [...], "status": {...}, "ehrs": {...}}.
"""
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def driver():
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def try_operation(browser, label, values):
    """Opens the operation, fills its inputs by name, sends it, returns what the page shows."""
    operation = browser.find_element(By.CSS_SELECTOR, f'details.op[data-operation="{label}"]')
    operation.find_element(By.TAG_NAME, "summary").click()
    for name, value in values.items():
        field = operation.find_element(By.CSS_SELECTOR, f'input[data-name="{name}"]')
        field.clear()
        field.send_keys(value)
    operation.find_element(By.CSS_SELECTOR, "button.send").click()
    output = operation.find_element(By.CSS_SELECTOR, "pre.response")
    WebDriverWait(browser, 20).until(lambda _: output.get_attribute("data-status"))
    return {"status": int(output.get_attribute("data-status")), "text": output.text}


def main():
    base, user, password = sys.argv[1:4]
    browser = driver()
    try:
        browser.get(base.rstrip("/") + "/docs")
        WebDriverWait(browser, 30).until(
            lambda b: b.find_element(By.ID, "operations").get_attribute("data-operations"))
        operations = [e.get_attribute("data-operation") for e in browser.find_elements(By.CSS_SELECTOR, "details.op")]
        status = try_operation(browser, "GET /status", {})
        browser.find_element(By.ID, "user").send_keys(user)
        browser.find_element(By.ID, "password").send_keys(password)
        ehrs = try_operation(browser, "POST /openehr/v1/ehr", {"Prefer": "return=representation"})
        print(json.dumps({"operations": operations, "status": status, "ehrs": ehrs}))
    finally:
        browser.quit()


if __name__ == "__main__":
    main()

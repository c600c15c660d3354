import pytest

from tests.conftest import screenshot


@pytest.mark.django_db(transaction=True)
def test_a_visitor_signs_up_logs_in_and_reads_the_navigation_in_chinese(browser, live_server_process):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server_process}/accounts/signup/")
    page.fill("input[name=email]", "phone@example.com")
    page.fill("input[name=password1]", "a-long-passphrase-9")
    page.fill("input[name=password2]", "a-long-passphrase-9")
    screenshot(page, "signup-phone-en")
    page.click("form button[type=submit]:not([name])")
    page.wait_for_url("**/today/")
    page.click("form[action='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=login]", "phone@example.com")
    page.fill("input[name=password]", "a-long-passphrase-9")
    page.click("form button[type=submit]:not([name])")
    page.wait_for_url("**/today/")
    assert page.locator("nav.mainnav").inner_text().split() == ["Today", "Courses", "Tutor", "Progress", "Team"]
    screenshot(page, "today-phone-en")

    page.click("button[name=language][value=zh-hans]")
    page.wait_for_load_state()
    assert page.locator("nav.mainnav").inner_text().split() == ["今天", "课程", "导师", "进度", "团队"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing overflows a phone screen"
    screenshot(page, "today-phone-zh")

    desktop = browser.new_page(viewport={"width": 1280, "height": 800})
    desktop.goto(f"{live_server_process}/accounts/login/")
    screenshot(desktop, "login-desktop")

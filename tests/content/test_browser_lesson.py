import shutil
from pathlib import Path

from content import services
from tests.conftest import screenshot

SHIPPED = Path(services.SHIPPED_COURSES) / "llm-basics"


def test_the_lesson_page_reads_well_on_a_phone_in_english_and_chinese(live_server_process, browser, alice, tmp_path):
    for name in ["course.yaml", "10-lora-and-matrix-rank.en.md", "10-lora-and-matrix-rank.zh.md"]:
        shutil.copy(SHIPPED / name, tmp_path / name)
    services.shipped_course_load(folder=tmp_path)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server_process}/accounts/login/")
    page.fill("input[name=login]", "alice@example.com")
    page.fill("input[name=password]", "pw-alice-123")
    page.click("form button[type=submit]:not([name])")
    page.wait_for_url(lambda url: "/accounts/login" not in url)

    for lang in ["en", "zh-hans"]:
        page.goto(f"{live_server_process}/courses/llm-basics/lora-and-matrix-rank/?lang={lang}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("abbr.concept").first.focus()
        screenshot(page, f"content-lesson-phone-{lang}")
        # The first screen as the learner sees it, with a concept's definition open as after a tap.
        page.screenshot(path=str(screenshot(page, f"content-lesson-phone-{lang}-top").with_suffix(".png")))
        # The LoRA diagram loads from the course's diagram view and fits the phone's width.
        diagram = page.locator("figure.diagram img").first
        diagram.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=diagram.element_handle())
        box = diagram.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] > 100
        assert diagram.get_attribute("alt")
        page.screenshot(path=str(screenshot(page, f"content-lesson-phone-{lang}-diagram").with_suffix(".png")))
    page.click("#read-button button")
    page.wait_for_selector("#read-button .read-badge")

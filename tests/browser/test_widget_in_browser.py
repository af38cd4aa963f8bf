"""Both embeds in a real Chromium, on a blog served from another origin with hostile CSS."""
from __future__ import annotations

import json
import re
from urllib.request import urlopen

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails under CI) with the reason
    expect = None

from tests.browser.conftest import HIROSHIMA, XSS_TITLE

IFRAME_TITLES = ".t"
SCRIPT_WIDGET = "#script-embed [data-afterimage-widget]"
TAG_WIDGET = "#script-embed-tag [data-afterimage-widget]"


def api(site, path: str) -> dict:
    """A JSON answer of the live site's API."""
    with urlopen(f"{site.url}/api/v1/{path}") as response:
        return json.load(response)


def open_blog(watched, host):
    """Load the host blog and wait until both kinds of widget have rendered their recommendations."""
    page = watched.page
    page.goto(host)
    page.frame_locator("#frame").locator(IFRAME_TITLES).first.wait_for()
    page.locator(f"{SCRIPT_WIDGET} .t").first.wait_for()
    page.locator(f"{TAG_WIDGET} .t").first.wait_for()
    return page


def test_the_iframe_widget_shows_the_recommendations_the_api_gives(watched, site, host):
    page = open_blog(watched, host)
    expected = [r["item"]["title"] for r in api(site, f"items/{HIROSHIMA}/recommendations")["recommendations"]]
    shown = page.frame_locator("#frame").locator(IFRAME_TITLES).all_text_contents()
    assert shown == expected
    assert page.frame_locator("#frame").locator(".title").inner_text() == "Hiroshima mon amour"


def test_the_script_widget_renders_in_a_shadow_root_what_the_api_gives(watched, site, host):
    page = open_blog(watched, host)
    expected = [r["item"]["title"] for r in api(site, f"items/{site.xss_slug}/recommendations")["recommendations"]]
    assert page.locator(f"{SCRIPT_WIDGET} .t").all_text_contents() == expected
    assert page.locator(SCRIPT_WIDGET).evaluate("host => host.shadowRoot !== null && host.shadowRoot.mode === 'open'")


def test_several_script_widgets_on_one_page_each_render_with_their_own_options(watched, site, host):
    page = open_blog(watched, host)
    assert page.locator("[data-afterimage-widget]").count() == 2
    expected = [r["item"]["title"] for r in api(site, "tags/korean-cinema?kind=book&limit=2")["recommendations"]]
    assert page.locator(f"{TAG_WIDGET} .t").all_text_contents() == expected
    assert page.locator(f"{TAG_WIDGET} h2").all_text_contents() == ["Read"]


def test_every_widget_link_opens_the_site_in_a_new_tab(watched, site, host):
    page = open_blog(watched, host)
    frame_links = page.frame_locator("#frame").locator("a")
    script_links = page.locator(f"{SCRIPT_WIDGET} a")
    for links in (frame_links, script_links):
        assert links.count() > 3
        for i in range(links.count()):
            link = links.nth(i)
            assert link.get_attribute("href").startswith(site.url + "/")
            assert link.get_attribute("target") == "_blank"
            assert link.get_attribute("rel") == "noopener"
    with page.context.expect_page() as opened:
        script_links.nth(3).click()
    new_tab = opened.value
    new_tab.wait_for_load_state()
    assert new_tab.url.startswith(f"{site.url}/items/")


def style_of(locator, *properties: str) -> dict:
    """Computed style values of an element."""
    return locator.evaluate(
        "(e, names) => Object.fromEntries(names.map(n => [n, getComputedStyle(e).getPropertyValue(n)]))",
        list(properties),
    )


def test_the_host_pages_hostile_css_changes_neither_widget(watched, host):
    page = open_blog(watched, host)
    assert style_of(page.locator("h1"), "color")["color"] == "rgb(255, 0, 0)", "the hostile CSS is in force"
    for title in (page.frame_locator("#frame").locator(".t").first, page.locator(f"{SCRIPT_WIDGET} .t").first):
        style = style_of(title, "color", "font-size", "font-family", "letter-spacing")
        assert style["color"] != "rgb(255, 0, 0)"
        assert style["font-size"] == "13px"
        assert "Comic Sans" not in style["font-family"]
        assert style["letter-spacing"] == "normal"
        link = title.locator("xpath=..")
        assert style_of(link, "display")["display"] == "block"
        assert title.is_visible()
    cover = page.locator(f"{SCRIPT_WIDGET} .cv img").first
    assert style_of(cover, "display")["display"] == "block"


def test_script_options_set_theme_and_accent_inside_the_shadow_root(watched, host):
    page = open_blog(watched, host)
    assert style_of(page.locator(f"{SCRIPT_WIDGET} .aw"), "background-color")["background-color"] == "rgb(23, 22, 26)"
    assert style_of(page.locator(f"{SCRIPT_WIDGET} h2").first, "color")["color"] == "rgb(51, 102, 153)"


def test_a_title_with_markup_renders_as_text_and_runs_nothing(watched, site, host):
    page = open_blog(watched, host)
    page.wait_for_timeout(500)
    assert page.locator(f"{SCRIPT_WIDGET} .title").inner_text() == XSS_TITLE
    assert XSS_TITLE in page.frame_locator("#frame").locator(IFRAME_TITLES).all_text_contents()
    makers = page.locator(f"{SCRIPT_WIDGET} .sub").inner_text()
    assert "<b onmouseover=alert(2)>Bold</b>" in makers
    assert page.locator('img[src="x"], b').count() == 0
    assert page.frame_locator("#frame").locator('img[src="x"], b').count() == 0
    assert watched.dialogs == []


def test_the_iframe_fits_its_content_where_the_host_runs_the_listener(watched, host):
    page = open_blog(watched, host)
    page.wait_for_function("document.getElementById('frame').style.height !== ''")
    content = page.frame_locator("#frame").locator(".aw").evaluate("e => Math.ceil(e.getBoundingClientRect().height)")
    assert page.locator("#frame").evaluate("f => f.getBoundingClientRect().height") == content


def test_the_blog_page_logs_no_errors_and_keeps_screenshots(watched, host, artifacts):
    page = open_blog(watched, host)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "widgets-on-a-foreign-blog.png"), full_page=True)
    page.locator("#frame").screenshot(path=str(artifacts / "widget-iframe.png"))
    page.locator(SCRIPT_WIDGET).screenshot(path=str(artifacts / "widget-script.png"))
    assert watched.console_errors == []
    assert (artifacts / "widgets-on-a-foreign-blog.png").stat().st_size > 1000


def test_a_widget_for_a_missing_item_says_so_inside_the_widget_even_from_the_head(watched, site):
    page = watched.page
    page.set_content(
        f'<html><head><script src="{site.url}/widget.js" data-item="no-such-item"></script></head>'
        '<body><p>A post</p></body></html>'
    )
    message = page.locator("[data-afterimage-widget] .empty")
    message.wait_for()
    page.wait_for_function(
        "() => !document.querySelector('[data-afterimage-widget]').shadowRoot.textContent.includes('Loading')"
    )
    assert message.inner_text().startswith("Recommendations are unavailable: No item with the slug")


def test_the_embed_panel_updates_code_and_preview_as_options_change(browser, site):
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page = context.new_page()
    errors: list[str] = []
    # The site has no favicon (not the widget's business); any other error counts.
    page.on("console", lambda m: m.type == "error" and "favicon" not in m.location.get("url", "") and errors.append(m.text))
    page.goto(f"{site.url}/test/embed-panel")
    panel = page.locator("[data-embed-panel]")
    panel.locator("select[name=theme]").select_option("dark")
    panel.locator("input[name=compact]").check()
    panel.locator("input[name=limit]").fill("3")
    iframe_code = panel.locator('[data-code="iframe"]').input_value()
    assert f'src="{site.url}/widget/items/{HIROSHIMA}?limit=3&amp;theme=dark&amp;compact=1" width="560" height="400"' in iframe_code
    assert 'e.origin!=="' + site.url + '"' in iframe_code
    script_code = panel.locator('[data-code="script"]').input_value()
    assert script_code == (
        f'<script src="{site.url}/widget.js" data-item="{HIROSHIMA}" data-limit="3" data-theme="dark" data-compact="1" async></script>'
    )
    # The site's CSP forbids eval, so wait through locators rather than wait_for_function.
    expect(page.locator(".embed-preview")).to_have_attribute("src", re.compile("theme=dark"))
    page.frame_locator(".embed-preview").locator(".aw.dark.compact").wait_for()
    copy = panel.locator(".embed-copy").nth(1)
    assert copy.is_visible()
    copy.click()
    expect(panel.locator(".embed-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == script_code
    assert errors == []
    context.close()


def test_every_card_shows_its_reason_without_hover(watched, site, host):
    page = open_blog(watched, host)
    page.mouse.move(0, 0)
    expected = [r["reasons"][0] for r in api(site, f"items/{HIROSHIMA}/recommendations")["recommendations"]]
    for reasons in (page.frame_locator("#frame").locator(".why"), page.locator(f"{SCRIPT_WIDGET} .why")):
        assert reasons.count() >= 3
        for i in range(reasons.count()):
            box = reasons.nth(i).evaluate(
                "e => ({opacity: getComputedStyle(e).opacity, height: e.getBoundingClientRect().height,"
                " visibility: getComputedStyle(e).visibility})"
            )
            assert box == {"opacity": "1", "height": box["height"], "visibility": "visible"} and box["height"] > 0
    assert page.frame_locator("#frame").locator(".why").all_text_contents() == expected


# Words (between spaces and hyphens) of card titles that are split across lines although they would fit
# on one: a title wraps between words, and breaks inside a word only when the word is wider than the card.
WORDS_SPLIT_ACROSS_LINES = """titles => titles.flatMap(t => {
  const text = t.firstChild, split = [], range = document.createRange(), width = t.getBoundingClientRect().width;
  for (const m of text.data.matchAll(/[^\\s-]+-?/g)) {
    range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
    const rects = [...range.getClientRects()];
    const tops = new Set(rects.map(r => Math.round(r.top)));
    if (tops.size > 1 && rects.reduce((sum, r) => sum + r.width, 0) <= width) split.push(m[0]);
  }
  return split;
})"""


def test_card_titles_wrap_between_words_and_stop_at_two_lines(watched, host):
    page = open_blog(watched, host)
    for width in (1000, 390, 360):
        page.set_viewport_size({"width": width, "height": 1400})
        for titles in (page.frame_locator("#frame").locator(".t"), page.locator(f"{SCRIPT_WIDGET} .t")):
            assert titles.evaluate_all(WORDS_SPLIT_ACROSS_LINES) == [], width
            for i in range(titles.count()):
                lines = titles.nth(i).evaluate(
                    "e => Math.round(e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight))"
                )
                assert 1 <= lines <= 2


LOOK = ("display", "font-size", "font-weight", "font-style", "line-height", "color", "-webkit-line-clamp",
        "text-decoration-line", "overflow-wrap", "hyphens")


def test_the_script_widget_and_the_iframe_look_the_same(watched, host):
    # Both in the auto theme with the default accent: the iframe and the tag's script widget.
    page = open_blog(watched, host)
    frame, script = page.frame_locator("#frame"), page.locator(TAG_WIDGET)
    for selector in (".aw", ".eyebrow", ".title a", ".sub", "h2", ".t", ".m", ".why", ".foot", ".foot a"):
        in_frame, in_script = frame.locator(selector).first, script.locator(selector).first
        assert style_of(in_frame, *LOOK) == style_of(in_script, *LOOK), selector

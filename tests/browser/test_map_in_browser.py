"""The collection map in a real Chromium: the canvas draws every point, a point's title shows on hover, a click
opens its item, and the page fits a phone."""
from __future__ import annotations

import pytest

from tests.browser.test_accessibility_axe import axe_source

# The JS of the page finds an item whose point stands alone (no other within 14 px), so a click hits only it.
LONE_POINT = """() => {
  const map = window.afterimageMap, box = document.querySelector('.map-canvas').getBoundingClientRect();
  const slugs = [...document.querySelectorAll('.map-group a')].map(a => a.getAttribute('href').split('/').pop());
  const points = slugs.map(s => [s, map.screenPoint(decodeURIComponent(s))]).filter(p => p[1]);
  for (const [slug, [x, y]] of points) {
    if (x < 20 || y < 20 || x > box.width - 20 || y > box.height - 20) continue;
    if (points.every(([other, [ox, oy]]) => other === slug || Math.hypot(ox - x, oy - y) > 14))
      return {slug, x: box.left + x, y: box.top + y};
  }
  return null;
}"""
PAINTED = """() => {
  const canvas = document.querySelector('.map-canvas');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted;
}"""


def test_the_canvas_draws_the_points_and_a_click_opens_the_item(watched, site):
    page = watched.page
    page.goto(site.url + "/map")
    page.wait_for_selector(".map-canvas[data-points]")
    listed = page.locator(".map-group a").count()
    assert page.get_attribute(".map-canvas", "data-points") == str(listed) and listed > 50
    assert page.evaluate(PAINTED) > 500
    target = page.evaluate(LONE_POINT)
    assert target, "no point stands alone on the map"
    page.mouse.move(target["x"], target["y"])
    title = page.locator(f'.map-group a[href="/items/{target["slug"]}"]').inner_text()
    assert page.locator(".map-tooltip").inner_text() == title
    page.mouse.click(target["x"], target["y"])
    page.wait_for_url(f"{site.url}/items/{target['slug']}")
    assert watched.console_errors == []


def test_the_map_fits_a_phone_and_zooms_with_a_pinch(browser, site):
    context = browser.new_context(viewport={"width": 390, "height": 800}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(site.url + "/map")
    page.wait_for_selector(".map-canvas[data-points]")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    box = page.locator(".map-canvas").bounding_box()
    assert box["width"] <= 390
    target = page.evaluate(LONE_POINT)
    before = page.evaluate(f"window.afterimageMap.screenPoint({target['slug']!r})")
    # Two fingers moving apart about the canvas's centre: the point moves away from the centre.
    centre = (box["width"] / 2, box["height"] / 2)
    page.evaluate("""([cx, cy]) => {
      const canvas = document.querySelector('.map-canvas'), box = canvas.getBoundingClientRect();
      const send = (type, id, x) => canvas.dispatchEvent(new PointerEvent(type, {pointerId: id, pointerType: 'touch',
        clientX: box.left + x, clientY: box.top + cy, bubbles: true, isPrimary: id === 1}));
      send('pointerdown', 1, cx - 20); send('pointerdown', 2, cx + 20);
      for (let step = 1; step <= 10; step++) { send('pointermove', 1, cx - 20 - 8 * step); send('pointermove', 2, cx + 20 + 8 * step); }
      send('pointerup', 1, cx - 100); send('pointerup', 2, cx + 100);
    }""", list(centre))
    after = page.evaluate(f"window.afterimageMap.screenPoint({target['slug']!r})")
    spread = lambda p: abs(p[0] - centre[0]) + abs(p[1] - centre[1])  # noqa: E731
    assert spread(after) > 3 * spread(before)
    assert page.url == site.url + "/map"
    context.close()


@pytest.mark.parametrize("scheme, width", [("light", 1280), ("dark", 390)])
def test_the_drawn_map_has_no_axe_violation(browser, site, artifacts, scheme, width):
    context = browser.new_context(bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(site.url + "/map")
    page.wait_for_selector(".map-canvas[data-points]")
    page.screenshot(path=str(artifacts / f"map-{scheme}-{width}.png"))
    page.add_script_tag(path=axe_source())
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]
    context.close()
    assert [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}" for v in found] == []

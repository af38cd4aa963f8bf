"""The share link of a liked set: /liked?items=a,b shows that set and its recommendations, whatever the cookie says."""
from __future__ import annotations

import re
from urllib.parse import unquote

from tests.fixtures_html import linked_slugs

HIROSHIMA = "hiroshima-mon-amour-1959"
VEGETARIAN = "the-vegetarian-2007"
SHARED = [HIROSHIMA, VEGETARIAN]
# The visitor's own set, in their cookie: far from the shared one, so its recommendations differ.
OWN = ["jaws-1975", "alien-1979"]
PAGE_LIMIT = 10  # recommendations per kind on /liked


def liked_page(client, url: str) -> dict[str, list[str]]:
    """What /liked shows: the chosen items, then the films and books recommended for them."""
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if 'class="grid"' not in html:
        return {"chosen": [], "film": [], "book": []}
    return {
        "chosen": linked_slugs(html, "grid"),
        "film": linked_slugs(html, 'aria-labelledby="recs-watch"'),
        "book": linked_slugs(html, 'aria-labelledby="recs-read"'),
    }


def api_set(client, slugs: list[str]) -> dict[str, list[str]]:
    """What the API recommends for the same set, per kind."""
    answer = {"chosen": None}
    for kind in ("film", "book"):
        body = client.get(f"/api/v1/recommendations?liked={','.join(slugs)}&kind={kind}&limit={PAGE_LIMIT}").get_json()
        answer["chosen"] = [i["slug"] for i in body["liked"]]
        answer[kind] = [r["item"]["slug"] for r in body["recommendations"]]
    return answer


def with_cookie(client, slugs: list[str]):
    """The client as a reader whose browser remembers this liked set."""
    client.set_cookie("liked", ",".join(slugs))
    return client


def test_the_share_link_shows_exactly_the_shared_set_and_its_recommendations(demo_client):
    shown = liked_page(demo_client, f"/liked?items={','.join(SHARED)}")
    assert shown["chosen"] == SHARED
    assert shown["film"] and shown["book"]
    assert shown == api_set(demo_client, SHARED)


def test_the_share_link_wins_over_the_readers_own_set(demo_client):
    own = liked_page(with_cookie(demo_client, OWN), "/liked")
    assert own["chosen"] == OWN
    shared = liked_page(demo_client, f"/liked?items={','.join(SHARED)}")
    assert shared["chosen"] == SHARED
    assert shared == api_set(demo_client, SHARED)
    assert shared["film"] != own["film"] and shared["book"] != own["book"]


def test_the_share_link_skips_unknown_slugs(demo_client):
    with_cookie(demo_client, OWN)
    shown = liked_page(demo_client, f"/liked?items={HIROSHIMA},no-such-item-1900,,{VEGETARIAN},%3Cb%3E")
    assert shown == api_set(demo_client, SHARED)
    api = demo_client.get(f"/api/v1/recommendations?liked={HIROSHIMA},no-such-item-1900").get_json()
    assert api["unknown"] == ["no-such-item-1900"]


def test_a_share_link_naming_nothing_known_does_not_show_the_readers_own_set(demo_client):
    with_cookie(demo_client, OWN)
    assert liked_page(demo_client, "/liked?items=no-such-item-1900")["chosen"] == []


def test_the_link_offered_for_sharing_gives_a_friend_the_same_page(demo_app, demo_client):
    html = with_cookie(demo_client, SHARED).get("/liked").get_data(as_text=True)
    link = re.search(r'href="(/liked\?items=[^"]+)">Link to share this set', html).group(1)
    assert unquote(link) == f"/liked?items={','.join(SHARED)}"
    friend = demo_app.test_client()
    assert liked_page(friend, link) == liked_page(demo_client, "/liked") == api_set(friend, SHARED)

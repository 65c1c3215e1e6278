"""The signing pad in a real browser: what it posts, and how it behaves under mouse, touch, pen
and keyboard (SPEC section 2 and 6).

A tiny Starlette app serves ``_pad.html`` inside a form, with the real static files and a strict
Content-Security-Policy, and records what the form posts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pytest
from browser_server import wait_until
from replay import Point, Stroke, load_svc2004_strokes, replay_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from support.data import svc2004_path
from support.server import serve_app

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page

pytestmark = pytest.mark.browser

WEB = Path(__file__).resolve().parents[2] / "authature" / "web"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'self'; "
    "base-uri 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign</title>
<link rel="stylesheet" href="/static/authature.css">
<link rel="stylesheet" href="/test.css">
<script src="/static/signature-pad.js" defer></script>
</head>
<body>
<main class="card">
  <h1>Sign to continue</h1>
  <p class="status" data-testid="status" role="status" aria-live="polite">Signature 1 of 3</p>
  <form method="post" action="/submit?delay={{ delay }}" data-signature-form>
    <input type="hidden" name="nonce" value="nonce-123">
    <div class="field">
      <label for="identifier">E-mail</label>
      <input id="identifier" name="identifier" type="email" autocomplete="email">
    </div>
    {% include "_pad.html" %}
  </form>
  {% if tall %}<div class="tall">Below the pad</div>{% endif %}
</main>
</body>
</html>
"""

FRAME_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host</title>
<link rel="stylesheet" href="/test.css"></head>
<body><h1>Shop</h1><iframe class="overlay" src="/" title="Authature"></iframe></body></html>
"""

TEST_CSS = """
.tall { height: 3000px; }
.overlay { width: 480px; height: 600px; border: 0; }
"""


@dataclass
class PadSite:
    base_url: str
    posts: list[dict[str, str]] = field(default_factory=list)


def _pad_app(site: PadSite) -> Starlette:
    templates = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.DictLoader({"page.html": PAGE}),
                jinja2.FileSystemLoader(WEB / "templates"),
            ]
        ),
        autoescape=True,
    )

    def secured(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        return response

    async def page(request: Request) -> Response:
        html = templates.get_template("page.html").render(
            tall=request.query_params.get("tall") == "1",
            delay=request.query_params.get("delay", "0"),
            submit_label="Sign",
        )
        return secured(HTMLResponse(html))

    async def frame(request: Request) -> Response:
        return secured(HTMLResponse(FRAME_PAGE))

    async def test_css(request: Request) -> Response:
        return secured(PlainTextResponse(TEST_CSS, media_type="text/css"))

    async def submit(request: Request) -> Response:
        form = await request.form()
        site.posts.append({key: str(value) for key, value in form.items()})
        await asyncio.sleep(float(request.query_params.get("delay", "0")))
        return RedirectResponse("/done", status_code=303)

    async def done(request: Request) -> Response:
        return secured(HTMLResponse("<!doctype html><title>Done</title><p>Thank you</p>"))

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/", page),
            Route("/favicon.ico", favicon),
            Route("/frame", frame),
            Route("/test.css", test_css),
            Route("/submit", submit, methods=["POST"]),
            Route("/done", done),
            Mount("/static", StaticFiles(directory=WEB / "static"), name="static"),
        ]
    )


@pytest.fixture(scope="module")
def pad_server() -> Iterator[PadSite]:
    site = PadSite(base_url="")
    with serve_app(_pad_app(site)) as port:
        site.base_url = f"http://127.0.0.1:{port}"
        yield site


@pytest.fixture
def site(pad_server: PadSite) -> PadSite:
    pad_server.posts.clear()
    return pad_server


class PadPage:
    """A page showing the pad; remembers console errors and every request it makes."""

    def __init__(self, page: Page, site: PadSite) -> None:
        self.page = page
        self.site = site
        self.requests: list[str] = []
        self.problems: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console_error)

    def _console_error(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def open(self, query: str = "") -> PadPage:
        self.page.goto(f"{self.site.base_url}/{query}")
        self.canvas.wait_for()
        return self

    @property
    def canvas(self) -> Locator:
        return self.page.get_by_test_id("signature-pad")

    def draw(self, strokes: list[Stroke], pointer: str = "pen") -> None:
        replay_signature(self.page, self.canvas, strokes, pointer=pointer)

    def submit(self) -> dict[str, Any]:
        with self.page.expect_navigation(url="**/done"):
            self.page.get_by_test_id("submit-signature").click()
        assert len(self.site.posts) == 1
        return self.site.posts[0]

    def stroke_count(self) -> int:
        return int(self.canvas.get_attribute("data-strokes") or "0")

    def inked_pixels(self) -> int:
        inked: int = self.canvas.evaluate(
            """c => {
                const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
                return n;
            }"""
        )
        return inked

    def css_size(self) -> tuple[float, float]:
        box = self.canvas.bounding_box()
        assert box is not None, "the pad is not rendered"
        return box["width"], box["height"]

    def assert_clean(self) -> None:
        assert self.problems == []
        foreign = [url for url in self.requests if not url.startswith(self.site.base_url + "/")]
        assert foreign == []


@pytest.fixture
def pad(page: Page, site: PadSite) -> PadPage:
    return PadPage(page, site)


def _zigzag(count: int = 3, points: int = 12, start_ms: float = 0.0) -> list[Stroke]:
    """Small synthetic strokes, 10 ms apart, for tests that do not need a real signature."""
    strokes = []
    t = start_ms
    for s in range(count):
        stroke = []
        for i in range(points):
            stroke.append((40.0 + 60 * s + 4 * i, 60.0 + (15 if i % 2 else -15), t, 0.5))
            t += 10
        strokes.append(stroke)
        t += 150
    return strokes


def _nearest_in_time(points: list[Point], point: Point) -> Point:
    return min(points, key=lambda p: abs(p[2] - point[2]))


def _assert_matches_recording(capture: dict[str, Any], expected: list[Stroke]) -> None:
    posted = capture["strokes"]
    assert len(posted) == len(expected)
    assert posted[0][0][2] == 0
    for got, want in zip(posted, expected, strict=True):
        assert abs(len(got) - len(want)) <= 1, (len(got), len(want))
        if len(got) == len(want):
            pairs = list(zip(got, want, strict=True))
        else:  # a sample lost or doubled by coalescing: compare each with the nearest in time
            pairs = [(g, _nearest_in_time(want, g)) for g in got]
        for (x, y, t, p), (wx, wy, wt, wp) in pairs:
            assert abs(t - wt) <= 1.0, (t, wt)
            assert abs(p - wp) <= 0.002, (p, wp)
            assert abs(x - wx) <= 0.51 and abs(y - wy) <= 0.51, ((x, y), (wx, wy))
    times = [pt[2] for stroke in posted for pt in stroke]
    assert times == sorted(times)


def _assert_inside(capture: dict[str, Any]) -> None:
    for stroke in capture["strokes"]:
        for x, y, _t, _p in stroke:
            assert 0 <= x <= capture["width"] and 0 <= y <= capture["height"]


@pytest.mark.data
@pytest.mark.parametrize(
    "user,sample",
    [(1, 1), (13, 27), (25, 14)],
    ids=["plain", "time-steps-back", "side-button-status"],
)
def test_pen_replay_posts_every_sample_with_its_timing_and_pressure(
    pad: PadPage, user: int, sample: int
) -> None:
    path = svc2004_path(user, sample)  # skips before opening the page when the data is absent
    pad.open()
    width, height = pad.css_size()
    expected = load_svc2004_strokes(path, box=(width, height))

    pad.draw(expected, pointer="pen")
    assert pad.stroke_count() == len(expected)
    posted = pad.submit()

    assert posted["nonce"] == "nonce-123"
    capture = json.loads(posted["capture"])
    assert capture["pointer_type"] == "pen"
    assert capture["width"] == pytest.approx(width, abs=0.01)
    assert capture["height"] == pytest.approx(height, abs=0.01)
    assert capture["dpr"] == 1
    _assert_matches_recording(capture, expected)
    _assert_inside(capture)
    pad.assert_clean()


@pytest.mark.data
def test_mouse_replay_posts_half_pressure(pad: PadPage) -> None:
    path = svc2004_path(2, 3)
    pad.open()
    expected = load_svc2004_strokes(path, box=pad.css_size())

    pad.draw(expected, pointer="mouse")
    capture = json.loads(pad.submit()["capture"])

    assert capture["pointer_type"] == "mouse"
    mouse_expected = [[(x, y, t, 0.5) for x, y, t, _ in stroke] for stroke in expected]
    _assert_matches_recording(capture, mouse_expected)
    pad.assert_clean()


@pytest.mark.data
def test_touch_replay_on_a_phone(new_context: Callable[..., BrowserContext], site: PadSite) -> None:
    path = svc2004_path(3, 4)
    context = new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    pad = PadPage(context.new_page(), site).open()
    width, height = pad.css_size()
    assert width <= 390 and width == pytest.approx(3 * height, abs=1)
    expected = load_svc2004_strokes(path, box=(width, height))

    pad.draw(expected, pointer="touch")
    capture = json.loads(pad.submit()["capture"])

    assert capture["pointer_type"] == "touch"
    assert capture["dpr"] == 3
    # Chromium drops a touch move that does not move: compare with those samples left out.
    moving = [
        [pt for i, pt in enumerate(stroke) if i == 0 or pt[:2] != stroke[i - 1][:2]]
        for stroke in expected
    ]
    assert [len(s) for s in capture["strokes"]] == [len(s) for s in moving]
    t_ms = [pt[2] for stroke in moving for pt in stroke]
    posted_t_ms = [pt[2] for stroke in capture["strokes"] for pt in stroke]
    assert posted_t_ms == pytest.approx([t - t_ms[0] for t in t_ms], abs=1)
    _assert_inside(capture)
    pad.assert_clean()


def test_touch_drawing_does_not_scroll_the_page(
    new_context: Callable[..., BrowserContext], site: PadSite
) -> None:
    context = new_context(viewport={"width": 390, "height": 700}, is_mobile=True, has_touch=True)
    pad = PadPage(context.new_page(), site).open("?tall=1")
    assert pad.page.evaluate("document.documentElement.scrollHeight") > 2000
    # Long upward and downward drags across the whole pad, fast like a flick.
    width, height = pad.css_size()
    flicks = [
        [(width / 2, height - 5 - i * (height - 10) / 10, i * 8.0, 0.5) for i in range(11)],
        [(width / 3, 5 + i * (height - 10) / 10, 200 + i * 8.0, 0.5) for i in range(11)],
    ]
    start = pad.page.evaluate("window.scrollY")

    pad.draw(flicks, pointer="touch")
    pad.page.wait_for_timeout(300)  # give any fling a chance to move the page

    assert pad.stroke_count() == 2
    assert pad.page.evaluate("window.scrollY") == start == 0


def test_undo_removes_the_last_stroke_and_clear_empties_the_pad(pad: PadPage) -> None:
    pad.open()
    pad.draw(_zigzag(3), pointer="pen")
    assert pad.stroke_count() == 3
    inked_three = pad.inked_pixels()
    assert inked_three > 0

    pad.page.get_by_test_id("undo").click()
    assert pad.stroke_count() == 2
    assert 0 < pad.inked_pixels() < inked_three
    pad.page.get_by_test_id("clear").click()
    assert pad.stroke_count() == 0
    assert pad.inked_pixels() == 0
    assert pad.page.locator("input[name=capture]").input_value() == ""

    # Undo twice after two new strokes: the capture keeps only the first, timed from zero.
    pad.draw(_zigzag(2, points=5), pointer="mouse")
    pad.page.get_by_test_id("undo").click()
    capture = json.loads(pad.submit()["capture"])
    assert [len(s) for s in capture["strokes"]] == [5]
    assert capture["strokes"][0][0][2] == 0
    pad.assert_clean()


def test_submitting_an_empty_pad_does_not_post_and_says_why(pad: PadPage) -> None:
    pad.open()
    status = pad.page.get_by_test_id("status")
    assert status.text_content() == "Signature 1 of 3"

    pad.page.get_by_test_id("submit-signature").click()
    pad.page.wait_for_timeout(200)

    assert pad.site.posts == []
    assert pad.page.url.endswith("/")
    assert "sign in the box" in (status.text_content() or "")
    # Drawing brings the server's sentence back.
    pad.draw(_zigzag(1), pointer="pen")
    assert status.text_content() == "Signature 1 of 3"
    pad.assert_clean()


def test_a_second_click_does_not_post_twice(pad: PadPage) -> None:
    pad.open("?delay=0.5")  # the server takes half a second to answer
    pad.draw(_zigzag(1), pointer="pen")
    with pad.page.expect_navigation(url="**/done"):
        disabled = pad.page.evaluate(
            """() => new Promise(resolve => {
                const button = document.querySelector("[data-testid=submit-signature]");
                button.click();
                setTimeout(() => {
                    const disabled = button.disabled;
                    button.form.requestSubmit();  // what a second click would do
                    resolve(disabled);
                }, 50);
            })"""
        )
    assert disabled is True
    assert len(pad.site.posts) == 1


def test_keyboard_reaches_the_canvas_and_buttons(pad: PadPage) -> None:
    pad.open()
    canvas = pad.page.get_by_role(
        "img", name="Signature pad: draw your signature with a mouse, finger or pen"
    )
    assert canvas.get_attribute("data-testid") == "signature-pad"
    description = canvas.evaluate(
        """c => c.getAttribute("aria-describedby").split(" ")
            .map(id => document.getElementById(id).textContent).join(" ")"""
    )
    assert "Undo" in description and "empty" in description

    pad.page.get_by_label("E-mail").focus()
    reached = []
    for _ in range(4):
        pad.page.keyboard.press("Tab")
        reached.append(pad.page.evaluate("document.activeElement.dataset.testid"))
    assert reached == ["signature-pad", "undo", "clear", "submit-signature"]
    for name in ("Undo", "Clear", "Sign"):
        assert pad.page.get_by_role("button", name=name, exact=True).is_visible()

    # Control+Z on the focused pad undoes the last stroke.
    pad.draw(_zigzag(2), pointer="pen")
    canvas.focus()
    pad.page.keyboard.press("Control+z")
    assert pad.stroke_count() == 1
    assert "1 stroke drawn" in canvas.evaluate(
        "c => document.getElementById(c.dataset.stateId).textContent"
    )
    pad.assert_clean()


def test_high_dpi_screen_still_posts_css_pixels(
    new_context: Callable[..., BrowserContext], site: PadSite
) -> None:
    context = new_context(viewport={"width": 1000, "height": 700}, device_scale_factor=2)
    pad = PadPage(context.new_page(), site).open()
    width, height = pad.css_size()
    backing = pad.canvas.evaluate("c => [c.width, c.height]")
    assert backing == [round(width * 2), round(height * 2)]
    strokes = _zigzag(2)

    pad.draw(strokes, pointer="pen")
    capture = json.loads(pad.submit()["capture"])

    assert capture["dpr"] == 2
    assert capture["width"] == pytest.approx(width, abs=0.01)
    _assert_matches_recording(capture, strokes)
    pad.assert_clean()


def test_resizing_keeps_the_drawing_and_its_coordinate_space(pad: PadPage) -> None:
    pad.open()
    width, _ = pad.css_size()
    pad.draw(_zigzag(2), pointer="pen")
    inked = pad.inked_pixels()

    pad.page.set_viewport_size({"width": 420, "height": 700})
    wait_until(pad.page, f"document.querySelector('[data-testid=signature-pad]').width < {width}")
    assert pad.inked_pixels() > inked / 4  # redrawn, smaller
    capture = json.loads(pad.submit()["capture"])
    assert capture["width"] == pytest.approx(width, abs=0.01)
    _assert_matches_recording(capture, _zigzag(2))


def test_the_pad_works_inside_an_iframe(pad: PadPage) -> None:
    pad.page.goto(f"{pad.site.base_url}/frame")
    frame = pad.page.frame_locator("iframe.overlay")
    canvas = frame.get_by_test_id("signature-pad")
    canvas.wait_for()
    strokes = _zigzag(2)

    replay_signature(pad.page, canvas, strokes, pointer="pen")
    frame.get_by_test_id("submit-signature").click()
    frame.get_by_text("Thank you").wait_for()

    capture = json.loads(pad.site.posts[0]["capture"])
    _assert_matches_recording(capture, strokes)
    pad.assert_clean()


def test_no_request_goes_to_another_origin(pad: PadPage) -> None:
    pad.open()
    pad.draw(_zigzag(1), pointer="mouse")
    pad.submit()
    assert any(url.endswith("/static/signature-pad.js") for url in pad.requests)
    pad.assert_clean()

"""Draw the sample articles' photos: simple illustrated scenes, made here with Pillow.

Each picture is saved beside the office export it belongs to, with the same name
(``articles/mestni-avtobus.txt`` + ``articles/mestni-avtobus.jpg``), which is how an import
finds an export's photo. The pictures are committed; run this again only to change them::

    python -m publisher.samples.draw_photos

Drawing is deterministic (fixed shapes, seeded randomness), so the same code makes the same
files. Each is drawn at twice its size and scaled down, which smooths the edges.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 1200, 800
SCALE = 2
"""Drawn at twice the size, then reduced: anti-aliased edges without a drawing library."""
QUALITY = 80
FOLDER = Path(__file__).resolve().parent / "articles"

Colour = tuple[int, int, int]
Box = tuple[float, float, float, float]


class Canvas:
    """A picture being drawn, in the final picture's coordinates (scaled up underneath)."""

    def __init__(self, top: Colour, bottom: Colour) -> None:
        self.image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), top)
        self.draw = ImageDraw.Draw(self.image)
        self.gradient((0, 0, WIDTH, HEIGHT), top, bottom)

    def _xy(self, box: Box) -> list[float]:
        return [value * SCALE for value in box]

    def rect(self, box: Box, fill: Colour, radius: float = 0) -> None:
        if radius:
            self.draw.rounded_rectangle(self._xy(box), radius * SCALE, fill=fill)
        else:
            self.draw.rectangle(self._xy(box), fill=fill)

    def ellipse(self, box: Box, fill: Colour) -> None:
        self.draw.ellipse(self._xy(box), fill=fill)

    def circle(self, x: float, y: float, r: float, fill: Colour) -> None:
        self.ellipse((x - r, y - r, x + r, y + r), fill)

    def polygon(self, points: list[tuple[float, float]], fill: Colour) -> None:
        self.draw.polygon([(x * SCALE, y * SCALE) for x, y in points], fill=fill)

    def line(self, points: list[tuple[float, float]], fill: Colour, width: float) -> None:
        scaled = [(x * SCALE, y * SCALE) for x, y in points]
        self.draw.line(scaled, fill=fill, width=max(1, round(width * SCALE)), joint="curve")

    def gradient(self, box: Box, top: Colour, bottom: Colour) -> None:
        x0, y0, x1, y1 = self._xy(box)
        steps = max(1, int(y1 - y0))
        for i in range(steps):
            t = i / steps
            colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
            self.draw.line([(x0, y0 + i), (x1, y0 + i)], fill=colour)

    def glow(self, box: Box, colour: Colour, blur: float, strength: float = 0.55) -> None:
        """A soft light (a spotlight's pool, a lamp) blended over what is drawn."""
        mask = Image.new("L", self.image.size, 0)
        ImageDraw.Draw(mask).ellipse(self._xy(box), fill=round(255 * strength))
        mask = mask.filter(ImageFilter.GaussianBlur(blur * SCALE))
        self.image.paste(Image.new("RGB", self.image.size, colour), (0, 0), mask)

    def save(self, path: Path) -> None:
        small = self.image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
        small.save(path, "JPEG", quality=QUALITY, optimize=True, progressive=True)


def shade(colour: Colour, factor: float) -> Colour:
    """Darker (factor < 1) or lighter (> 1) of the same hue."""
    return tuple(max(0, min(255, round(c * factor))) for c in colour)  # type: ignore[return-value]


def person(
    canvas: Canvas,
    x: float,
    feet: float,
    height: float,
    body: Colour,
    legs: Colour = (52, 58, 74),
    skin: Colour = (233, 190, 160),
    hair: Colour = (70, 50, 40),
    arms_up: bool = False,
) -> None:
    """A standing figure, ``height`` tall, feet at ``feet``."""
    u = height / 10
    canvas.rect((x - 1.1 * u, feet - 4.4 * u, x - 0.15 * u, feet), legs, radius=0.4 * u)
    canvas.rect((x + 0.15 * u, feet - 4.4 * u, x + 1.1 * u, feet), legs, radius=0.4 * u)
    canvas.rect((x - 1.6 * u, feet - 8.1 * u, x + 1.6 * u, feet - 4.0 * u), body, radius=0.9 * u)
    if arms_up:
        canvas.line([(x - 1.4 * u, feet - 7.4 * u), (x - 2.6 * u, feet - 9.6 * u)], body, 0.8 * u)
        canvas.line([(x + 1.4 * u, feet - 7.4 * u), (x + 2.6 * u, feet - 9.6 * u)], body, 0.8 * u)
    else:
        canvas.line([(x - 1.5 * u, feet - 7.6 * u), (x - 2.0 * u, feet - 4.6 * u)], body, 0.8 * u)
        canvas.line([(x + 1.5 * u, feet - 7.6 * u), (x + 2.0 * u, feet - 4.6 * u)], body, 0.8 * u)
    canvas.circle(x, feet - 9.0 * u, 1.05 * u, skin)
    canvas.ellipse((x - 1.1 * u, feet - 10.2 * u, x + 1.1 * u, feet - 9.0 * u), hair)


def tree(canvas: Canvas, x: float, ground: float, size: float, leaves: Colour) -> None:
    """A rounded deciduous tree (a linden, a willow by the river)."""
    canvas.rect((x - 0.07 * size, ground - 0.55 * size, x + 0.07 * size, ground), (96, 70, 50))
    for dx, dy, r in ((-0.2, -0.75, 0.32), (0.2, -0.78, 0.3), (0, -1.0, 0.36), (0, -0.7, 0.3)):
        canvas.circle(x + dx * size, ground + dy * size, r * size, leaves)
    canvas.circle(x - 0.1 * size, ground - 1.05 * size, 0.16 * size, shade(leaves, 1.18))


def cloud(canvas: Canvas, x: float, y: float, size: float) -> None:
    white = (250, 251, 253)
    for dx, dy, r in ((0, 0, 1), (1.1, 0.2, 0.8), (-1.0, 0.25, 0.75), (0.5, -0.45, 0.7)):
        canvas.circle(x + dx * size, y + dy * size, r * size, white)
    canvas.rect((x - 1.6 * size, y + 0.2 * size, x + 1.8 * size, y + 0.9 * size), white)


def facade(
    canvas: Canvas, box: Box, wall: Colour, roof: Colour, floors: int, arcade: bool = False
) -> None:
    """An old town house with windows in rows and, on the main square, an arcade below."""
    x0, y0, x1, y1 = box
    canvas.polygon([(x0 - 8, y0), ((x0 + x1) / 2, y0 - 0.22 * (x1 - x0)), (x1 + 8, y0)], roof)
    canvas.rect(box, wall)
    window = shade(wall, 0.62)
    columns = max(2, round((x1 - x0) / 70))
    step = (x1 - x0) / columns
    ground = y1 - (y1 - y0) / (floors + 1) if arcade else y1
    floor_height = (ground - y0) / floors
    for floor in range(floors):
        for col in range(columns):
            wx = x0 + col * step + step * 0.3
            wy = y0 + floor * floor_height + floor_height * 0.25
            canvas.rect((wx, wy, wx + step * 0.4, wy + floor_height * 0.5), window, radius=3)
    if arcade:
        for col in range(columns):
            ax = x0 + col * step + step * 0.14
            canvas.rect((ax, ground + 14, ax + step * 0.72, y1), shade(wall, 0.45), radius=18)


def draw_bus() -> Canvas:
    """Novi električni avtobus na postajališču pri Glavnem trgu."""
    canvas = Canvas((128, 186, 230), (214, 232, 246))
    cloud(canvas, 210, 110, 42)
    cloud(canvas, 860, 80, 34)
    houses = [
        ((0, 250, 190, 560), (236, 204, 150), (150, 66, 48)),
        ((190, 220, 400, 560), (214, 226, 206), (126, 58, 44)),
        ((400, 260, 600, 560), (241, 226, 190), (160, 76, 54)),
        ((600, 230, 820, 560), (205, 214, 228), (134, 60, 46)),
        ((820, 250, 1010, 560), (240, 196, 170), (150, 66, 48)),
        ((1010, 215, 1200, 560), (226, 218, 196), (126, 58, 44)),
    ]
    for box, wall, roof in houses:
        facade(canvas, box, wall, roof, floors=3, arcade=True)
    canvas.rect((0, 560, WIDTH, 600), (196, 196, 190))  # pavement
    canvas.rect((0, 600, WIDTH, HEIGHT), (88, 92, 100))  # road
    for x in range(-40, WIDTH, 160):
        canvas.rect((x, 712, x + 90, 722), (236, 236, 230))
    # The stop: a shelter and its sign.
    canvas.rect((960, 440, 972, 600), (60, 66, 76))
    canvas.rect((972, 440, 1130, 452), (60, 66, 76))
    canvas.rect((976, 452, 1126, 560), (190, 220, 236))
    canvas.rect((1140, 420, 1148, 600), (60, 66, 76))
    canvas.rect((1118, 392, 1170, 444), (250, 206, 48), radius=8)
    canvas.rect((1132, 404, 1156, 432), (36, 92, 150), radius=3)
    person(canvas, 1050, 598, 120, (196, 60, 60))
    # The bus: white and green, electric.
    body = (246, 248, 246)
    green = (42, 150, 96)
    canvas.rect((90, 430, 860, 680), body, radius=34)
    canvas.rect((90, 610, 860, 680), green, radius=30)
    canvas.rect((90, 600, 860, 632), green)
    glass = (46, 72, 96)
    canvas.rect((120, 462, 840, 570), glass, radius=16)
    for x in range(250, 840, 130):
        canvas.rect((x, 462, x + 10, 570), body)
    canvas.rect((370, 470, 440, 664), (70, 96, 118), radius=6)  # doors
    canvas.rect((406, 470, 410, 664), body)
    canvas.rect((640, 470, 710, 664), (70, 96, 118), radius=6)
    canvas.rect((676, 470, 680, 664), body)
    canvas.rect((120, 440, 300, 458), (30, 36, 40), radius=4)  # route display
    canvas.rect((128, 443, 150, 455), (255, 176, 40))
    canvas.rect((300, 414, 560, 434), (210, 214, 218), radius=8)  # batteries on the roof
    # A leaf on the side: the bus is electric.
    canvas.polygon([(760, 584), (800, 548), (820, 592)], (250, 250, 250))
    canvas.line([(764, 588), (812, 560)], green, 3)
    for x in (230, 730):
        canvas.circle(x, 684, 46, (32, 34, 38))
        canvas.circle(x, 684, 20, (150, 154, 160))
    canvas.rect((846, 590, 862, 620), (255, 214, 120), radius=4)  # lights
    canvas.rect((88, 590, 100, 620), (214, 60, 50), radius=4)
    return canvas


def draw_linden_street() -> Canvas:
    """Sajenje lip ob Kandijski cesti: a new avenue, in perspective, and people planting."""
    canvas = Canvas((150, 200, 236), (226, 238, 246))
    cloud(canvas, 300, 120, 38)
    cloud(canvas, 940, 150, 30)
    horizon, vx = 380, 600
    canvas.rect((0, horizon, WIDTH, HEIGHT), (142, 186, 104))  # grass
    canvas.gradient((0, horizon - 60, WIDTH, horizon), (186, 206, 180), (160, 196, 130))
    canvas.polygon(
        [(vx - 8, horizon), (vx + 8, horizon), (900, HEIGHT), (300, HEIGHT)], (96, 100, 108)
    )
    canvas.polygon(
        [(vx - 8, horizon), (vx - 14, horizon), (150, HEIGHT), (300, HEIGHT)], (198, 192, 180)
    )
    canvas.polygon(
        [(vx + 8, horizon), (vx + 14, horizon), (1050, HEIGHT), (900, HEIGHT)], (198, 192, 180)
    )
    for i in range(9):  # the centre line
        t = (i + 1) / 9
        y = horizon + (HEIGHT - horizon) * t**2
        canvas.rect((vx - 2 - 4 * t, y - 14 * t, vx + 2 + 4 * t, y), (236, 236, 226))
    # Lindens in two rows, nearer ones larger; the nearest are young, just planted.
    for i in range(8, 0, -1):
        t = i / 8
        depth = t**2
        ground = horizon + (HEIGHT - horizon) * depth * 0.92
        size = 30 + 250 * depth
        spread = 20 + 470 * depth
        leaves = shade((74, 140, 64), 0.85 + 0.25 * (1 - t))
        if i <= 6:
            tree(canvas, vx - spread, ground, size, leaves)
            tree(canvas, vx + spread, ground, size, leaves)
    # In front: a young linden with its stakes, a mound of earth, two people planting.
    canvas.ellipse((120, 700, 360, 760), (120, 86, 60))
    canvas.rect((236, 560, 244, 730), (110, 80, 56))
    canvas.line([(200, 600), (214, 730)], (176, 140, 96), 5)
    canvas.line([(280, 600), (266, 730)], (176, 140, 96), 5)
    for dx, dy, r in ((0, 540, 46), (-30, 566, 34), (30, 566, 34)):
        canvas.circle(240 + dx, dy, r, (102, 170, 80))
    person(canvas, 400, 760, 170, (240, 140, 40), legs=(44, 64, 96))
    canvas.line([(430, 640), (470, 770)], (120, 96, 70), 6)  # spade
    canvas.rect((456, 760, 486, 790), (150, 156, 164), radius=4)
    person(canvas, 90, 770, 160, (60, 120, 180), hair=(200, 170, 110))
    return canvas


def draw_concert() -> Canvas:
    """Komorni zbor med nastopom v Narodnem domu: a choir on a lit stage, seen from the hall."""
    canvas = Canvas((34, 20, 28), (58, 30, 36))
    canvas.rect((0, 0, WIDTH, 120), (120, 26, 38))  # valance
    for x in range(0, WIDTH, 60):
        canvas.rect((x, 0, x + 30, 130), (140, 34, 48))
    canvas.rect((0, 0, 110, 640), (128, 28, 42))  # side curtains
    canvas.rect((1090, 0, WIDTH, 640), (128, 28, 42))
    for x in (20, 60, 1110, 1150):
        canvas.rect((x, 0, x + 14, 640), (104, 20, 34))
    canvas.rect((110, 120, 1090, 560), (60, 44, 52))  # back wall
    for x in range(140, 1090, 80):
        canvas.rect((x, 150, x + 56, 540), (70, 52, 60))
    canvas.polygon([(60, 640), (1140, 640), (1090, 560), (110, 560)], (142, 96, 60))  # stage
    canvas.rect((60, 640, 1140, 660), (96, 64, 40))
    for cx in (330, 600, 870):
        canvas.glow((cx - 260, 300, cx + 260, 660), (255, 232, 170), blur=60, strength=0.35)
    rng = random.Random(7)
    # Three rows of singers: black and white, a few in the festival's dark red.
    for row, (feet, height, count) in enumerate(((470, 118, 11), (520, 126, 10), (570, 134, 9))):
        for i in range(count):
            x = 190 + (820 / (count - 1)) * i + (20 if row == 1 else 0)
            body = (32, 32, 40) if rng.random() < 0.75 else (110, 24, 40)
            hair = rng.choice([(50, 36, 30), (120, 80, 40), (200, 170, 110), (30, 26, 24)])
            person(canvas, x, feet, height, body, legs=(24, 24, 30), hair=hair)
            canvas.rect(
                (x - 10, feet - height * 0.72, x + 10, feet - height * 0.6), (240, 240, 236)
            )
    person(
        canvas, 600, 660, 150, (22, 22, 28), legs=(20, 20, 24), hair=(180, 180, 180), arms_up=True
    )
    # The audience: heads against the light.
    for row, y in enumerate((730, 780, 830)):
        for i in range(16):
            x = 30 + i * 78 + (36 if row % 2 else 0)
            canvas.circle(x, y, 30, (18, 12, 16))
            canvas.rect((x - 40, y + 18, x + 40, y + 80), (18, 12, 16), radius=20)
    return canvas


def draw_square_works() -> Canvas:
    """Delavci polagajo nove granitne plošče pred rotovžem: the town hall and its square."""
    canvas = Canvas((120, 176, 226), (206, 226, 242))
    cloud(canvas, 160, 90, 36)
    cloud(canvas, 1020, 120, 40)
    facade(canvas, (0, 240, 300, 470), (236, 210, 164), (150, 66, 48), floors=3, arcade=True)
    facade(canvas, (900, 250, 1200, 470), (214, 224, 210), (126, 58, 44), floors=3, arcade=True)
    # The town hall: a tall front with a clock tower.
    wall = (238, 228, 206)
    canvas.rect((560, 60, 640, 200), wall)
    canvas.polygon([(550, 60), (600, 0), (650, 60)], (80, 110, 96))
    canvas.circle(600, 110, 28, (250, 250, 246))
    canvas.circle(600, 110, 24, (44, 52, 60))
    canvas.circle(600, 110, 21, (250, 250, 246))
    canvas.line([(600, 110), (600, 94)], (30, 30, 30), 3)
    canvas.line([(600, 110), (612, 116)], (30, 30, 30), 3)
    canvas.rect((300, 170, 900, 470), wall)
    canvas.polygon([(300, 170), (600, 120), (900, 170)], (150, 66, 48))
    for floor in range(2):
        for col in range(8):
            x = 330 + col * 72
            y = 210 + floor * 90
            canvas.rect((x, y, x + 34, y + 58), (120, 110, 100), radius=14)
    for col in range(5):
        x = 340 + col * 112
        canvas.rect((x, 390, x + 70, 470), (130, 108, 90), radius=30)
    canvas.rect((560, 380, 640, 470), (96, 70, 50), radius=36)
    # The square: new granite slabs in perspective in front, old paving behind.
    horizon = 470
    canvas.rect((0, horizon, WIDTH, HEIGHT), (170, 160, 150))
    new, joint = (206, 204, 200), (150, 148, 146)
    canvas.polygon([(0, 560), (WIDTH, 560), (WIDTH, HEIGHT), (0, HEIGHT)], new)
    for i in range(7):
        y = 560 + (HEIGHT - 560) * (i / 6) ** 1.4
        canvas.line([(0, y), (WIDTH, y)], joint, 2)
    for i in range(-6, 19):
        x_top = 600 + (i - 6) * 70
        x_bottom = 600 + (i - 6) * 150
        canvas.line([(x_top, 560), (x_bottom, HEIGHT)], joint, 2)
    canvas.rect((0, 552, WIDTH, 562), (236, 120, 40))  # the edge of the works
    for x in range(0, WIDTH, 80):
        canvas.rect((x, 552, x + 40, 562), (250, 250, 250))
    # A pallet of slabs and a small loader.
    canvas.rect((80, 600, 260, 640), (140, 104, 70))
    for k in range(4):
        canvas.rect((86, 560 - k * 22, 254, 580 - k * 22 + 20), shade(new, 0.96 - 0.03 * k))
    canvas.rect((930, 560, 1120, 660), (244, 180, 40), radius=14)
    canvas.rect((960, 500, 1060, 566), (60, 70, 80), radius=8)
    canvas.circle(960, 672, 34, (32, 34, 38))
    canvas.circle(1090, 672, 34, (32, 34, 38))
    # Workers in orange vests and helmets, one kneeling with a slab.
    vest, helmet = (248, 128, 30), (250, 212, 40)
    for x, feet, height in ((420, 700, 190), (700, 730, 200)):
        person(canvas, x, feet, height, vest, legs=(48, 62, 92))
        canvas.ellipse((x - 24, feet - height * 1.03, x + 24, feet - height * 0.9), helmet)
    canvas.rect((516, 676, 644, 724), joint, radius=3)
    canvas.rect((520, 680, 640, 720), (184, 186, 192))
    canvas.rect((540, 640, 600, 690), vest, radius=10)
    canvas.circle(570, 622, 18, (233, 190, 160))
    canvas.ellipse((548, 600, 592, 620), helmet)
    return canvas


def draw_river_cleanup() -> Canvas:
    """Prostovoljci pri čiščenju brežin Krke: the green river, willows, bags of rubbish."""
    canvas = Canvas((156, 204, 236), (230, 240, 246))
    cloud(canvas, 280, 100, 34)
    cloud(canvas, 900, 140, 44)
    canvas.polygon(
        [(0, 330), (300, 290), (700, 320), (1200, 280), (1200, 420), (0, 420)], (98, 140, 92)
    )
    for x, size in ((80, 150), (250, 120), (460, 170), (760, 140), (1000, 160), (1150, 120)):
        tree(canvas, x, 400, size, (70, 128, 72))
    # The Krka: green water between the banks, a few glints.
    canvas.polygon([(0, 420), (WIDTH, 400), (WIDTH, 600), (0, 640)], (60, 138, 120))
    canvas.gradient((0, 470, WIDTH, 600), (70, 150, 130), (46, 118, 104))
    canvas.polygon([(0, 420), (WIDTH, 400), (WIDTH, 470), (0, 470)], (74, 152, 132))
    rng = random.Random(3)
    for _ in range(40):
        x, y = rng.uniform(0, WIDTH), rng.uniform(440, 590)
        canvas.line([(x, y), (x + rng.uniform(20, 60), y)], (150, 206, 190), 2)
    # The near bank, the path, the volunteers.
    canvas.polygon([(0, 600), (WIDTH, 570), (WIDTH, HEIGHT), (0, HEIGHT)], (126, 176, 90))
    canvas.polygon([(0, 700), (WIDTH, 660), (WIDTH, 730), (0, 780)], (196, 180, 150))
    yellow = (250, 214, 40)
    for x, feet, height, body in (
        (260, 700, 180, yellow),
        (560, 690, 170, yellow),
        (820, 676, 190, (60, 140, 200)),
    ):
        person(canvas, x, feet, height, body, legs=(50, 60, 80))
        canvas.rect(
            (x - height * 0.28, feet - height * 0.48, x - height * 0.12, feet - height * 0.3),
            (240, 240, 240),
            radius=4,
        )
    for x, y in ((380, 700), (420, 706), (940, 670), (660, 690)):  # full bags
        canvas.ellipse((x - 34, y - 64, x + 34, y + 6), (40, 44, 52))
        canvas.polygon([(x - 10, y - 62), (x, y - 84), (x + 10, y - 62)], (40, 44, 52))
    for x, y in ((120, 640), (1080, 620)):  # still to pick up
        canvas.rect((x, y, x + 30, y + 12), (214, 60, 50), radius=3)
        canvas.rect((x + 50, y + 6, x + 64, y + 30), (230, 230, 230), radius=3)
    return canvas


PHOTOS: dict[str, Callable[[], Canvas]] = {
    "mestni-avtobus": draw_bus,
    "drevored-kandijska": draw_linden_street,
    "koncert-narodni-dom": draw_concert,
    "obnova-glavnega-trga": draw_square_works,
    "cistilna-akcija": draw_river_cleanup,
}
"""Export name → the drawing of its photo (each export's first line is the photo's caption)."""


def main() -> None:
    for name, draw in PHOTOS.items():
        path = FOLDER / f"{name}.jpg"
        draw().save(path)
        print(f"{path.name}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()

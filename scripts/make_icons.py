"""Draw the app's icons (run by hand; the PNGs are committed): a clipboard with a tick on the theme colour."""

from pathlib import Path

from PIL import Image, ImageDraw

THEME = (15, 118, 110)
OUT = Path(__file__).resolve().parents[1] / "pwa_static" / "icons"


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # draw large, then downsample for smooth edges
    s = size * scale
    image = Image.new("RGBA", (s, s), THEME if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    if not maskable:
        d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=THEME)
    # maskable icons keep their content inside the central 80 % safe zone
    inset = s * (0.22 if maskable else 0.16)
    board = (inset, inset * 1.1, s - inset, s - inset * 0.8)
    d.rounded_rectangle(board, radius=s // 18, fill=(255, 255, 255))
    clip_w = (board[2] - board[0]) * 0.42
    cx = s / 2
    d.rounded_rectangle(
        (cx - clip_w / 2, board[1] - s * 0.04, cx + clip_w / 2, board[1] + s * 0.06),
        radius=s // 40,
        fill=(20, 83, 45),
    )
    w = max(1, int(s * 0.06))
    tick = [(s * 0.34, s * 0.56), (s * 0.45, s * 0.67), (s * 0.67, s * 0.43)]
    d.line(tick, fill=THEME, width=w, joint="curve")
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, maskable=False).save(OUT / "icon-192.png", optimize=True)
    draw(512, maskable=False).save(OUT / "icon-512.png", optimize=True)
    draw(512, maskable=True).save(OUT / "maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()

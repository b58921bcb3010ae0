"""Make docs/guidance.jpg: what guidance does to the samples.

    python scripts/guidance_sheet.py                     # the shipped default model
    python scripts/guidance_sheet.py --model runs/x/model.keras --output sheet.jpg

One row per sample of samples/ (coffee, chelsea, astronaut): the grey input, the
automatic result, the result with a palette, the result with another sample's colour
original as the reference (its thumbnail in the corner), the uncertainty map with the
five suggested spots (numbered, largest first), and two variants.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ROWS = (  # sample, palette, the sample whose colour original is the reference
    ("coffee", "#2f4f7a,#d8c8a0,#7a2f1c", "rocket"),
    ("chelsea", "#c08040,#f0e0c0,#406080", "coffee"),
    ("astronaut", "#d04020,#e0e0e0,#2050a0", "rocket"),
)
HEADINGS = ("grey", "automatic", "palette", "reference", "uncertainty, spots")
HEADINGS += ("variant 1", "variant 2")
SIDE = 220  # height of each cell, pixels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped one)")
    parser.add_argument("--output", default=os.path.join("docs", "guidance.jpg"))
    args = parser.parse_args(argv)
    from PIL import Image, ImageDraw

    from colorization.inference import image_io, suggestions
    from colorization.inference.colorizer import Colorizer
    from scripts.gallery import original

    colorizer = Colorizer.load(args.model)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rows = []
    for name, palette, reference_name in ROWS:
        grey = image_io.read_image(os.path.join(root, "samples", f"{name}.jpg")).rgb
        reference = original(reference_name)
        colour, uncertainty = colorizer.colorize_with_uncertainty(grey)
        heat = Image.fromarray(suggestions.heat_map(uncertainty))
        draw = ImageDraw.Draw(heat)
        radius = max(4, grey.shape[1] // 60)
        for number, spot in enumerate(colorizer.suggest_hints(grey, 5), 1):
            box = (spot.x - radius, spot.y - radius, spot.x + radius, spot.y + radius)
            draw.ellipse(box, fill=spot.colours[0], outline="white", width=2)
            draw.text((spot.x + radius + 2, spot.y - radius), str(number), fill="white")
        referenced = Image.fromarray(
            colorizer.colorize_array(
                grey, guide=colorizer.make_guide(reference=reference)
            )
        )
        thumb = Image.fromarray(reference)
        thumb.thumbnail((referenced.width // 3, referenced.height // 3))
        referenced.paste(thumb, (referenced.width - thumb.width, 0))
        cells = [
            Image.fromarray(image_io.to_uint8(grey)),
            Image.fromarray(colour),
            Image.fromarray(
                colorizer.colorize_array(
                    grey, guide=colorizer.make_guide(palette=palette)
                )
            ),
            referenced,
            heat,
        ]
        cells += [Image.fromarray(rgb) for rgb, _ in colorizer.variants(grey, 2)]
        cells = [c.convert("RGB") for c in cells]
        width = round(cells[0].width * SIDE / cells[0].height)
        rows.append([c.resize((width, SIDE), Image.LANCZOS) for c in cells])
    widths = [max(row[i].width for row in rows) for i in range(len(HEADINGS))]
    sheet = Image.new("RGB", (sum(widths), 20 + SIDE * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for i, heading in enumerate(HEADINGS):
        draw.text((x + 4, 4), heading, fill="black")
        for r, row in enumerate(rows):
            sheet.paste(row[i], (x, 20 + r * SIDE))
        x += widths[i]
    sheet.save(args.output, quality=88)
    print(f"wrote {args.output} ({sheet.width} x {sheet.height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

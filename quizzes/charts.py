"""Server-rendered SVG bar charts: the numbers become rectangles here, the template only draws them."""

from datetime import date

from django.utils import formats


def bar_chart(points: list[tuple[date, int]], *, width: int = 600, height: int = 140) -> dict:
    top = max((value for _, value in points), default=0) or 1
    slot = width / max(len(points), 1)
    bars = []
    for index, (day, value) in enumerate(points):
        bar_height = round(value / top * (height - 20), 1)
        bars.append(
            {
                "x": round(index * slot + 1, 1),
                "y": round(height - bar_height, 1),
                "width": round(slot - 2, 1),
                "height": bar_height,
                "value": value,
                "label": formats.date_format(day, "SHORT_DATE_FORMAT"),
            }
        )
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "max": top,
        "first": bars[0]["label"] if bars else "",
        "last": bars[-1]["label"] if bars else "",
        "total": sum(value for _, value in points),
    }

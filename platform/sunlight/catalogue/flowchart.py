"""An item's flowchart (办理流程图) drawn from its flow, as a small inert SVG.

A flow is always a single line — accept → review … → decide → close
(:func:`sunlight.catalogue.flow.validate_flow`) — so the drawing needs no layout engine:
one column of boxes, one arrow between each, the application above and the result below.
Each box names the step, the post that acts and its limit in working days. The SVG is
built with :mod:`xml.etree.ElementTree` (every text escaped by the serializer), holds no
script, style sheet, link or external reference, and is the same bytes for the same flow.

Example::

    >>> from sunlight.catalogue.flow import FlowStep
    >>> svg = flowchart_svg([
    ...     FlowStep(kind="accept", name="受理", role="clerk", limit_days=1),
    ...     FlowStep(kind="review", name="审查", role="reviewer", limit_days=5),
    ...     FlowStep(kind="decide", name="决定", role="approver", limit_days=2),
    ...     FlowStep(kind="close", name="办结", role="clerk", limit_days=1),
    ... ], title="测试许可")
    >>> svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "审查" in svg
    True
    >>> flow_summary([FlowStep(kind="accept", name="受理", role="clerk", limit_days=1)])
    '受理（窗口受理，1 个工作日）'
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

from sunlight.catalogue.flow import FlowStep

SVG_NS = "http://www.w3.org/2000/svg"
#: The post that acts at a step, as citizens read it.
ROLE_ZH = {"clerk": "窗口受理", "reviewer": "审查审核", "approver": "审批决定"}

_FONT = 14  # px; a CJK character is about one em wide, a Latin one about 0.6 em
_BOX_H, _GAP, _PAD, _ENDS_H = 52, 28, 16, 34
_INK, _BOX, _LINE, _MUTED = "#1a1a1a", "#eef4fb", "#1d4f91", "#4a4a4a"


def step_caption(step: FlowStep) -> str:
    """``材料审查（审查审核，3 个工作日）``: the step as one line of text."""
    return f"{step.name}（{ROLE_ZH[step.role]}，{_days(step.limit_days)}）"


def flow_summary(steps: Sequence[FlowStep]) -> str:
    """The whole flow as one line (the image's text alternative)."""
    return " → ".join(step_caption(s) for s in steps)


def flowchart_svg(steps: Sequence[FlowStep], *, title: str) -> str:
    """The flowchart of ``steps`` as SVG text (UTF-8, no XML declaration)."""
    lines: list[tuple[str, str | None]] = [("申请人提交申请", None)]
    lines += [(s.name, f"{ROLE_ZH[s.role]} · {_days(s.limit_days)}") for s in steps]
    lines.append(("办结，告知结果", None))
    text_w = max(_width(a) if b is None else max(_width(a), _width(b) * 12 / 14)
                 for a, b in lines)
    box_w = max(200, int(text_w) + 2 * _PAD)
    width = box_w + 2 * _PAD
    heights = [_ENDS_H if b is None else _BOX_H for _, b in lines]
    height = sum(heights) + _GAP * (len(lines) - 1) + 2 * _PAD

    svg = ElementTree.Element("svg", {
        "xmlns": SVG_NS, "width": str(width), "height": str(height),
        "viewBox": f"0 0 {width} {height}", "role": "img",
        "font-family": "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif",
    })
    ElementTree.SubElement(svg, "title").text = f"{title}办理流程图"
    ElementTree.SubElement(svg, "desc").text = flow_summary(steps)
    defs = ElementTree.SubElement(svg, "defs")
    marker = ElementTree.SubElement(defs, "marker", {
        "id": "arrow", "viewBox": "0 0 10 10", "refX": "9", "refY": "5",
        "markerWidth": "8", "markerHeight": "8", "orient": "auto"})
    ElementTree.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "fill": _LINE})

    x, y, centre = _PAD, _PAD, width // 2
    for index, ((head, sub), h) in enumerate(zip(lines, heights, strict=True)):
        ends = sub is None
        ElementTree.SubElement(svg, "rect", {
            "x": str(x), "y": str(y), "width": str(box_w), "height": str(h),
            "rx": str(h // 2 if ends else 6), "fill": "#ffffff" if ends else _BOX,
            "stroke": _LINE, "stroke-width": "1.5"})
        if ends:
            _text(svg, centre, y + h // 2 + 5, head, _FONT, _INK)
        else:
            _text(svg, centre, y + _FONT + 8, f"{index}. {head}", _FONT, _INK, bold=True)
            _text(svg, centre, y + _BOX_H - 11, str(sub), 12, _MUTED)
        y += h
        if index < len(lines) - 1:
            ElementTree.SubElement(svg, "line", {
                "x1": str(centre), "y1": str(y), "x2": str(centre), "y2": str(y + _GAP - 2),
                "stroke": _LINE, "stroke-width": "1.5", "marker-end": "url(#arrow)"})
            y += _GAP
    return ElementTree.tostring(svg, encoding="unicode")


def _text(parent: ElementTree.Element, x: int, y: int, text: str, size: int, fill: str,
          *, bold: bool = False) -> None:
    attrs = {"x": str(x), "y": str(y), "font-size": str(size), "fill": fill,
             "text-anchor": "middle"}
    if bold:
        attrs["font-weight"] = "bold"
    ElementTree.SubElement(parent, "text", attrs).text = text


def _days(days: int) -> str:
    return "当日办结" if days == 0 else f"{days} 个工作日"


def _width(text: str) -> float:
    return sum(_FONT if ord(ch) >= 0x2E80 else _FONT * 0.6 for ch in text)
